"""Ingest speed, with same-process baselines.

    uv run python bench/ingest_speed.py [--tweets 50000]

1. Tweets parsed per second from a generated X archive `tweets.js` (the real format), against
   plain `json.loads` of the same bytes (the floor any parser pays).
2. The same archive parsed and stored (SQLite + FTS5), tweets per second.
3. WebVTT rolling auto-captions parsed, MB per second, against reading the text.
4. All of ../shared/realdata ingested from scratch, then again with nothing changed.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from corpus.store import CorpusStore
from ingest.run import ingest_paths
from ingest.transcripts import parse_vtt
from ingest.x_archive import read_x_archive

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def archive_text(n: int) -> str:
    entries = [{"tweet": {
        "id_str": str(10**17 + i), "id": str(10**17 + i),
        "created_at": f"Mon Mar 02 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}"
                      " +0000 2026",
        "full_text": f"Tweet number {i} about tiny models &amp; training loops https://t.co/x{i}",
        "favorite_count": str(i % 500), "retweet_count": str(i % 50), "lang": "en",
        "entities": {"urls": [{"url": f"https://t.co/x{i}",
                               "expanded_url": f"https://example.org/{i}"}], "media": []},
        **({"in_reply_to_status_id_str": str(10**17 + i - 1), "in_reply_to_screen_name":
            "karpathy"} if i % 10 == 1 else {})}} for i in range(n)]
    return "window.YTD.tweets.part0 = " + json.dumps(entries, indent=2, separators=(",", " : "))


def vtt_text(cues: int) -> str:
    blocks, line = ["WEBVTT\nKind: captions\nLanguage: en\n"], "start of the talk"
    for i in range(cues):
        stamp = f"00:{i // 60 % 60:02d}:{i % 60:02d}"
        t0, t1 = f"{stamp}.000", f"{stamp}.900"
        words = [f"word{i}x{j}" for j in range(6)]
        timed_words = "".join(f"<00:00:00.{j}00><c> {w}</c>" for j, w in enumerate(words[1:], 1))
        blocks.append(f"{t0} --> {t1} align:start position:0%\n{line}\n{words[0]}{timed_words}\n")
        line = " ".join(words)
    return "\n".join(blocks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tweets", type=int, default=50_000)
    n = parser.parse_args().tweets
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        js = tmp / "tweets.js"
        js.write_text(archive_text(n))
        body = js.read_text().split("=", 1)[1]
        _, base = timed(lambda: json.loads(body))
        items, parse = timed(lambda: list(read_x_archive(js)))
        print(f"tweets.js, {n} tweets ({js.stat().st_size / 2**20:.1f} MiB)")
        print(f"  json.loads baseline      {n / base:10,.0f} tweets/s")
        print(f"  parse (read_x_archive)   {n / parse:10,.0f} tweets/s   "
              f"{parse / base:5.1f}x baseline")
        with CorpusStore(tmp / "c.sqlite3") as store:
            summary, full = timed(lambda: ingest_paths([js], store))
        print(f"  parse + store            {n / full:10,.0f} tweets/s   ({len(items)} documents)")

        vtt = tmp / "talk.vtt"
        vtt.write_text(vtt_text(20_000))
        mb = vtt.stat().st_size / 2**20
        _, read = timed(lambda: vtt.read_text())
        _, vparse = timed(lambda: parse_vtt(vtt.read_text()))
        print(f"WebVTT rolling captions ({mb:.1f} MiB)")
        print(f"  read baseline            {mb / read:10,.1f} MB/s")
        print(f"  parse_vtt                {mb / vparse:10,.1f} MB/s")

        if REALDATA.is_dir():
            with CorpusStore(tmp / "real.sqlite3") as store:
                first, cold = timed(lambda: ingest_paths([REALDATA], store))
                again, warm = timed(lambda: ingest_paths([REALDATA], store))
            print("../shared/realdata")
            print(f"  from scratch             {cold:10.2f} s   ({first.line()})")
            print(f"  again, nothing changed   {warm:10.2f} s   ({again.line()})")


if __name__ == "__main__":
    main()
