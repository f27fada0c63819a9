"""Calibrating the support score of a cited claim on bench/claim_pairs.yaml.

    uv run python bench/claim_support.py --home /tmp/ktp-eval      # realdata ingested

Each pair is a claim in our own words and a passage of his (found by a short anchor in the
ingested document, then the chunk holding it, which is what a citation cites), labelled
supported or not by reading. For both scorers (by meaning with the local MiniLM, by shared
words) it prints precision and recall of "supported" at a range of thresholds, and the line
in use (`simulator.support`): precision is what a user relies on when a claim is shown as
supported.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from corpus.home import DataHome
from corpus.store import CorpusStore
from corpus.textnorm import locate
from simulator.support import EMBEDDING_SUPPORTED, LEXICAL_SUPPORTED, EmbeddingSupport, \
    LexicalSupport

HERE = Path(__file__).resolve().parent


def passages(store: CorpusStore, pairs: list[dict]) -> list[str | None]:
    out = []
    for pair in pairs:
        doc = store.get(pair["doc"])
        found = locate(doc.text, pair["anchor"]) if doc else None
        chunk = next((c for c in store.chunks(doc.id) if found and c.start <= found[0] < c.end),
                     None) if found else None
        out.append(chunk.text if chunk else None)
    return out


def table(name: str, scores: list[float], labels: list[bool], line: float) -> None:
    print(f"\n{name}: threshold  precision  recall   (in use: {line})")
    for t in sorted({round(x / 20, 2) for x in range(4, 19)} | {line}):
        chosen = [lab for s, lab in zip(scores, labels) if s >= t]
        tp = sum(chosen)
        precision = tp / len(chosen) if chosen else 1.0
        recall = tp / max(sum(labels), 1)
        mark = "  <- in use" if t == line else ""
        print(f"  {t:9.2f}  {precision:9.2f}  {recall:6.2f}{mark}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    home = DataHome.resolve(parser.parse_args().home)
    pairs = yaml.safe_load((HERE / "claim_pairs.yaml").read_text(encoding="utf-8"))["pairs"]
    with CorpusStore(home.corpus_db) as store:
        texts = passages(store, pairs)
    found = [(p, t) for p, t in zip(pairs, texts) if t]
    print(f"{len(found)} of {len(pairs)} pairs found in the corpus "
          f"({sum(p['supported'] for p, _ in found)} supported)")
    labels = [p["supported"] for p, _ in found]
    from graph.embedder import load_embedder

    by_meaning = EmbeddingSupport(load_embedder())
    table("meaning and words (MiniLM)", [by_meaning(p["claim"], t) for p, t in found], labels,
          EMBEDDING_SUPPORTED)
    lexical = LexicalSupport()
    table("by shared words", [lexical(p["claim"], t) for p, t in found], labels,
          LEXICAL_SUPPORTED)


if __name__ == "__main__":
    main()
