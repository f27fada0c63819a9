"""Do the framework reading's quotes answer the question? Figures over the evaluation questions.

    uv run python bench/answer_quality.py --home /tmp/ktp-eval          # realdata, built
    uv run python bench/answer_quality.py --home /tmp/ktp-eval --show 20 # and read 20 answers

For each question of bench/eval_questions.yaml with answering words (bench/answer_spans_a/b.yaml,
written by reading the gold passage): is one of those runs of words inside a quote of the
answer? And, looser, is a run of any sentence that states the answer (answer_spans_c.yaml,
written blind from the gold documents) inside one, and inside one of the first section ("His
words on this", what a reader sees first)? Also: the share of quotes that are fragments (start
mid-sentence, or stop without an end, with no ellipsis to say so), the share that are his
words, abstention errors both ways
(the on-topic questions declined; the questions of bench/off_topic.yaml answered), and the time
to answer, warm.
"""
from __future__ import annotations

import argparse
import re
import statistics
import time
from pathlib import Path

import yaml

from corpus.home import DataHome
from corpus.textnorm import is_punctuated, normalize
from simulator.answer import answer
from simulator.retrieval import open_retriever

HERE = Path(__file__).resolve().parent
_QUOTE = re.compile(r"“([^”]+)”\s*\[S(\d+)\]")


def spans(pattern: str = "answer_spans_[ab].yaml") -> dict[str, list[str]]:
    """Answering words by question id. The first sets (a, b) hold one or two runs per question,
    written from the gold passage; set c, written blind from the gold documents alone, holds a
    run of every sentence that states the answer on its own (a fairer, looser test)."""
    found: dict[str, list[str]] = {}
    for path in sorted(HERE.glob(pattern)):
        for qid, entry in yaml.safe_load(path.read_text(encoding="utf-8"))["spans"].items():
            found.setdefault(qid, []).extend(
                normalize(a).lower() for a in entry.get("anchors") or [])
    return found


def quotes_of(text: str) -> list[tuple[str, int]]:
    return [(q, int(n)) for q, n in _QUOTE.findall(text)]


def top_section(text: str) -> str:
    """The reading's first section, "His words on this": what a reader sees first, before the
    ideas in play and the steps (whose quotes are counted in the figures above too)."""
    return re.split(r"\*\*The ideas of his in play\*\*|\*\*How he would approach it\*\*|"
                    r"\*\*Extrapolating", text)[0]


def is_fragment(quote: str, source_text: str) -> bool:
    """Starts mid-sentence or stops without an end, and no ellipsis says it was cut. In
    captions without punctuation, a quote is whole when it starts on a word boundary."""
    q = quote.strip()
    if not is_punctuated(source_text):
        return False
    starts = q.startswith("…") or q[:1].isupper() or q[:1].isdigit() or not q[:1].isalpha()
    ends = q.endswith("…") or q[-1:] in ".!?)\"”’:"
    return not (starts and ends)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--show", type=int, default=0)
    args = parser.parse_args()
    retriever = open_retriever(DataHome.resolve(args.home))
    fw = retriever.framework
    questions = yaml.safe_load((HERE / "eval_questions.yaml").read_text())["questions"]
    off_topic = yaml.safe_load((HERE / "off_topic.yaml").read_text())["questions"]
    answering, blind = spans(), spans("answer_spans_c.yaml")
    answer(questions[0]["question"], retriever, fw)  # warm
    hits, blind_hits, top_hits, asked, quotes, fragments, his, declined, times, shown = \
        0, 0, 0, 0, 0, 0, 0, 0, [], 0
    for q in questions:
        start = time.perf_counter()
        result = answer(q["question"], retriever, fw)
        times.append((time.perf_counter() - start) * 1000)
        declined += not result.covered
        found = quotes_of(result.text)
        for text, n in found:
            quotes += 1
            e = result.evidence[n - 1]
            his += e.his_words
            fragments += is_fragment(text, e.text)
        anchors = answering.get(q["id"])
        if anchors:
            asked += 1
            flat = [normalize(text.replace("…", " ")).lower() for text, _ in found]
            hit = any(a in quote for a in anchors for quote in flat)
            hits += hit
            blind_hits += any(a in quote for a in blind.get(q["id"], []) for quote in flat)
            top = [normalize(t.replace("…", " ")).lower() for t, _ in quotes_of(top_section(
                result.text))]
            top_hits += any(a in quote for a in blind.get(q["id"], []) for quote in top)
        if shown < args.show:
            shown += 1
            print(f"\n=== {q['id']} ({'answers' if anchors and hit else 'misses'}): "
                  f"{q['question']}\n{result.text}")
    answered_off = sum(answer(q, retriever, fw).covered for q in off_topic)
    times.sort()
    n = len(questions)
    print(f"\n{n} questions, framework reading; answering words known for {asked}")
    print(f"  quotes hold the answering words   {hits}/{asked} ({hits / max(asked, 1):.2f})")
    print(f"  … any answering sentence (set c)  {blind_hits}/{asked} "
          f"({blind_hits / max(asked, 1):.2f})")
    print(f"  … of those, at the top (his words) {top_hits}/{asked} "
          f"({top_hits / max(asked, 1):.2f})")
    print(f"  quotes that are fragments         {fragments}/{quotes} "
          f"({fragments / max(quotes, 1):.1%})")
    print(f"  quotes that are his words         {his}/{quotes}")
    print(f"  on-topic declined                 {declined}/{n}; off-topic answered "
          f"{answered_off}/{len(off_topic)}")
    print(f"  time to answer, warm              p50 {statistics.median(times):.0f} ms, "
          f"p95 {times[int(0.95 * (n - 1))]:.0f} ms")


if __name__ == "__main__":
    main()
