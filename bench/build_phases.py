"""Where a from-scratch `ktp build` spends its time, phase by phase, on a copy of a data home.

    uv run python bench/build_phases.py --home H      # H: an ingested home (its corpus is read)

The corpus file is copied into a fresh temporary home (no index, no graph, no compiled
encoder), and the build runs as `ktp build` runs it: the vector index (copies found, passages
embedded with their span vectors, written to Chroma and the exact-search table), then the
graph (rows, evidence links, the store). Each phase is timed by wrapping the function that does
it, so the figures add up to the build; "other" is what no wrapper covers. Wall and CPU time
of the whole build are printed with the load average, since the machine may be shared.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

SPENT: dict[str, float] = defaultdict(float)


def timed(owner, name: str, phase: str) -> None:
    """Replace owner.name by a wrapper that adds its wall time to SPENT[phase]."""
    real = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            SPENT[phase] += time.perf_counter() - start

    setattr(owner, name, wrapper)


def instrument() -> None:
    import chromadb.api.models.Collection as chroma_collection

    import graph.embedder
    import graph.minilm_cache
    import graph.pipeline
    import graph.span_vectors
    import graph.vector_index

    phases = [
        (graph.minilm_cache, "compiled_model", "encoder graph: build, quantize, parity check"),
        (graph.embedder.MiniLMEmbedder, "_hidden", "encoder: onnxruntime"),
        (graph.embedder.MiniLMEmbedder, "embed_spans", "embedding calls (all inside)"),
        (graph.span_vectors, "pooled_spans", "span vectors: pooling"),
        (graph.vector_index, "_quotable", "span vectors: quotable stretches"),
        (graph.vector_index, "update_copies", "copies found (dedup)"),
        (graph.vector_index, "_chunk_rows", "passages read from SQLite"),
        (chroma_collection.Collection, "upsert", "Chroma upsert"),
        (graph.vector_index.VectorIndex, "_table", "exact-search table assembled"),
        (graph.vector_index.VectorIndex, "_publish", "vectors written (table, spans)"),
        (graph.pipeline, "build_index", "index (all inside)"),
        (graph.pipeline, "build_graph", "graph: rows"),
        (graph.pipeline, "link_evidence", "graph: evidence links"),
        (graph.pipeline, "open_world", "graph (all inside)"),
    ]
    for owner, name, label in phases:
        timed(owner, name, label)

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ktp-phases-") as folder:
        shutil.copy(Path(args.home) / "corpus.sqlite3", Path(folder) / "corpus.sqlite3")
        os.environ["KTP_HOME"] = folder
        os.environ.pop("KTP_MODEL_CACHE", None)
        start, load = time.perf_counter(), os.getloadavg()
        instrument()
        from corpus.home import DataHome
        from corpus.store import CorpusStore
        from graph.pipeline import build_index, open_world

        home = DataHome.resolve(folder)
        with CorpusStore(home.corpus_db) as store:
            counts = build_index(home, store)
        world = open_world(home)
        wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    print(f"{counts['total']} passages, {counts['embedded']} embedded, {counts['copied']} "
          f"copies; graph {world.graph.counts()}")
    print(f"build: {wall:.1f} s wall, {cpu:.1f} s CPU; load average before "
          f"{load[0]:.2f}, after {os.getloadavg()[0]:.2f} (2 cores is idle at ~2)")
    inside = {"embedding calls (all inside)", "index (all inside)", "graph (all inside)"}
    for phase, seconds in SPENT.items():
        print(f"  {phase:46s} {seconds:7.1f} s  {100 * seconds / wall:5.1f} %")
    embed_rest = SPENT["embedding calls (all inside)"] - SPENT["encoder: onnxruntime"] - \
        SPENT["span vectors: pooling"]
    print(f"  {'tokenizing, padding, pooling (in the calls)':46s} {embed_rest:7.1f} s")
    covered = sum(SPENT[p] for p in ("index (all inside)", "graph (all inside)"))
    print(f"  {'other (imports, opening stores)':46s} {wall - covered:7.1f} s")
    assert inside <= set(SPENT)


if __name__ == "__main__":
    main()
