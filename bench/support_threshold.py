"""Where to draw the line for "this passage supports this axiom": from data.

    uv run python bench/support_threshold.py --home /tmp/ktp-eval   # realdata ingested + built

Positives: for each axiom and mental model, the passages that hold its own verbatim quotes
(found by the graph's FOUND_IN links): passages we know express the idea. Negatives: 2,000
passages drawn at random (seeded), which almost never do. For each candidate threshold it prints
the share of positives at or above it (recall of true support) and the share of random passages
at or above it (how often an unrelated passage would be linked).
"""
from __future__ import annotations

import argparse
import random

import numpy as np

from corpus.home import DataHome
from graph.evidence_links import LINKED_KINDS, item_text
from graph.nx_store import NetworkxGraphStore
from graph.pipeline import open_index, open_world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    home = DataHome.resolve(parser.parse_args().home)
    world = open_world(home)
    graph, _ = NetworkxGraphStore(home.graph_json).load()
    index, embedder = open_index(home)
    items = [i for kind in LINKED_KINDS for i in world.framework.of_kind(kind)]
    item_vectors = dict(zip([i.id for i in items], embedder.embed([item_text(i) for i in items])))
    chunk_ids = [r[0] for r in world.store.db.execute("SELECT id FROM chunks ORDER BY id")]
    rng = random.Random(7)
    sample = rng.sample(chunk_ids, min(2000, len(chunk_ids)))
    vectors = _chunk_vectors(index, sample)
    positives, negatives = [], []
    for item in items:
        quotes = [q for _, q, k in graph.out_edges(item.id, keys=True) if k == "SUPPORTED_BY"]
        own = {p for q in quotes for _, p, k in graph.out_edges(q, keys=True) if k == "FOUND_IN"}
        own_vectors = _chunk_vectors(index, sorted(own))
        positives += list(own_vectors @ item_vectors[item.id]) if len(own_vectors) else []
        negatives += list(vectors @ item_vectors[item.id])
    positives, negatives = np.array(positives), np.array(negatives)
    print(f"{len(items)} items; {len(positives)} (item, own-quote passage) pairs; "
          f"{len(negatives)} (item, random passage) pairs")
    print(f"positives: median {np.median(positives):.3f}, p25 {np.percentile(positives, 25):.3f}")
    print(f"random:    median {np.median(negatives):.3f}, p99 {np.percentile(negatives, 99):.3f}, "
          f"p99.9 {np.percentile(negatives, 99.9):.3f}")
    print(f"{'threshold':>9} {'positives >=':>13} {'random >=':>10}")
    for t in (0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60):
        print(f"{t:9.2f} {np.mean(positives >= t):13.3f} {np.mean(negatives >= t):10.4f}")


def _chunk_vectors(index, ids: list[str]) -> np.ndarray:
    if not ids:
        return np.zeros((0, 384), dtype=np.float32)
    got = index.collection.get(ids=ids, include=["embeddings"])
    return np.array(got["embeddings"], dtype=np.float32)


if __name__ == "__main__":
    main()
