"""Thread settings of the encoder, measured: passages per second with one or two intra-op
threads, with onnxruntime's spinning on (its default) or off, and the cost of a small numpy
product right after an embedding (what spinning threads take from the rest of an answer).

    uv run python bench/encoder_threads.py --home H      # a built data home (its passages)

Rounds alternate between the settings, so a change in the machine's load hits each alike;
figures are ratios to the default (as many threads as cores, spinning on) in the same run.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from corpus.home import DataHome
from corpus.store import CorpusStore
from graph.embedder import MiniLMEmbedder

ROUNDS = 5
PASSAGES = 96


def make_session(embedder: MiniLMEmbedder, threads: int, spinning: bool):
    import onnxruntime as ort

    from graph.minilm_cache import compiled_model

    model = compiled_model(embedder.model_dir or _bundled(), embedder.variant,
                           embedder.cache_dir, embedder.tokenizer)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _bundled():
    from graph.embedder import bundled_model_dir

    return bundled_model_dir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    args = parser.parse_args()
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    home = DataHome.resolve(args.home)
    store = CorpusStore(home.corpus_db)
    texts = [t for (t,) in store.db.execute(
        "SELECT text FROM chunks ORDER BY id LIMIT ?", (PASSAGES,))]
    embedder = MiniLMEmbedder(cache_dir=home.root / "models")
    embedder.embed(["warm"])
    cores = os.cpu_count() or 1
    settings = {f"{t} thread{'s' if t > 1 else ''}, spinning {'on' if s else 'off'}": (t, s)
                for t in sorted({1, cores}) for s in (True, False)}
    sessions = {name: make_session(embedder, *ts) for name, ts in settings.items()}
    rate: dict[str, list[float]] = {n: [] for n in settings}
    after: dict[str, list[float]] = {n: [] for n in settings}
    table = np.random.default_rng(0).standard_normal((20000, 384)).astype(np.float32)
    q = table[0]
    for _ in range(ROUNDS):
        for name, session in sessions.items():
            embedder.session = session
            start = time.perf_counter()
            embedder.embed(texts)
            rate[name].append(len(texts) / (time.perf_counter() - start))
            embedder.embed(["a short question about agents"])  # as an answer does, then:
            start = time.perf_counter()
            table @ q
            after[name].append((time.perf_counter() - start) * 1000)
    base = next(iter(n for n in settings if settings[n] == (cores, True)))
    print(f"{len(texts)} real passages, {ROUNDS} alternating rounds, {cores} cores")
    for name in settings:
        r, a = statistics.median(rate[name]), statistics.median(after[name])
        print(f"  {name:28s} {r:6.1f} passages/s ({r / statistics.median(rate[base]):.2f}x)"
              f"   20k x 384 product after a question: {a:5.1f} ms")


if __name__ == "__main__":
    main()
