"""The framework reading: the answer when no LLM is configured, composed from his sources and
the framework by rules, never generated.

    text, cited = framework_reading(question, evidence, items, framework, embed,
                                    question_vector, nearby)

Its parts, in order:
1. His words on this: the sentences of his that answer the question (`simulator.quotes`:
   whole sentences scored by meaning and by the question's words, diverse across sources),
   verbatim and cited, each with its badge and date; by relevance, or, when the question asks
   how his view changed, the best of each era of his framework, oldest first, under its era.
2. The ideas in play: the axioms and mental models the evidence and the question bring in,
   one line each from the framework, saying which quoted passage the graph links to it.
3. How he would approach it: the two to four steps of his response protocol closest to the
   question in meaning, each with a quote of his that bears on both the step and the question,
   or said plainly to be unbacked.
4. Extrapolating from his framework: the items in play applied to the question, in our words
   from the framework data, labelled as such.
5. The sources, each with who said it.

Every quote is verbatim from a passage of his own words (pieces joined by an ellipsis are each
verbatim), so every quote verifies; passages of other speakers are never quoted.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

from corpus.framework_model import Framework, Item
from simulator.dating import day, era_of
from simulator.evidence import Evidence
from simulator.quotes import Quote, QuotePool

LABEL = ("*Framework reading: composed from his sources and his framework by rules, not "
         "written by a language model. Choose a language model for a written answer.*")
NOT_COVERED = ("The sources I have don't cover this question, so there is nothing of his to "
               "quote on it. Try other words, or ingest more of his material.")
UNLABELLED = ("None of his attributed words cover this question, but the passages below, "
              "where the speaker is not identified, are close to it: they may hold his words "
              "(an interview he gave, with its turns unlabelled). They are not quoted as his. "
              "Labelling the speakers of such transcripts (the README's section Who said it) "
              "would tell.")
QUOTES = 5
MIN_QUOTE_SCORE = 0.3  # a quote's blend of meaning and words must reach this to be shown,
MORE_QUOTE_SCORE = 0.40  # and past the first two, this (with span vectors: as many answering, 7 % fewer)
# and no further behind the best than this (bench/answer_quality.py: 15 of 331 quotes fewer,
# none of them answering; 0.10 lost one answer)
BEHIND_BEST = 0.15
STEPS = (2, 4)  # how many protocol steps, at least and at most
STEP_MATCH = 0.25  # question-to-step similarity for a step beyond the first two
STEP_BACKING = 0.3  # how well a quote must fit a step (and the question) to back it,
# and how close to the step alone: a quote close to the question only is no backing ("look at
# the raw data" backed by a line on a repo's speed). Read on the bench's answers: under 0.3 to
# its step none related to it, and from 0.3 to 0.45 most did not ("keep the human in the loop"
# backed by a line on setting the learning rate in a for loop); MiniLM is a rough judge here,
# so a step is more often left unbacked than backed by chance.
STEP_RELATES = 0.45
# The step's own framework quote backs it when it bears on the question at least this much
# (a quote score, as MIN_QUOTE_SCORE): less than a quote shown above must, since the step was
# chosen for the question, but not nothing ("a progression of the AI doing more" for a
# question on learning rates).
STEP_OWN_QUOTE = 0.25
CHANGE_QUOTES = 6  # quotes for a question about change: one per era first, then the best
# A question about how his view moved: a change word and a view word, or two times compared.
# "Over the years" or "shift" alone are not enough ("books that stuck with him over the years",
# "what shift in AI research did he see?" ask about one thing, not about his view moving).
_VIEW = r"(?:view|mind|thinking|position|stance|opinion|take)s?"
CHANGE = re.compile(
    rf"\b(?:(?:chang(?:e|ed|es|ing)|shift(?:ed|s)?|evolv\w*|mov(?:e|ed))\b.*\b{_VIEW}\b|"
    rf"{_VIEW}\b.*\b(?:chang|shift|evolv|mov(?:e|ed)\b)|"
    r"how (?:has|did|have) (?:his|he)\b.*\b(?:evolv|chang|develop)|"
    r"used to (?:think|believe|say)|still (?:think|believe)|"
    r"then (?:vs|versus|and) now|"
    r"\b(?:19|20)\d\d\b.*\b(?:vs\.?|versus|compared|and now|today)\b)", re.I)


def framework_reading(question: str, evidence: Sequence[Evidence], items: Sequence[Item],
                      framework: Framework, embed=None, question_vector=None,
                      nearby: Sequence[Evidence] = (), span_vectors=None,
                      unlabelled: Sequence[Evidence] = (),
                      steps: Sequence[Item] | None = None) -> tuple[str, list[Evidence]]:
    """(the reading, the evidence it cites as [S1]…). `embed(texts) -> unit vectors` (the
    retriever's embedder) scores by meaning; without it quotes and steps are chosen by shared
    words. `nearby`: passages next to the best ones (the answer often sits one passage on);
    those a quote is taken from join the evidence, after the retrieved ones. `span_vectors`:
    the build's vectors of each passage's sentences (`simulator.quotes.QuotePool`).
    `unlabelled`: when nothing of his covers the question, passages close to it whose speaker
    is not identified, listed as leads (never quoted as his). `steps`: the protocol steps to
    show, when the caller chose them (`choose_steps`) to fetch their passages."""
    if not evidence and unlabelled:
        return "\n\n".join([LABEL, UNLABELLED, _sources(unlabelled)]), list(unlabelled)
    if not evidence:
        return f"{LABEL}\n\n{NOT_COVERED}", []
    pool = QuotePool(question, [*evidence, *nearby], embed, question_vector, span_vectors)
    change, eras = is_change_question(question), framework.of_kind("era")
    quotes = _across_eras(pool, eras) if change else _shown(pool.best(QUOTES))
    if steps is None:
        steps = choose_steps(question, framework, embed, question_vector)
    own = _own_quotes(items, pool, {q.candidate for q in quotes})
    backing = _backing(steps, pool, [*quotes, *filter(None, own)])
    evidence, quotes, picked = _renumber(evidence, nearby, quotes, [*own, *backing])
    own, backing = picked[:len(own)], picked[len(own):]
    parts = [LABEL]
    if quotes and change:
        quotes.sort(key=lambda q: day(evidence[q.evidence_index].date) or "9999")
        parts.append(_by_era(quotes, evidence, eras))
    elif quotes:
        parts.append("**His words on this**\n" + "\n".join(_quote_line(q, evidence)
                                                           for q in quotes))
    else:
        parts.append("**His words on this**\nNone of the passages found says something on "
                     "this question directly; the sources below are the closest.")
    if items:
        parts.append("**The ideas of his in play**\n" + "\n".join(
            _item_line(item, evidence, quotes, mine) for item, mine in zip(items, own)))
    if steps:
        parts.append("**How he would approach it**\n" + _approach(steps, backing, evidence))
    if items or steps:
        parts.append(_extrapolation(items, steps))
    parts.append(_sources(evidence))
    return "\n\n".join(parts), list(evidence)


def _shown(best: Sequence[Quote]) -> list[Quote]:
    """The best two that reach MIN_QUOTE_SCORE; past them, those that reach MORE_QUOTE_SCORE
    and stay within BEHIND_BEST of the best (a far weaker third quote is filler)."""
    top = best[0].score if best else 0.0
    return [q for n, q in enumerate(best) if q.score >= MIN_QUOTE_SCORE and
            (n < 2 or q.score >= max(MORE_QUOTE_SCORE, top - BEHIND_BEST))]


def _sources(evidence: Sequence[Evidence]) -> str:
    return "**Sources**\n" + "\n".join(
        f"[S{n}] {e.title} ({e.badge}, {(e.date or 'undated')[:10]}) "
        f"{e.url or _file_name(e.origin)}"
        for n, e in enumerate(evidence, 1))


def _renumber(evidence, nearby, quotes, backing):
    """The retrieved evidence, then the nearby passages a quote comes from; quotes re-pointed."""
    used = sorted({q.evidence_index for q in [*quotes, *filter(None, backing)]
                   if q.evidence_index >= len(evidence)})
    where = {i: i for i in range(len(evidence))}
    where.update({i: len(evidence) + n for n, i in enumerate(used)})
    final = [*evidence, *(nearby[i - len(evidence)] for i in used)]

    def moved(q):
        return replace(q, evidence_index=where[q.evidence_index]) if q else None

    return final, [moved(q) for q in quotes], [moved(q) for q in backing]


def _across_eras(pool: QuotePool, eras) -> list[Quote]:
    """For a question about change: the best quote of each era first (so that every era the
    evidence reaches speaks), then the best of the rest, CHANGE_QUOTES at most."""
    ranked = [q for q in pool.best(2 * CHANGE_QUOTES) if q.score >= MIN_QUOTE_SCORE]
    chosen, eras_seen = [], set()
    for q in ranked:
        era = era_of(pool.evidence[q.evidence_index].date, eras)
        key = era.id if era else day(pool.evidence[q.evidence_index].date)[:4]
        if key not in eras_seen:
            eras_seen.add(key)
            chosen.append(q)
    rest = [q for q in ranked if q not in chosen and q.score >= MORE_QUOTE_SCORE]
    return (chosen + rest)[:CHANGE_QUOTES]


def _by_era(quotes: Sequence[Quote], evidence: Sequence[Evidence], eras) -> str:
    """His words oldest first, under the era of his framework each falls in."""
    lines, current = ["**His words on this, by era** (oldest first)"], object()
    for q in quotes:
        date = evidence[q.evidence_index].date
        era = era_of(date, eras)
        heading = era.id if era else ("undated" if not date else "before")
        if heading != current:
            current = heading
            lines.append(f"*{_era_heading(era, date)}*")
        lines.append(_quote_line(q, evidence))
    dates = [day(evidence[q.evidence_index].date) for q in quotes
             if evidence[q.evidence_index].date]
    spans = len({getattr(era_of(evidence[q.evidence_index].date, eras), "id", None)
                 for q in quotes if evidence[q.evidence_index].date} - {None}) or 1
    if dates:
        lines.append(f"From {min(dates)} to {max(dates)}, in {spans} era{'s' * (spans > 1)}: "
                     "read in order, these are what he said then. This reading does not "
                     "judge the shift between them; a language model (--llm) is asked to.")
    return "\n".join(lines)


def _era_heading(era, date: str | None) -> str:
    if era is not None:
        end = era.attrs.get("end")
        return f"{era.title} ({era.attrs.get('start')} to {end or 'now'})"
    return "Undated" if not date else "Before the eras of his framework"


def is_change_question(question: str) -> bool:
    """"Has his view on RL changed?", "agents in 2017 vs 2025?", "how did his thinking evolve"."""
    return bool(CHANGE.search(question))


def choose_steps(question: str, framework: Framework, embed, question_vector) -> list[Item]:
    steps = framework.of_kind("step")
    if not steps:
        return []
    if embed is None:
        return steps[:STEPS[0]]
    import numpy as np

    vectors = _step_vectors(steps, embed)
    q = question_vector if question_vector is not None else embed([question])[0]
    sims = vectors @ q
    order = list(np.argsort(-sims))
    chosen = order[:STEPS[0]] + [i for i in order[STEPS[0]:STEPS[1]] if sims[i] >= STEP_MATCH]
    return [steps[i] for i in sorted(chosen, key=lambda i: steps[i].attrs.get("order", 0))]


_CACHE: dict[tuple, object] = {}


def _step_vectors(steps: Sequence[Item], embed):
    return _embedded(embed, [_step_text(s) for s in steps])


def _embedded(embed, texts: list[str]):
    """Framework texts embedded once per process (they change only with the framework)."""
    import numpy as np

    owner = id(getattr(embed, "__self__", embed))  # a bound method is a new object each time
    missing = [t for t in texts if (owner, t) not in _CACHE]
    if missing:
        for text, vector in zip(missing, embed(missing)):
            _CACHE[(owner, text)] = vector
    return np.asarray([_CACHE[(owner, t)] for t in texts])


def _step_text(step: Item) -> str:
    return f"{step.title}. {step.attrs.get('question', '')} {step.summary}"


def _quote_line(q: Quote, evidence: Sequence[Evidence]) -> str:
    e = evidence[q.evidence_index]
    return f"- “{q.text}” [S{q.evidence_index + 1}] ({e.badge}, {(e.date or 'undated')[:10]})"


def _item_line(item: Item, evidence: Sequence[Evidence], quotes: Sequence[Quote],
               own: Quote | None = None) -> str:
    linked = sorted({q.evidence_index + 1 for q in quotes
                     if item.id in evidence[q.evidence_index].supports})
    where = (f" The graph links it to the passage{'s' * (len(linked) > 1)} quoted from "
             + ", ".join(f"S{n}" for n in linked) + ".") if linked else ""
    line = f"- **{_label(item)}**: {item.summary.rstrip('.')}.{where}"
    if own is not None:
        e = evidence[own.evidence_index]
        line += (f"\n  In his words: “{own.text}” [S{own.evidence_index + 1}] "
                 f"({e.badge}, {(e.date or 'undated')[:10]})")
    return line


def _own_quotes(items: Sequence[Item], pool: QuotePool, taken: set[int]) -> list:
    """For each idea in play, the sentence of his that holds one of the framework's quotes
    for it, when a passage found holds it, it bears on the question as much as a quote shown
    must (MIN_QUOTE_SCORE) and no part of it is shown already (the best-scored, if several): the
    idea is then stated in his words, not only in our summary. None otherwise."""
    out, taken = [], set(taken)
    for item in items:
        quote = pool.best_holding([fq.text for fq in item.quotes], MIN_QUOTE_SCORE, taken)
        if quote:
            taken.add(quote.candidate)
        out.append(quote)
    return out


def _backing(steps: Sequence[Item], pool: QuotePool, shown: Sequence[Quote]) -> list:
    """For each step, the quote of his that bears on it and on the question, or None: the
    sentence the framework quotes for the step when a passage found holds it (the words it
    was written from), else the closest that relates to both."""
    used, out = {q.candidate for q in shown}, []
    vectors = _step_vectors(steps, pool.embed) if pool.embed else None
    for n, step in enumerate(steps):
        quote = pool.best_holding([fq.text for fq in step.quotes], STEP_OWN_QUOTE, used)
        if quote is None and vectors is not None:
            quote = pool.best_for(vectors[n], STEP_BACKING, used, STEP_RELATES)
        if quote:
            used.add(quote.candidate)
        out.append(quote)
    return out


def _approach(steps: Sequence[Item], backings: Sequence, evidence: Sequence[Evidence]) -> str:
    lines = []
    for n, (step, backing) in enumerate(zip(steps, backings), 1):
        lines.append(f"{n}. {step.title}: {step.attrs.get('question', '')}")
        if backing:
            e = evidence[backing.evidence_index]
            lines.append(f"   His words that bear on it: “{backing.text}” "
                         f"[S{backing.evidence_index + 1}] ({e.badge}, "
                         f"{(e.date or 'undated')[:10]})")
        else:
            lines.append("   (No passage found here bears on this step.)")
    return "\n".join(lines)


def _extrapolation(items: Sequence[Item], steps: Sequence[Item]) -> str:
    """The framework applied to the question, in our words from its data, labelled."""
    pieces = [f"*{item.title.rstrip('.')}* suggests that "
              f"{_lower_first(item.summary.rstrip('.'))}" for item in items[:3]]
    asks = [_lower_first(s.attrs.get("question", "").rstrip("?")) for s in steps[:2]
            if s.attrs.get("question")]
    said = []
    if pieces:
        said.append("Applied to this question: " + "; ".join(pieces) + ".")
    if asks:
        said.append("The first questions he would put to it: " + "; ".join(asks) + "?")
    return "**Extrapolating from his framework:** " + " ".join(said)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _label(item: Item) -> str:
    number = item.attrs.get("number")
    return f"Axiom {number}: {item.title}" if number else item.title


def _file_name(origin: str) -> str:
    """A source with no public address by its file's name: the folders it sits in on this
    machine are nobody else's business (the answer may be shared or shown in the web UI)."""
    return f"(file {origin.replace(chr(92), '/').rsplit('/', 1)[-1]})" if origin else ""
