"""What `ktp build` costs when nothing changed, and after adding one small document, on the real
corpus and on a synthetic one of 100k passages.

    .venv/bin/python bench/noop_build.py --home /tmp/ktp-final --sizes        # real corpus only
    .venv/bin/python bench/noop_build.py --sizes 100000 --work /tmp/ktp-noop   # keep the 100k home
    .venv/bin/python bench/noop_build.py --sizes 100000 --work /tmp/ktp-noop --before COMMIT

Each home is copied (never changed) and timed as a user runs it: `ktp build` in a child
process. First the no-op, `--runs` times (the median is reported); then one small Markdown
document is ingested with `ktp ingest` and the build that follows is timed (it embeds that
document's passage with the real encoder, finds its copies, and rebuilds the graph), and again
with a second document (the first build after a change also writes what an older home lacks);
then the no-op once more. The one-document build reports what the copy finder compared (`copies` in
`ktp build --json`): with an incremental finder that is the new passages, not the corpus.

The synthetic home (`--sizes`): N tweets of 20-50 words drawn from a small vocabulary, one in
fifty a near copy of an earlier one (so the copy finder has work of a real corpus's kind), and
random unit vectors (with span vectors for their quotable stretches) written under the default
encoder's name by the current code, so `ktp build` takes the index as built and embeds nothing;
its graph is then built by `ktp build`. Making it takes a few minutes at 100k (Chroma inserts
~500 vectors/s here); `--work` keeps it for next time (a home made by an older version of this
script, without span vectors, is made again: the current build would embed all of it; one
whose span vectors predate the quotable rules in use is restamped, see `restamp`).

`--before COMMIT` also times the no-op of that commit's code (exported with `git archive`) on
its own copy of the home, alternating with this checkout, for a ratio under the same load.
"""
from __future__ import annotations

import argparse
import io
import json
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
STARTED = time.perf_counter()
VERSION = 2  # of the synthetic home's recipe: a kept home of another version is made again

NEW_DOCUMENTS = ("""# Notes on a small experiment

I trained a tiny character level model on a few pages of my own notes and watched the loss
fall for an hour. The samples were nonsense at first and then, slowly, they started to look
like my handwriting: short lines, lists, and the same three words I always overuse.
""", """# Another small experiment

The same tiny model, trained this time on a folder of recipes, learned within minutes to write
confident and slightly wrong instructions for soup, always ending with salt to taste.
""")


def say(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:7.1f} s] {message}", flush=True)


