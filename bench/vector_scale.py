"""How the vector index's answers hold up with size: recall@10 against exact search, and what
filters cost, on the real vectors of a data home and on synthetic unit vectors.

    .venv/bin/python bench/vector_scale.py --home /tmp/ktp-vec          # real + 10k + 100k
    .venv/bin/python bench/vector_scale.py --sizes 10000 --defaults     # also Chroma's defaults

The real part needs a built data home (`ktp build`; its exact-search table is written by the
first build after this change). The synthetic part inserts random unit vectors (the hard case
for an HNSW graph) with metadata straight into a fresh index in a temporary folder: 100k takes
several minutes to insert into Chroma on two cores. `--defaults` also fills a collection at
Chroma's default HNSW settings (what the index used before) to measure its recall.

The machine is shared, so every comparison is a ratio of medians taken in this process:
filtered / unfiltered for each way of searching, and each way against the exact table.
Ways of searching: `index` is VectorIndex.query (the exact table below EXACT_MAX); `chroma` is
Chroma's HNSW with the index's settings and its `where` filters; `past-max` is VectorIndex.query
as it runs past EXACT_MAX (EXACT_MAX set to a quarter of the size): unfiltered and weak filters
go to HNSW (a weak filter as a search k x 2 / selectivity wide, then the mask), a filter that
keeps at most EXACT_MAX passages is searched exactly among them.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

K = 10
SUBJECT = "Andrej Karpathy"


def timed(fn, repeat: int = 1):
    """(result of the last call, median seconds per call)."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


def measure(ways: dict, questions, truth) -> dict:
    """For each way: recall@K against `truth` (the exact ids per question) and median ms."""
    out = {}
    for name, search in ways.items():
        search(questions[0])  # warm: the first query loads the HNSW graph or maps the file
        recalls, times = [], []
        for q, exact in zip(questions, truth):
            hits, seconds = timed(lambda: search(q))
            times.append(seconds)
            want = set(exact)
            recalls.append(len(want & {h.chunk_id for h in hits}) / len(want) if want else 1.0)
        out[name] = {"recall": float(np.mean(recalls)), "min": float(np.min(recalls)),
                     "ms": 1000 * statistics.median(times)}
    return out


def exact_truth(table, questions, keep=None) -> list[list[str]]:
    """The exact top K by a full sort (independent of the table's own top-k code), among the
    rows the index may return: those passing the filters, less each copy whose canonical
    passes them too (one place per text: a copy has its canonical's very vector, so counting
    both would make the truth hold the same text twice)."""
    vectors = np.asarray(table.vectors)
    allowed = table._one_per_text(keep)
    out = []
    for q in questions:
        q = q / np.linalg.norm(q)
        order = np.argsort(-(vectors @ q), kind="stable")
        if allowed is not None:
            order = order[allowed[order]]
        out.append([table.ids[i] for i in order[:K]])
    return out


def report(title: str, filters: dict[str, dict], results: dict[str, dict]) -> None:
    """`results[filter name][way] = {recall, min, ms}`; prints ratios to the unfiltered row."""
    print(f"\n{title}")
    print(f"  {'filter':<22} {'way':<9} {'recall@10':>9} {'min':>5} {'ms':>8} {'x unfiltered':>13}")
    base = results["none"]
    for fname in filters:
        for way, r in results[fname].items():
            ratio = r["ms"] / base[way]["ms"] if way in base else float("nan")
            print(f"  {fname:<22} {way:<9} {r['recall']:>9.4f} {r['min']:>5.2f} "
                  f"{r['ms']:>8.2f} {ratio:>13.2f}")


def ways_for(index, filters: dict, vi) -> dict:
    """The ways of searching with these filters, each a function of the question."""
    where = vi._where(filters.get("kind"), filters.get("since"), filters.get("until"),
                      filters.get("own_only", False), filters.get("his"),
                      filters.get("doc_ids", ()))

    def past_max(q):  # as if the corpus were 4x EXACT_MAX
        saved, vi.EXACT_MAX = vi.EXACT_MAX, index.count() // 4
        try:
            return index.query(q, K, **filters)
        finally:
            vi.EXACT_MAX = saved

    return {"index": lambda q: index.query(q, K, **filters),
            "chroma": lambda q: index._chroma_query(q, K, where),
            "past-max": past_max}


