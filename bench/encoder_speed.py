"""The int8 encoder against fp32, on the same real passages in the same process.

    uv run python bench/encoder_speed.py --home /tmp/ktp-eval [--passages 320] [--rounds 3]

Passages are a spread sample of the corpus (title + text, as the index embeds them). The two
graphs run in alternating rounds (fp32, int8, fp32, int8, …) so that a busy machine slows both
alike; the figure is the best round of each and their ratio. Parity: the cosine between the two
vectors of every passage (mean and lowest), and how many of each passage's 10 nearest passages
by fp32 vectors are also its 10 nearest by int8 vectors. Also: the first load of each graph
(built from the safetensors and, for int8, quantized) against a load from the data home's cache.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from corpus.home import DataHome
from corpus.store import CorpusStore
from graph import minilm_cache
from graph.embedder import MiniLMEmbedder
from graph.vector_index import _chunk_rows


def sample(home: DataHome, n: int) -> list[str]:
    with CorpusStore(home.corpus_db) as store:
        rows = sorted(_chunk_rows(store).values(), key=lambda r: r["id"])
    step = max(1, len(rows) // n)
    return [r["text"] for r in rows[::step][:n]]


def load_times(cache: Path) -> dict[str, tuple[float, float]]:
    out = {}
    for variant in ("fp32", "int8"):
        minilm_cache._MEMORY.clear()
        start = time.perf_counter()
        MiniLMEmbedder(variant=variant, cache_dir=cache).embed(["warm up"])
        first = time.perf_counter() - start
        minilm_cache._MEMORY.clear()
        start = time.perf_counter()
        MiniLMEmbedder(variant=variant, cache_dir=cache).embed(["warm up"])
        out[variant] = (first, time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--passages", type=int, default=320)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    texts = sample(DataHome.resolve(args.home), args.passages)
    with tempfile.TemporaryDirectory() as cache:
        loads = load_times(Path(cache))
        models = {v: MiniLMEmbedder(variant=v, cache_dir=Path(cache)) for v in ("fp32", "int8")}
        best = {v: float("inf") for v in models}
        vectors = {}
        for _ in range(args.rounds):
            for variant, model in models.items():
                start = time.perf_counter()
                vectors[variant] = model.embed(texts)
                best[variant] = min(best[variant], time.perf_counter() - start)
    a, b = vectors["fp32"], vectors["int8"]
    cosines = (a * b).sum(1)
    top = lambda v: np.argsort(-(v @ v.T), axis=1)[:, 1:11]  # noqa: E731
    overlap = np.mean([len(set(x) & set(y)) for x, y in zip(top(a), top(b))])
    print(f"{len(texts)} real passages, best of {args.rounds} alternating rounds")
    for variant in models:
        print(f"  {variant}  {len(texts) / best[variant]:6.1f} passages/s")
    print(f"  int8 is {best['fp32'] / best['int8']:.2f}x fp32")
    print(f"parity: cosine mean {cosines.mean():.4f}, lowest {cosines.min():.4f}; "
          f"top-10 neighbours shared {overlap:.1f} of 10")
    for variant, (first, cached) in loads.items():
        print(f"load {variant}: built {first:.2f} s, from the cache {cached:.2f} s")


if __name__ == "__main__":
    main()
