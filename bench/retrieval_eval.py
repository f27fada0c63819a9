"""Retrieval quality and latency over bench/eval_questions.yaml (questions over realdata).

    uv run python bench/retrieval_eval.py --home /tmp/ktp-eval          # an ingested, built home
    uv run python bench/retrieval_eval.py --prepare /tmp/ktp-eval       # ingest + build it first

For keyword-only, vector-only, hybrid (keyword + vector, RRF) and hybrid + graph, at document
level: recall@5 and recall@10 (a gold document among the first 5 / 10 distinct documents) and
MRR (1 / rank of the first gold document, 0 beyond 10). Then warm latency p50/p95 of the full
retriever, and the questions it misses, for reading.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

from corpus.home import DataHome
from simulator.retrieval import open_retriever

HERE = Path(__file__).resolve().parent
REALDATA = HERE.parent.parent / "shared" / "realdata"
CONFIGS = {"keyword": ("keyword",), "vector": ("vector",), "hybrid": ("keyword", "vector"),
           "hybrid+graph": ("keyword", "vector", "graph")}


def ranked_docs(evidence) -> list[str]:
    return list(dict.fromkeys(e.doc_id for e in evidence))


def score(questions, retriever, modes) -> dict:
    r5 = r10 = mrr = 0.0
    misses = []
    for q in questions:
        docs = ranked_docs(retriever.retrieve(q["question"], k=20, modes=modes))[:10]
        rank = next((i for i, d in enumerate(docs, 1) if d in q["gold"]), None)
        r5 += bool(rank and rank <= 5)
        r10 += bool(rank)
        mrr += 1 / rank if rank else 0
        if not rank or rank > 5:
            misses.append((q, rank, docs[:3]))
    n = len(questions)
    return {"recall@5": r5 / n, "recall@10": r10 / n, "mrr": mrr / n, "misses": misses}


def latency(questions, retriever) -> tuple[float, float]:
    for q in questions[:5]:
        retriever.retrieve(q["question"], k=8)  # warm caches
    times = []
    for q in questions:
        start = time.perf_counter()
        retriever.retrieve(q["question"], k=8)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def prepare(home: Path) -> None:
    ktp = [sys.executable, "-m", "ui.cli", "--home", str(home)]
    start = time.perf_counter()
    subprocess.run(ktp + ["ingest", str(REALDATA)], check=True, stdout=subprocess.DEVNULL)
    ingest = time.perf_counter() - start
    subprocess.run(ktp + ["build"], check=True, stdout=subprocess.DEVNULL)
    build = time.perf_counter() - start - ingest
    print(f"prepared {home}: ingest {ingest:.1f} s, build {build:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a data home with realdata ingested and built")
    parser.add_argument("--prepare", type=Path, help="ingest and build realdata into this home")
    parser.add_argument("--misses", action="store_true", help="list the questions missed")
    args = parser.parse_args()
    home = args.prepare or args.home
    if home is None:
        parser.error("give --home or --prepare")
    if args.prepare:
        prepare(args.prepare)
    questions = yaml.safe_load((HERE / "eval_questions.yaml").read_text())["questions"]
    retriever = open_retriever(DataHome(home))
    print(f"{len(questions)} questions; document level; k=10")
    print(f"{'retriever':14} {'recall@5':>9} {'recall@10':>10} {'MRR':>6}")
    results = {}
    for name, modes in CONFIGS.items():
        results[name] = score(questions, retriever, modes)
        r = results[name]
        print(f"{name:14} {r['recall@5']:9.3f} {r['recall@10']:10.3f} {r['mrr']:6.3f}")
    p50, p95 = latency(questions, retriever)
    print(f"latency of hybrid+graph, warm: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    if args.misses:
        print("\nmissed at 5 by hybrid+graph (rank, top documents):")
        for q, rank, top in results["hybrid+graph"]["misses"]:
            print(f"  {q['id']} [{q['kind']}] rank {rank}: {q['question']}\n"
                  f"      gold {q['gold']}  got {top}")


if __name__ == "__main__":
    main()
