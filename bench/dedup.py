"""How much of the real corpus is the same text twice, and what one canonical passage per text
saves (corpus/duplicates.py). The home given is copied first and never changed.

    uv run python bench/dedup.py --home /tmp/ktp-i8s                # a built real-data home
    uv run python bench/dedup.py --home /tmp/ktp-i8s --embedding    # and time the embedding
    uv run python bench/dedup.py --home /tmp/ktp-i8s --recall       # and recall before/after

Reports, for the copy: passages and characters that are copies, by kind of copy and kind of
canonical, how near they are (Jaccard pairs vs passages covered by several canonicals), and
how long finding them takes. Then `ktp build`'s sync on the copy, which relabels the copies
and embeds nothing. `--embedding` runs the index's own encoder over the canonical passages and
over the copies, in one run, each sorted by length as the build does, so the share of
embedding time the copies cost is measured, not estimated (and the tokens it reads, counted).
`--recall` runs bench/retrieval_eval.py and bench/answer_quality.py on the copy without a copy
map and with one, on the same vectors of the canonical passages (the copies are embedded as
themselves for "before").
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from corpus.duplicates import find_copies
from corpus.home import DataHome
from corpus.store import CorpusStore

HERE = Path(__file__).resolve().parent


def kind_of(chunk_id: str) -> str:
    return chunk_id.split(":", 1)[0]


def report_copies(store: CorpusStore) -> dict[str, tuple[str, float]]:
    passages = store.passages_for_copies()
    start = time.perf_counter()
    copies = find_copies(passages)
    took = time.perf_counter() - start
    chars = {p["id"]: len(p["text"]) for p in passages}
    copied = sum(chars[c] for c in copies)
    print(f"passages      {len(passages)}; copies {len(copies)} "
          f"({len(copies) / len(passages):.1%}), characters {copied / sum(chars.values()):.1%}"
          f"; found in {took:.2f} s")
    by = Counter((kind_of(c), kind_of(canon)) for c, (canon, _) in copies.items())
    print("copy -> canonical  " + ", ".join(f"{a} -> {b} {n}" for (a, b), n in
                                             by.most_common()))
    docs = Counter(c.split("#")[0] for c in copies)
    print("documents most copied  " + ", ".join(f"{d} {n}" for d, n in docs.most_common(4)))
    return copies


def time_embedding(home: DataHome, store: CorpusStore, copies: dict) -> None:
    """Tokens and encoder time of the canonical passages and of the copies. The two sets are
    timed in alternating slices (each sorted by length, as the build batches them), so a
    machine whose load changes during the run weighs on both alike."""
    from graph.pipeline import open_index
    from graph.vector_index import _chunk_rows

    index, embedder = open_index(home)
    rows = _chunk_rows(store)
    parts = {"canonical": sorted((r["text"] for c, r in rows.items() if c not in copies),
                                 key=len),
             "copies": sorted((r["text"] for c, r in rows.items() if c in copies), key=len)}
    embedder.embed(["warm the encoder up"])  # loads the tokenizer too
    tokens = {name: sum(sum(e.attention_mask) for e in embedder.tokenizer.encode_batch(texts))
              for name, texts in parts.items()}  # padding left out
    share = tokens["copies"] / sum(tokens.values())
    print(f"tokens the encoder reads: canonical {tokens['canonical']}, copies "
          f"{tokens['copies']} ({share:.1%})")
    took = dict.fromkeys(parts, 0.0)
    slices = 8
    for n in range(slices):
        for name, texts in parts.items():
            part = texts[n::slices]  # every length represented in every slice
            start = time.perf_counter()
            embedder.embed(part)
            took[name] += time.perf_counter() - start
    total = sum(took.values())
    print(f"embedding ({embedder.name}): canonical {len(parts['canonical'])} passages "
          f"{took['canonical']:.1f} s, copies {len(parts['copies'])} passages "
          f"{took['copies']:.1f} s: {took['copies'] / total:.1%} of {total:.1f} s saved")


def evaluate(home: Path, label: str) -> None:
    for script in ("retrieval_eval.py", "answer_quality.py"):
        out = subprocess.run([sys.executable, str(HERE / script), "--home", str(home)],
                             check=True, capture_output=True, text=True).stdout
        print(f"--- {label}: bench/{script}\n{out.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a built real-data home")
    parser.add_argument("--embedding", action="store_true", help="time the embedding saved")
    parser.add_argument("--recall", action="store_true", help="recall before and after")
    args = parser.parse_args()
    from graph.pipeline import build_index

    with tempfile.TemporaryDirectory(prefix="ktp-dedup-") as tmp:
        work = Path(tmp) / "home"
        shutil.copytree(args.home, work, symlinks=True)
        home = DataHome(work)
        with CorpusStore(home.corpus_db) as store:
            if args.recall:
                # Before: no copy map (marked as computed, so the sync keeps it empty); copies
                # the home had get vectors of their own again. The canonicals' vectors are
                # the same ones before and after, so only deduplication differs.
                store.set_copies({}, store.fingerprint())
                print(f"without copies: {build_index(home, store)}")
                evaluate(work, "before")
            copies = report_copies(store)
            if args.embedding:
                time_embedding(home, store, copies)
            store.set_copies({}, "")  # stale: the build computes the map again
            start = time.perf_counter()
            result = build_index(home, store)
            print(f"ktp build's index sync on the copy: {result} in "
                  f"{time.perf_counter() - start:.1f} s")
        if args.recall:
            evaluate(work, "after")


if __name__ == "__main__":
    main()
