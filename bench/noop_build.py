"""What `ktp build` costs when nothing changed, now and before the no-op became incremental, on
the real corpus and on a synthetic one of 100k passages.

    .venv/bin/python bench/noop_build.py --home /tmp/ktp-rd2              # real corpus + 100k
    .venv/bin/python bench/noop_build.py --home /tmp/ktp-rd2 --sizes      # real corpus only
    .venv/bin/python bench/noop_build.py --sizes 100000 --work /tmp/ktp-noop   # keep the 100k home

`--home` is a built data home; it is copied, never changed. "before" runs the code of the commit
before this work (`--before`, exported with `git archive` into a temporary folder) on its own
copy of the same home, "now" runs this checkout; the two alternate, so the ratio now / before
is taken under the same load. The first "now" build of a home made before is reported apart:
it writes the exact-search table (reading the vectors back from Chroma) and the graph's head.

The synthetic home (`--sizes`): N one-passage tweets in the corpus store, random unit vectors
in Chroma under the bundled embedder's name (so `ktp build` takes it as built with that; no
text is embedded), and its graph built by the "before" code, as a user's home would be.
Making it takes minutes (Chroma inserts ~500 vectors/s here); `--work` keeps it for next time.
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
MARK = "Vector index: exact search over a memory-mapped copy"  # the first commit of this work


def before_commit() -> str | None:
    found = subprocess.run(["git", "log", "--format=%H", "-1", f"--grep={MARK}"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    return f"{found}^" if found else None


def export(commit: str, into: Path) -> Path:
    """The tree of `commit` as files under `into` (its packages shadow this checkout's)."""
    data = subprocess.run(["git", "archive", commit], cwd=REPO, capture_output=True,
                          check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def ktp_build(home: Path, code: Path | None) -> float:
    """Seconds for one `ktp build` in a child process (`code`: a tree to run instead)."""
    env = dict(os.environ, KTP_HOME=str(home), ANONYMIZED_TELEMETRY="False",
               ORT_DISABLE_TELEMETRY="1")
    env.pop("KTP_CHROMA_URL", None)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    start = time.perf_counter()
    done = subprocess.run([PYTHON, "-m", "ui.cli", "build"], cwd=code or REPO, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"ktp build failed in {home}:\n{done.stdout}{done.stderr}")
    return seconds


def compare(label: str, home: Path, old_code: Path | None, runs: int, tmp: Path) -> None:
    now_home = tmp / f"{label}-now"
    shutil.copytree(home, now_home)
    first = ktp_build(now_home, None)
    old_home = tmp / f"{label}-before"
    if old_code is not None:
        shutil.copytree(home, old_home)
        ktp_build(old_home, old_code)  # warm the page cache, as the first "now" build did
    now, before = [], []
    for _ in range(runs):
        now.append(ktp_build(now_home, None))
        if old_code is not None:
            before.append(ktp_build(old_home, old_code))
    med_now = statistics.median(now)
    line = f"{label:<28} now {med_now:6.2f} s"
    if before:
        med_before = statistics.median(before)
        line += f"   before {med_before:6.2f} s   now/before {med_now / med_before:5.2f}"
    print(line + f"   (first build after the change {first:.1f} s; medians of {runs})")
    shutil.rmtree(now_home)
    shutil.rmtree(old_home, ignore_errors=True)


def synthetic_home(n: int, work: Path, old_code: Path | None) -> Path:
    """A data home of n one-passage tweets, vectors in Chroma, graph built (kept in `work`)."""
    home = work / f"synthetic-{n}"
    if (home / "graph.json").is_file():
        return home
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    print(f"making a synthetic home of {n} passages in {home} (minutes) ...", flush=True)
    script = f"""
import numpy as np, os
os.environ["ANONYMIZED_TELEMETRY"] = "False"
from pathlib import Path
from corpus.home import DataHome
from corpus.model import Document
from corpus.store import CorpusStore
from graph.pipeline import build_index

class Given:  # random unit vectors under the bundled model's name: `ktp build` accepts them
    name, dim = "all-MiniLM-L6-v2", 384
    rng = np.random.default_rng(1)
    def embed(self, texts):
        v = self.rng.normal(size=(len(texts), 384)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

home = DataHome(Path({str(home)!r}))
home.ensure()
with CorpusStore(home.corpus_db) as store:
    docs = (Document(id=f"tweet:{{i}}", kind="tweet", title="t", author="Andrej Karpathy",
                     date=f"{{2010 + i % 15}}-0{{1 + i % 9}}-1{{i % 10}}",
                     text=f"synthetic passage {{i}} on topic {{i % 97}} and {{i % 89}}",
                     meta={{"likes": i % 1000}}) for i in range({n}))
    store.add_many(docs)
    print(build_index(home, store, Given()))
"""
    code = old_code or REPO
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False", PYTHONPATH=str(code))
    subprocess.run([PYTHON, "-c", script], cwd=code, env=env, check=True)
    ktp_build(home, old_code)  # the graph, built as the code before would
    return home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="a built data home of the real corpus")
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000],
                        help="synthetic corpus sizes (none: only --home)")
    parser.add_argument("--work", type=Path, help="where synthetic homes are made and kept")
    parser.add_argument("--before", default=before_commit(),
                        help="the commit to compare with (default: the one before this work)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ktp-noop-") as tmp:
        tmp = Path(tmp)
        old_code = export(args.before, tmp / "before") if args.before else None
        if old_code is None:
            print("no commit to compare with: timing this checkout only")
        if args.home:
            compare(f"real corpus ({args.home.name})", args.home, old_code, args.runs, tmp)
        for n in args.sizes:
            home = synthetic_home(n, args.work or tmp / "work", old_code)
            compare(f"synthetic {n} passages", home, old_code, args.runs, tmp)


if __name__ == "__main__":
    main()
