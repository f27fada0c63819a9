"""Whose words the answers show as his: every quote in the framework-reading answers to the
evaluation questions, classified from the store, not from the answer.

    uv run python bench/attribution_eval.py --home /tmp/ktp-eval          # realdata, built
    uv run python bench/attribution_eval.py --home /tmp/ktp-eval --show 20  # and read 20

For each quote shown as his ("…" [Sn]): the passage it cites is looked up again in the corpus
store, and the quote is classified as his words, a retweet, another speaker (host or
unidentified), text he quotes from others, or an unknown author. A second, independent check
looks for the quote inside the hand-labelled host lines of bench/speaker_labels*.yaml. Also
reported: how the citations break down (quotes verified in his words, claims with their
support, problems, reference entries not counted).
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import yaml

from corpus.home import DataHome
from corpus.textnorm import normalize
from simulator.answer import answer
from simulator.citations import find_quote
from simulator.retrieval import open_retriever

HERE = Path(__file__).resolve().parent
REALDATA = HERE.parent.parent / "shared" / "realdata"


def classify(store, chunk_id: str, quote: str, subject: str) -> str:
    row = store.chunk_rows([chunk_id]).get(chunk_id)
    if row is None:
        return "passage not found"
    doc = store.get(row["doc_id"])
    if doc.meta.get("is_retweet"):
        return "retweet"
    if row["speaker"] in (None, "unknown") or doc.author == "unknown":
        return "author unknown"
    if row["speaker"] != subject:
        return "other speaker"
    span = find_quote(row["text"], quote)
    for start, end, _ in doc.meta.get("quoted") or []:
        if span and start < row["start"] + span[1] and row["start"] + span[0] < end:
            return "quoted by him"
    return "his words"


def host_lines() -> list[str]:
    """The text of every hand-labelled host line (read from realdata, never stored here)."""
    import sys

    sys.path.insert(0, str(HERE))
    from speaker_eval import LABEL_SETS, line_texts

    out = []
    for name in LABEL_SETS:
        data = yaml.safe_load((HERE / name).read_text(encoding="utf-8"))
        for episode_name, episode in data["episodes"].items():
            lines = line_texts(episode, REALDATA)
            out += [normalize(lines[lab["at"]]).lower() for lab in data["labels"]
                    if lab["episode"] == episode_name and lab["speaker"] == "host"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--show", type=int, default=0, help="print this many answers")
    args = parser.parse_args()
    home = DataHome.resolve(args.home)
    retriever = open_retriever(home)
    framework = retriever.framework
    subject = framework.subject.name
    questions = yaml.safe_load((HERE / "eval_questions.yaml").read_text())["questions"]
    hosts = host_lines() if REALDATA.is_dir() else []
    kinds, statuses, in_host_lines, shown = Counter(), Counter(), 0, 0
    for q in questions:
        result = answer(q["question"], retriever, framework)
        for c in result.citations:
            statuses[c.status] += 1
            if c.quote and c.chunk_id:
                kinds[classify(retriever.store, c.chunk_id, c.quote, subject)] += 1
                needle = normalize(c.quote).lower()
                in_host_lines += any(needle in line or (len(line) > 40 and line in needle)
                                     for line in hosts)
        if shown < args.show:
            shown += 1
            print(f"\n=== {q['id']}: {q['question']}\n{result.text}\n{result.summary}")
    total = sum(kinds.values())
    not_his = total - kinds["his words"]
    print(f"\n{len(questions)} questions, framework reading")
    print(f"quotes shown as his: {total}; not his words: {not_his} ({not_his / max(total, 1):.1%})"
          f"  {json.dumps(dict(kinds))}")
    print(f"quotes found inside a labelled host line: {in_host_lines}")
    print("citations by status: " + ", ".join(f"{k} {v}" for k, v in statuses.most_common()))


if __name__ == "__main__":
    main()