def export(commit: str, into: Path) -> Path:
    """The tree of `commit` as files under `into` (its packages shadow this checkout's)."""
    data = subprocess.run(["git", "archive", commit], cwd=REPO, capture_output=True,
                          check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def ktp(home: Path, *args: str, code: Path | None = None) -> tuple[float, str]:
    """(seconds, stdout) of one `ktp ARGS` in a child process (`code`: a tree to run instead)."""
    env = dict(os.environ, KTP_HOME=str(home), ANONYMIZED_TELEMETRY="False",
               ORT_DISABLE_TELEMETRY="1")
    env.pop("KTP_CHROMA_URL", None)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    start = time.perf_counter()
    done = subprocess.run([PYTHON, "-m", "ui.cli", *args], cwd=code or REPO, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"ktp {' '.join(args)} failed in {home}:\n{done.stdout}{done.stderr}")
    return seconds, done.stdout


def build(home: Path, code: Path | None = None) -> tuple[float, dict]:
    seconds, out = ktp(home, "build", "--json", code=code)
    try:
        return seconds, json.loads(out)
    except ValueError:  # an older tree without --json
        return seconds, {}


def measure(label: str, home: Path, runs: int, tmp: Path, old_code: Path | None) -> None:
    say(f"{label}: copying {home} ...")
    now_home = tmp / f"{label.replace(' ', '-')}-now"
    shutil.copytree(home, now_home)
    first, data = build(now_home)  # warms the page cache; writes what a new version adds
    say(f"{label}: first build {first:.2f} s (rebuilt graph: {data.get('rebuilt')})")
    old_home = tmp / f"{label.replace(' ', '-')}-before"
    if old_code is not None:
        shutil.copytree(home, old_home)
        build(old_home, old_code)
    now, before = [], []
    for run in range(runs):
        seconds, data = build(now_home)
        now.append(seconds)
        line = f"{label}: no-op {run + 1}/{runs} {seconds:.2f} s"
        if old_code is not None:
            before.append(build(old_home, old_code)[0])
            line += f", before {before[-1]:.2f} s"
        say(line + f" (embedded {data.get('index', {}).get('embedded')}, "
                   f"graph rebuilt {data.get('rebuilt')})")
    # Twice: the first build after a change also writes what this version keeps and an older
    # home lacks (e.g. copy signatures, the table's metadata columns); the second is the
    # steady state.
    adds = []
    for n, text in enumerate(NEW_DOCUMENTS, 1):
        note = tmp / f"new-note-{n}.md"
        note.write_text(text)
        ingest_s, _ = ktp(now_home, "ingest", str(note), "--author", "Andrej Karpathy")
        added, data = build(now_home)
        adds.append(added)
        copies = data.get("index", {}).get("copy_finding", {})
        say(f"{label}: document {n} ingested ({ingest_s:.2f} s), then build {added:.2f} s "
            f"(embedded {data.get('index', {}).get('embedded')}, copy finder: {copies})")
    after, _ = build(now_home)
    say(f"{label}: no-op after the addition {after:.2f} s")
    line = f"{label:<26} no-op median {statistics.median(now):6.2f} s of {runs}"
    if before:
        line += f" (before {statistics.median(before):.2f} s, " \
                f"now/before {statistics.median(now) / statistics.median(before):.2f})"
    print(line + f"; add one document: build {adds[0]:.2f} s, another {adds[1]:.2f} s; "
                 f"no-op after {after:.2f} s", flush=True)
    shutil.rmtree(now_home)
    shutil.rmtree(old_home, ignore_errors=True)


SYNTHETIC = """
import os, sys, time
import numpy as np
os.environ["ANONYMIZED_TELEMETRY"] = "False"
from pathlib import Path
from corpus.home import DataHome
from corpus.model import Document
from corpus.store import CorpusStore
from graph.embedder import MiniLMEmbedder
from graph.pipeline import build_index

N, HOME = int(sys.argv[1]), Path(sys.argv[2])
rng = np.random.default_rng(1)
started = time.perf_counter()

def say(message):
    print(f"  [{time.perf_counter() - started:6.1f} s] {message}", flush=True)

class Given:
    # Random unit vectors under the default encoder's name, with span vectors: `ktp build`
    # takes the index as built by it and embeds nothing.
    name, dim = MiniLMEmbedder.NAMES["int8"], 384
    done = 0
    def _unit(self, n):
        v = rng.normal(size=(n, 384)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)
    def embed(self, texts):
        return self._unit(len(texts))
    def embed_spans(self, texts, spans):
        self.done += len(texts)
        if self.done % 10000 < len(texts):
            say(f"vectors for {self.done} passages")
        return self._unit(len(texts)), [list(self._unit(len(s))) for s in spans]

vocabulary = [f"w{i}" for i in range(3000)] + "the a of to and in is it that for on with".split()
weights = 1 / np.arange(1, len(vocabulary) + 1)  # Zipf-like: a few words are most of the text
weights /= weights.sum()

def text(i):
    if i % 50 == 49:  # a near copy of an earlier tweet: its words, one changed
        words = text(i // 2).split()
        words[len(words) // 2] = "changed"
        return " ".join(words)
    r = np.random.default_rng(i)
    words = r.choice(vocabulary, size=int(r.integers(20, 51)), p=weights)
    return " ".join(words) + "."

home = DataHome(HOME)
home.ensure()
with CorpusStore(home.corpus_db) as store:
    docs = (Document(id=f"tweet:{i}", kind="tweet", title="t", author="Andrej Karpathy",
                     date=f"{2010 + i % 15}-0{1 + i % 9}-1{i % 10}",
                     url=f"https://x.com/karpathy/status/{10**17 + i}", text=text(i),
                     meta={"likes": i % 1000}) for i in range(N))
    say(f"adding {N} tweets to the corpus store ...")
    print("  ", store.add_many(docs), flush=True)
    say("finding copies, writing vectors into Chroma and the exact-search table ...")
    print("  ", build_index(home, store, Given()), flush=True)
say("done")
"""


def synthetic_home(n: int, work: Path) -> Path:
    """A data home of n tweets, vectors in Chroma, graph built (kept in `work`)."""
    home = work / f"synthetic-{n}"
    recipe = home / "bench-recipe.json"
    if recipe.is_file() and json.loads(recipe.read_text()).get("version") != VERSION:
        recipe.unlink()
    if (home / "graph.json").is_file() and recipe.is_file():
        restamp(home)  # quotable rules moved on since it was made: its vectors are random
        say(f"using the synthetic home {home}")
        return home
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    say(f"making a synthetic home of {n} passages in {home} (minutes) ...")
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False", PYTHONPATH=str(REPO))
    subprocess.run([PYTHON, "-c", SYNTHETIC, str(n), str(home)], cwd=REPO, env=env, check=True)
    restamp(home)
    say("building its graph with `ktp build` ...")
    seconds, _ = ktp(home, "build")
    say(f"graph built in {seconds:.1f} s")
    recipe.write_text(json.dumps({"version": VERSION, "passages": n}))
    return home


def restamp(home: Path) -> None:
    """Stamp a synthetic home's span vectors with the quotable rules in use. They are random,
    so they are as good under any rules; left with an older stamp, the next `ktp build` would
    embed every synthetic passage again with the real encoder (hours at 100k) to no purpose.
    Never done to a real home."""
    sys.path.insert(0, str(REPO))
    from corpus.quotable import RULES

    pointer = home / "index.json"
    state = json.loads(pointer.read_text())
    if state.get("spans") in (None, RULES):
        return
    spans = home / "vectors" / state["vectors"] / "spans.json"
    data = json.loads(spans.read_text())
    data["rules"] = RULES
    spans.write_text(json.dumps(data))
    say(f"span vectors of rules {state['spans']} restamped as rules {RULES} (random vectors)")
    state["spans"] = RULES
    pointer.write_text(json.dumps(state))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="a built data home of the real corpus")
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000],
                        help="synthetic corpus sizes (none: only --home)")
    parser.add_argument("--work", type=Path, help="where synthetic homes are made and kept")
    parser.add_argument("--before", help="also time the no-op of this commit's code")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ktp-noop-") as tmp:
        tmp = Path(tmp)
        old_code = export(args.before, tmp / "before") if args.before else None
        if args.home:
            measure(f"real corpus ({args.home.name})", args.home, args.runs, tmp, old_code)
        for n in args.sizes:
            home = synthetic_home(n, args.work or tmp / "work")
            measure(f"synthetic {n}", home, args.runs, tmp, old_code)


if __name__ == "__main__":
    main()
