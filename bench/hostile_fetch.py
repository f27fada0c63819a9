"""What a hostile web server costs one ingest of its URL: time, peak memory, the reason given.

    uv run python bench/hostile_fetch.py [--max-seconds 60] [--max-mb 20]

Each case ingests one URL (`ingest_paths`, as `ktp ingest` does) in its own process, so the
peak RSS is that case's alone, against the test suite's local server on 127.0.0.1, with the
Fetcher's caps as given (by default the real defaults). Cases: a body without end, headers a byte at a time (this one
takes --max-seconds, by design), a Content-Length of 10^12, a redirect to ftp://, a feed
that breaks off, a charset nobody knows. Before the caps (as measured in the hardening issue)
the first read 4.6 GB (9 GB RSS), the second held the run as long as the server liked, the
third raised MemoryError, and the last two crashed the run.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

CASES = ["/endless", "/slow-headers", "/huge", "/to-ftp", "/truncated-feed.xml",
         "/odd-charset/"]

ONE_CASE = """
import json, resource, sys, time
from corpus.store import CorpusStore
from ingest.http_fetch import MB, Fetcher
from ingest.run import ingest_paths
url, home, max_seconds, max_mb = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
fetcher = Fetcher(home + "/cache", delay=0, max_seconds=max_seconds, max_bytes=int(max_mb * MB))
start = time.monotonic()
with CorpusStore(home + "/c.sqlite3") as store:
    summary = ingest_paths([url], store, fetcher=fetcher)
print(json.dumps({"seconds": time.monotonic() - start, "loaded": summary.loaded,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "reasons": [s["reason"] for s in summary.skipped]}))
"""


def hostile_server():
    from web_server import SiteServer

    web = SiteServer({})
    post = ("<html><head><title>Odd</title></head><body><article><h1>Odd</h1>"
            "<p>A naïve café.</p></article></body></html>")
    feed = (f'<?xml version="1.0"?><rss><channel><item><link>{web.url}/odd-charset/</link>'
            "</item><item><link>" + web.url)
    web.routes.update({"/odd-charset/": ("text/html; charset=bogus-xyz", post.encode()),
                       "/truncated-feed.xml": ("application/rss+xml", feed)})
    web.redirects["/to-ftp"] = "ftp://127.0.0.1/file.txt"
    return web


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--max-mb", type=float, default=20.0)
    args = parser.parse_args()
    print(f"caps: {args.max_seconds:g} s and {args.max_mb:g} MB per fetch")
    with hostile_server() as web, tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(CASES):
            run = subprocess.run(
                [sys.executable, "-c", ONE_CASE, web.url + case, f"{tmp}/{i}",
                 str(args.max_seconds), str(args.max_mb)],
                cwd=ROOT, capture_output=True, text=True, check=True)
            result = json.loads(run.stdout)
            print(f"{case:22} {result['seconds']:6.2f} s  peak RSS {result['rss_mb']:5.0f} MB  "
                  f"loaded {result['loaded']}")
            for reason in result["reasons"]:
                print(f"{'':22} skipped: {reason}")


if __name__ == "__main__":
    main()