def filter_sets(table) -> dict[str, dict]:
    docs = table.docs[:: max(1, len(table.docs) // 10)][:10]
    return {"none": {},
            "kind+own+dates": {"kind": "tweet", "own_only": True, "since": "2014-01-01",
                               "until": "2022-12-31"},
            "his": {"his": True},
            "10 documents": {"doc_ids": list(docs)}}


def keep_mask(table, vi, filters: dict):
    f = filters
    return table.mask(kind=f.get("kind"), since_day=vi._day(f["since"]) if f.get("since") else None,
                      until_day=vi._day(f["until"]) if f.get("until") else None,
                      own_only=f.get("own_only", False), his=f.get("his"),
                      doc_ids=f.get("doc_ids", ()))


def run_filters(index, table, questions, vi, extra_ways: dict | None = None) -> tuple:
    filters = filter_sets(table)
    results = {}
    for fname, f in filters.items():
        keep = keep_mask(table, vi, f)
        truth = exact_truth(table, questions, keep)
        ways = ways_for(index, f, vi)
        for name, make in (extra_ways or {}).items():
            ways[name] = make(f)
        results[fname] = measure(ways, questions, truth)
    return filters, results


# ---- the real vectors -----------------------------------------------------------------------
def real(home_dir: Path) -> None:
    import yaml

    import graph.vector_index as vi
    from corpus.home import DataHome
    from graph.pipeline import open_index

    index, embedder = open_index(DataHome(home_dir))
    if index is None:
        print(f"{home_dir}: no vector index; run `ktp build` there first")
        return
    table = index._exact()
    if table is None:
        print(f"{home_dir}: the index has no exact-search table yet; run `ktp build` there once")
        return
    spec = yaml.safe_load((Path(__file__).parent / "eval_questions.yaml").read_text())
    questions = embedder.embed([q["question"] for q in spec["questions"]])
    config = index.collection.configuration_json.get("hnsw", {})
    filters, results = run_filters(index, table, questions, vi)
    report(f"real vectors: {len(table)} passages in {home_dir}, {len(questions)} eval questions; "
           f"Chroma HNSW M={config.get('max_neighbors')} ef_construction="
           f"{config.get('ef_construction')} ef_search={config.get('ef_search')}",
           filters, results)


# ---- synthetic vectors ----------------------------------------------------------------------
class Given:
    """An embedder that is never asked to embed: the vectors are inserted directly."""
    name, dim = "synthetic-384", 384

    def embed(self, texts):
        raise AssertionError("synthetic vectors are inserted, not embedded")


def synthetic(n: int, with_defaults: bool, seed: int = 1) -> None:
    import graph.vector_index as vi
    from corpus.home import DataHome
    from graph.exact_search import VectorTable

    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"tweet:{i // 2:07d}#{i % 2}" for i in range(n)]  # two passages a document
    metas = [{"doc_id": f"tweet:{i // 2:07d}", "kind": "tweet" if i % 3 else "blog",
              "ts": 20100101 + (i % 15) * 10000 + (i % 12) * 100, "h": "-",
              "own": i % 5 != 0, "reply": False, "likes": 0, "his": i % 4 == 0}
             for i in range(n)]
    with tempfile.TemporaryDirectory(prefix="ktp-vector-scale-") as tmp:
        index = vi.VectorIndex.open(DataHome(Path(tmp)), Given())
        _, insert_s = timed(lambda: insert(index.collection, ids, vectors, metas))
        index._publish(index.collection.name, "synthetic", SUBJECT,
                       VectorTable(ids, vectors, metas), copies="")
        extra = {}
        if with_defaults:
            defaults = index.client.create_collection(
                "defaults", embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
            insert(defaults, ids, vectors, metas)
            extra["defaults"] = lambda f: _defaults_way(defaults, f, vi)
        questions = rng.normal(size=(30, 384)).astype(np.float32)
        questions /= np.linalg.norm(questions, axis=1, keepdims=True)
        # A fresh client, so the HNSW graph is loaded with the collection's settings.
        index = vi.VectorIndex.open(DataHome(Path(tmp)), Given())
        table = index._exact()
        filters, results = run_filters(index, table, questions, vi, extra)
        _, numpy_s = timed(lambda: np.asarray(table.vectors) @ questions[0], repeat=20)
        report(f"synthetic: {n} random unit vectors (inserted in {insert_s:.0f} s); "
               f"one bare numpy product {1000 * numpy_s:.1f} ms", filters, results)


def _defaults_way(collection, filters: dict, vi):
    where = vi._where(filters.get("kind"), filters.get("since"), filters.get("until"),
                      filters.get("own_only", False), filters.get("his"),
                      filters.get("doc_ids", ()))

    def search(q):
        r = collection.query(query_embeddings=[q], n_results=K, where=where,
                             include=["distances", "metadatas"])
        return [vi.VectorHit(c, m["doc_id"], 1 - d)
                for c, d, m in zip(r["ids"][0], r["distances"][0], r["metadatas"][0])]
    return search


def insert(collection, ids, vectors, metas, batch: int = 5000) -> None:
    for start in range(0, len(ids), batch):
        collection.upsert(ids=ids[start:start + batch], embeddings=vectors[start:start + batch],
                          metadatas=metas[start:start + batch])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=os.environ.get("KTP_HOME"),
                        help="a built data home with real vectors (default: KTP_HOME)")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000],
                        help="synthetic sizes (none: real vectors only)")
    parser.add_argument("--defaults", action="store_true",
                        help="also measure a collection at Chroma's default HNSW settings")
    args = parser.parse_args()
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    if args.home:
        real(Path(args.home))
    for n in args.sizes:
        synthetic(n, args.defaults)


if __name__ == "__main__":
    main()
