"""Answers in framework-reading mode over the evaluation questions, and abstention.

    uv run python bench/answer_eval.py --home /tmp/ktp-eval     # realdata ingested and built

For each of the questions in bench/eval_questions.yaml: what its citations came to (quotes
verified in his words, claims, problems; Sources-list entries are not citations and are not
counted), does its evidence include a gold document, how long did the answer take (warm). Then
the best passage similarity for on-topic and for off-topic questions, which sets the abstention
line. Evidence is his words only, as `ktp ask` uses it.
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from pathlib import Path

import yaml

from corpus.home import DataHome
from simulator.answer import AGREED, COVERED, answer
from simulator.retrieval import open_retriever

HERE = Path(__file__).resolve().parent
OFF_TOPIC = ["What is the best pizza place in Naples?", "How do I change a flat bicycle tyre?",
             "Who won the 1998 football world cup?", "What is a good recipe for banana bread?",
             "How tall is Mount Kilimanjaro?", "Which knitting needles suit a beginner?",
             "What are the opening hours of the Louvre?",
             "How do I get a tomato stain out of cotton?", "What is the capital of Australia?",
             "How often should I water a cactus?"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    home = DataHome.resolve(parser.parse_args().home)
    questions = yaml.safe_load((HERE / "eval_questions.yaml").read_text())["questions"]
    retriever = open_retriever(home)
    fw = retriever.framework
    answer(questions[0]["question"], retriever, fw)  # warm
    times, statuses, with_gold, all_ok, covered = [], Counter(), 0, 0, 0
    for q in questions:
        start = time.perf_counter()
        result = answer(q["question"], retriever, fw)
        times.append((time.perf_counter() - start) * 1000)
        statuses.update(c.status for c in result.citations)
        all_ok += result.all_verified
        covered += result.covered
        with_gold += any(e.doc_id in q["gold"] for e in result.evidence)
    n = len(questions)
    times.sort()
    print(f"{n} questions, framework-reading mode")
    print(f"  answered (sources cover it)   {covered}/{n}")
    print("  citations by status           " + ", ".join(
        f"{k} {v}" for k, v in statuses.most_common()) + f"; answers with no problem {all_ok}/{n}")
    print(f"  evidence includes gold source {with_gold}/{n} ({with_gold / n:.1%})")
    print(f"  time to answer, warm          p50 {statistics.median(times):.0f} ms, "
          f"p95 {times[int(0.95 * (n - 1))]:.0f} ms")

    def best(question: str) -> float:
        return max((e.similarity or 0) for e in retriever.retrieve(question, k=8,
                                                                   speaker="his"))

    on = sorted(best(q["question"]) for q in questions)
    off = sorted(best(q) for q in OFF_TOPIC)
    declined = sum(not answer(q, retriever, fw).covered for q in OFF_TOPIC)
    print(f"abstention lines {COVERED} / {AGREED}: best passage similarity on-topic min "
          f"{on[0]:.3f}, median {statistics.median(on):.3f}; off-topic "
          f"{', '.join(f'{x:.2f}' for x in off)}")
    print(f"  off-topic questions declined  {declined}/{len(OFF_TOPIC)}")


if __name__ == "__main__":
    main()
