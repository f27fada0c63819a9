"""Answering a question: retrieve evidence, render the persona and the prompt, get the text from
an LLM (or compose the framework reading), and verify every citation.

    result = answer("Why does he like small models?", retriever, framework, llm=None)
    result.mode          # "llm" or "framework-reading"
    result.citations     # each with verified / problem

When the evidence is not close to the question (no passage reaches COVERED, and not several
reach AGREED), the evidence is dropped and the answer says the sources do not cover it, rather
than quoting passages that merely share a word with the question.

As of a date (`answer(..., as_of="2019-12-31")`, or a `simulator.dating.AsOf` retriever): only
his material dated on or before it, and the answer says so first, with the newest source used.
A question about change ("has his view on RL changed?", "agents in 2017 vs 2025?") brings more
evidence, and for each year it names, that year's own; the reading groups his words by era, and
the prompt gives an LLM the sources oldest first and asks for the shift.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

from corpus.framework_model import Framework
from corpus.model import UNIDENTIFIED
from simulator.citations import OK_STATUSES, Citation, summary_line, verify_citations
from simulator.evidence import Evidence, with_genres
from simulator.persona import render_persona
from simulator.prompt import build_prompt, prompt_text
from simulator.dating import AsOf, day
from simulator.reading import choose_steps, framework_reading, is_change_question
from simulator.support import support_scorer

# Calibrated on realdata (bench/answer_quality.py: 58 questions on his material and the 34 of
# bench/off_topic.yaml) with the default int8 encoder: the best passage of his alone decides
# above COVERED; between AGREED and COVERED, several passages must agree (AGREEING of them at
# least AGREE_LINE close). Off-topic questions reach 0.409 with one such passage (cast-iron
# rust, against his tweets on the Rust language), else at most 0.39 with at most two; one
# on-topic question of 58 (0.387, a lone passage) falls below the line.
COVERED = 0.42
AGREED = 0.35
AGREE_LINE = 0.30
AGREEING = 3
IDEA_KINDS = ("axiom", "model")
CHANGE_K = 12  # evidence for a question about change: enough to span several eras
PER_YEAR = 3  # and, for each year the question names, that year's best passages
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")


@dataclass(frozen=True)
class Answer:
    question: str
    mode: str  # "llm" | "framework-reading"
    text: str
    citations: tuple[Citation, ...]
    evidence: tuple[Evidence, ...]
    messages: tuple[dict, ...]
    items: tuple[str, ...] = field(default=())  # framework items in play
    covered: bool = True  # False when the sources did not cover the question
    resolved: str | None = None  # what was searched for, when a follow-up was rewritten
    as_of: str | None = None  # the cut date, when the answer is as of a date
    newest: str | None = None  # the date of the newest source it used (as of a date)
    undated_left_out: int = 0  # undated passages the date left out

    @property
    def all_verified(self) -> bool:
        """No citation problem: every quote verified in his words, every marker a source."""
        return all(c.status in OK_STATUSES for c in self.citations)

    @property
    def summary(self) -> str:
        return summary_line(self.citations)

    def as_json(self) -> dict:
        return {"mode": self.mode, "answer": self.text, "summary": self.summary,
                "citations": [c.as_row() for c in self.citations],
                "evidence": [e.as_row() for e in self.evidence],
                "prompt": prompt_text(self.messages), "items": list(self.items),
                "covered": self.covered, "resolved": self.resolved, "as_of": self.as_of,
                "newest_source": self.newest, "undated_left_out": self.undated_left_out}


def answer(question: str, retriever, framework: Framework, llm=None, *, k: int = 8,
           memory_notes: Sequence[str] = (), history: Sequence[dict] = (),
           on_token: Callable[[str], None] | None = None, search_for: str | None = None,
           as_of: str | None = None, **filters) -> Answer:
    """`filters` go to the retriever; by default the evidence is his words only
    (speaker="his"): what he is quoted as saying must be what he said. `search_for`: what to
    retrieve and quote for, when it is not the question as asked (a resolved follow-up).
    `as_of`: only material dated on or before this day (YYYY-MM-DD)."""
    if as_of:
        retriever = AsOf(retriever, as_of)
    as_of = getattr(retriever, "as_of", None)
    filters.setdefault("speaker", "his")
    query = search_for or question
    change = is_change_question(query)
    evidence = retriever.retrieve(query, max(k, CHANGE_K) if change else k, **filters)
    left_out = getattr(retriever, "undated_left_out", 0) if as_of else 0
    if change:
        evidence = _with_years(retriever, query, evidence, filters)
    covered = is_covered(evidence)
    evidence = with_genres(evidence, framework) if covered else []
    unlabelled = [] if covered or filters["speaker"] != "his" or llm is not None else \
        _unlabelled(retriever, query, filters)
    items = in_play(query, evidence, retriever, framework) if covered else []
    if as_of:  # an idea he first voiced after the cut is not one of his ideas then
        items = [i for i in items if not i.quotes
                 or min(day(q.source.date) for q in i.quotes) <= as_of]
    persona = render_persona(framework, {i.id for i in items})
    embedder = getattr(retriever, "embedder", None)
    if llm is None:  # the reading may add nearby passages it quotes: the prompt shows them too
        embed = embedder.embed if embedder else None
        vector = retriever.question_vector(query) if embedder else None
        steps = choose_steps(query, framework, embed, vector) if covered else []
        nearby = nearby_passages(retriever, query, evidence, filters) if covered else []
        nearby += quote_passages(retriever, [*steps, *items], [*evidence, *nearby], filters)
        text, evidence = framework_reading(
            query, evidence, items, framework, embed, vector,
            nearby=with_genres(nearby, framework), span_vectors=getattr(
                retriever, "span_vectors", None), unlabelled=unlabelled, steps=steps)
    elif change:  # the LLM reads the sources oldest first, to say what moved
        evidence = sorted(evidence, key=lambda e: day(e.date) or "9999")
    messages = build_prompt(question, evidence, memory_notes, history, persona,
                            subject=framework.subject.name, change=change, as_of=as_of,
                            eras=framework.of_kind("era"))
    newest = max((day(e.date) for e in evidence if e.date), default=None) if as_of else None
    header = as_of_header(as_of, newest, left_out) if as_of else ""
    if header and on_token:
        on_token(header + "\n\n")
    if llm is None:
        mode = "framework-reading"
        if on_token:
            on_token(text)
    else:
        text, mode = llm.complete(messages, on_token), "llm"
    # The header names a source's date, never his words: citations are checked without it.
    citations = verify_citations(text, evidence, support_scorer(embedder))
    return Answer(question=question, mode=mode, text=f"{header}\n\n{text}" if header else text,
                  resolved=search_for, citations=tuple(citations), evidence=tuple(evidence),
                  messages=tuple(messages), items=tuple(i.id for i in items), covered=covered,
                  as_of=as_of, newest=newest, undated_left_out=left_out)


def as_of_header(as_of: str, newest: str | None, left_out: int) -> str:
    """What the user reads first in an answer as of a date."""
    text = (f"**As of {as_of}**: from his material dated on or before {as_of} only; "
            + (f"the newest source used is from {newest}." if newest else
               "nothing of his dated by then was found on this."))
    if left_out:
        text += (f" {left_out} undated passage{'s' * (left_out != 1)} that match"
                 f"{'es' * (left_out == 1)} {'was' if left_out == 1 else 'were'} left out "
                 f"(nothing says when {'it was' if left_out == 1 else 'they were'} said).")
    return text


def _with_years(retriever, query: str, evidence: Sequence[Evidence], filters: dict) -> list:
    """The evidence, plus for each year the question names ("agents in 2017 vs 2025") the
    best passages of that year, so that both sides of the comparison are there."""
    found, seen = list(evidence), {e.chunk_id for e in evidence}
    words = _YEAR.sub(" ", query)
    for year in dict.fromkeys(_YEAR.findall(query)):
        since, until = f"{year}-01-01", f"{year}-12-31"
        if filters.get("since") and filters["since"] > since:
            since = filters["since"]
        if filters.get("until") and filters["until"] < until:
            until = filters["until"]
        if since > until:
            continue  # the year lies past the cut (as of a date)
        for e in retriever.retrieve(words, PER_YEAR, **{**filters, "since": since,
                                                       "until": until}):
            if e.chunk_id not in seen:
                found.append(e)
                seen.add(e.chunk_id)
    return found


NEARBY_OF = 4  # the best passages whose neighbours may hold the answering sentence
WITHIN_OF = 4  # the best documents searched again for the passages closest to the question
WITHIN_K = 6


def nearby_passages(retriever, query: str, evidence: Sequence[Evidence],
                    filters: dict) -> list[Evidence]:
    """Passages the reading may quote beyond the retrieved ones: those just before and after
    the best few, and the ones of the best documents closest to the question (same filters)."""
    speaker = filters.get("speaker")
    seen = {e.chunk_id for e in evidence}
    found = []
    if hasattr(retriever, "neighbours"):
        found += retriever.neighbours(evidence[:NEARBY_OF], exclude=seen, speaker=speaker)
    if hasattr(retriever, "within_documents"):
        best_docs = list(dict.fromkeys(e.doc_id for e in evidence))[:WITHIN_OF]
        found += retriever.within_documents(
            query, [e for e in evidence if e.doc_id in best_docs],
            exclude=seen | {e.chunk_id for e in found}, k=WITHIN_K, speaker=speaker)
    return found


def quote_passages(retriever, items: Sequence, found: Sequence[Evidence],
                   filters: dict) -> list[Evidence]:
    """The passages holding the framework's quotes of his for the items the reading shows
    (protocol steps, ideas in play; the filters applied): a step or idea chosen because it
    fits the question comes with the words of his it was written from ("look at the data"
    with the line of his training recipe that says so), which the search by meaning alone
    can miss."""
    graph = getattr(retriever, "graph", None)
    if graph is None or not items or not hasattr(retriever, "passages"):
        return []
    # item_passages lists the passages holding the item's quotes first
    wanted = [p for s in items for p in graph.item_passages(s.id)[:len(s.quotes)]]
    return retriever.passages(list(dict.fromkeys(wanted)), {e.chunk_id for e in found},
                              "framework quote", **filters)


UNLABELLED_K = 3


def _unlabelled(retriever, query: str, filters: dict) -> list[Evidence]:
    """Passages close to the question whose speaker is not identified (an interview's turns
    unlabelled), when they would have covered it: leads for a question his attributed words
    do not cover, never quoted as his."""
    found = retriever.retrieve(query, UNLABELLED_K, **{**filters, "speaker": UNIDENTIFIED})
    # by meaning only: a keyword match alone ("pizza" said once in a podcast) is no lead
    return [e for e in found if e.similarity is not None and e.similarity >= COVERED]


def is_covered(evidence: Sequence[Evidence]) -> bool:
    """A passage is close in meaning, or several nearly are; with no vector index, something
    matched at all."""
    if not evidence:
        return False
    similarities = [e.similarity for e in evidence if e.similarity is not None]
    if not similarities:
        return True
    best = max(similarities)
    agree = sum(s >= AGREE_LINE for s in similarities)
    return best >= COVERED or (best >= AGREED and agree >= AGREEING)


def in_play(question: str, evidence: Sequence[Evidence], retriever, framework: Framework):
    """Axioms and mental models backed by the evidence, then those closest to the question."""
    counts: dict[str, int] = {}
    for e in evidence:
        for item_id in e.supports:
            if item_id.split(":")[0] in IDEA_KINDS:
                counts[item_id] = counts.get(item_id, 0) + 1
    ids = sorted(counts, key=lambda i: -counts[i])
    related = retriever.related_items(question) if hasattr(retriever, "related_items") else []
    ids += [i.id for i in related if i.id not in counts]
    return [framework.items[i] for i in ids[:4] if i in framework.items]
