"""His words on the question, whole: the sentences of the best passages that answer it.

    quotes = choose_quotes(question, evidence, scorer, k=5)
    quotes[0].text, quotes[0].evidence_index    # "The first step … inspecting your data." 3

Candidates are the quotable stretches of passages of his own words (`corpus.quotable`: whole
sentences, sentence pairs, caption windows; never what he quotes from others, code or shell
lines). Each is scored by meaning against the question and by the question's content words:
by meaning with the vector the build gave it (`span_vectors`), else embedded now (only the
likeliest EMBEDDED of those, by shared words); a number for a "how many" question and a
definition for a "what is X" one score higher. Then the best are chosen with diversity (maximal
marginal relevance, at most PER_DOC from one document). A sentence longer than MAX_WORDS keeps
its best stretch of clauses, with an ellipsis where it was cut: the verifier checks each piece
in order.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from corpus.quotable import MAX_WORDS, MIN_WORDS, caption_spans, is_sentenced, quotable_spans
from corpus.textnorm import content_stems, locate, normalize
from simulator.evidence import Evidence

# Candidates without a vector from the build embedded now (each ~8 ms here; 24 gave one more
# answer, p95 +150 ms); of those with one, the best RESCORED are embedded alone as well.
EMBEDDED = 20
RESCORED = 10
MEANING, WORDS = 0.85, 0.15  # the blend of the two scores (0.75/0.25: 2 answers fewer of 58)
DIVERSITY = 0.7  # MMR: relevance vs. novelty against the quotes already chosen
PER_DOC = 3  # quotes from one document at most (2 left out answers ranked third in the best post)
SAME_WORDS = 0.95  # quotes this close in meaning say the same thing: one is shown
_CLAUSE = re.compile(r"(?<=[,;:—–])\s+")
_ASKS_NUMBER = re.compile(r"\b(?:how (?:many|much|long|short|big|fast|large|small|often)|"
                          r"what (?:accuracy|percentage|share|fraction|rate|error|size|number)|"
                          r"roughly how)\b", re.I)
NUMBER_BONUS = 0.08
# "What is X?" / "What does he mean by X?" is answered by the sentence that says what X is:
# one naming the term with a defining phrase ("a new kind of coding I call X, where…").
_ASKS_DEFINITION = re.compile(r"^\s*what(?:'s| is| are| was| were)\s+(?:an?\s+|the\s+)?"
                              r"(?P<a>[^?]{2,60})\?\s*$|^\s*what (?:does|did|do) \w+ "
                              r"(?:mean|call) by\s+(?P<b>[^?]{2,60})\?\s*$", re.I)
_DEFINES = re.compile(r"\b(?:i call|we call|(?:is|are) called|i coined|means|"
                      r"is when|is the idea|is a (?:new )?(?:kind|type|way)|the idea (?:here )?is)"
                      r"\b", re.I)
DEFINITION_BONUS = 0.08
CAPTION_DISCOUNT = 0.6
# ... unless the question asks about something he said aloud: then the captions are the source.
_ASKS_TALK = re.compile(r"\b(?:lectures?|videos?|talks?|podcasts?|interviews?|keynote|"
                        r"livestream|episode)\b", re.I)
QUESTION_DISCOUNT = 0.5  # a sentence that asks restates the question (bench: +1 answering)
# A character's line in one of his short stories is not his view, unless the question asks
# about the story.
FICTION_DISCOUNT = 0.5
_ASKS_STORY = re.compile(r"\b(?:stor(?:y|ies)|fiction|novel|narrat\w*|character)\b", re.I)

__all__ = ["Quote", "QuotePool", "candidate_spans", "caption_spans", "choose_quotes", "shorten"]


@dataclass(frozen=True)
class Quote:
    text: str  # verbatim, or verbatim pieces joined by " … "
    evidence_index: int  # 0-based index into the evidence list
    score: float
    start: int  # offset of the (first piece of the) quote in the passage
    whole: bool  # a whole sentence or caption span, not shortened
    candidate: int = -1  # its index in the pool


def choose_quotes(question: str, evidence: Sequence[Evidence], embed, k: int = 5,
                  question_vector=None) -> list[Quote]:
    """The k best quotes of his on the question. `embed(texts) -> unit vectors` scores by
    meaning; None scores by content words only."""
    return QuotePool(question, evidence, embed, question_vector).best(k)


class QuotePool:
    """Every quotable stretch of the best passages of his, scored against the question."""

    def __init__(self, question: str, evidence: Sequence[Evidence], embed,
                 question_vector=None, span_vectors=None, rescored: int = RESCORED):
        """`span_vectors(chunk_id) -> {(start, end): vector} | None`: the vectors the build
        made for a passage's stretches (`graph.span_vectors`), same embedder as `embed`;
        `rescored`: how many of the best of those are also embedded alone."""
        self.rescored = rescored
        self._plain: dict[int, str] = {}  # evidence index -> its text normalised (holding())
        self.evidence, self.embed = evidence, embed
        self.wanted = content_stems(question)
        found = [(i, c) for i, e in enumerate(evidence) if e.his_words
                 for c in candidate_spans(e)]
        made = _made_vectors(found, evidence, span_vectors) if embed is not None else {}
        # Scoring the others by meaning costs an embedding each: keep the likeliest EMBEDDED,
        # by shared words and by how close their passage is to the question.
        rest = [n for n in range(len(found)) if n not in made]
        prior = {n: word_overlap(self.wanted, found[n][1][2]) +
                 0.5 * _passage_prior(evidence[found[n][0]], found[n][0]) for n in rest}
        keep = sorted([*made, *sorted(rest, key=lambda n: -prior[n])[:EMBEDDED]])
        self.candidates = [found[n] for n in keep]
        lexical = [word_overlap(self.wanted, text) for _, (_, _, text) in self.candidates]
        self.vectors = None
        if embed is not None and self.candidates:
            now = [n for n in keep if n not in made]
            fresh = dict(zip(now, _embed_by_sentence(embed, [found[n][1][2] for n in now]))) \
                if now else {}
            self.vectors = np.asarray([made[n] if n in made else fresh[n] for n in keep])
            q = question_vector if question_vector is not None else embed([question])[0]
            self.meaning = self.vectors @ q
            self.scores = [MEANING * float(m) + WORDS * w
                           for m, w in zip(self.meaning, lexical)]
            if made:
                self._read_alone(q, lexical, [j for j, n in enumerate(keep) if n in made])
        else:
            self.meaning = None
            self.scores = lexical
        numeric = bool(_ASKS_NUMBER.search(question))
        story = bool(_ASKS_STORY.search(question))
        spoken = bool(_ASKS_TALK.search(question))
        term = defined_term(question)
        for n, (i, (_, _, text)) in enumerate(self.candidates):
            if numeric and re.search(r"\d", text):
                self.scores[n] += NUMBER_BONUS  # "how many hours?" is answered by a number
            if term and term in text.lower() and _DEFINES.search(text):
                self.scores[n] += DEFINITION_BONUS
            if not spoken and not is_sentenced(evidence[i].text):
                self.scores[n] *= CAPTION_DISCOUNT  # unpunctuated captions read worst
            if text.rstrip("\"”’) ").endswith("?"):
                self.scores[n] *= QUESTION_DISCOUNT  # a question restates, it does not answer
            if evidence[i].genre == "fiction" and not story:
                self.scores[n] *= FICTION_DISCOUNT

    def _read_alone(self, q, lexical, built: list[int]) -> None:
        """The best RESCORED of the candidates scored by the build's vectors are embedded on
        their own as well, and each gets the mean of the two vectors: read in its passage, a
        sentence leans toward what the passage is about; alone, toward what it says. Either by
        itself found fewer answering sentences on the bench (set c: 25 and 28 of 58) than the
        mean (29)."""
        top = sorted(built, key=lambda j: -self.scores[j])[:self.rescored]
        if not top:
            return
        alone = _embed_by_sentence(self.embed, [self.candidates[j][1][2] for j in top])
        for j, v in zip(top, alone):
            mean = v + self.vectors[j]
            self.vectors[j] = mean / (np.linalg.norm(mean) or 1.0)
        self.meaning = self.vectors @ q
        self.scores = [MEANING * float(m) + WORDS * w for m, w in zip(self.meaning, lexical)]

    def best(self, k: int) -> list[Quote]:
        return [self.quote(n) for n in _diverse(self.candidates, self.scores, self.vectors,
                                                self.evidence, k)]

    def best_for(self, vector, minimum: float, exclude: set[int] = frozenset(),
                 relates: float = 0.0) -> Quote | None:
        """The candidate closest to `vector` (a protocol step) that also bears on the question,
        if it reaches `minimum` (the mean of the two) and is at least `relates` close to the
        step itself; by meaning only (None without an embedder)."""
        if self.vectors is None or not self.candidates:
            return None
        step = self.vectors @ vector
        fit = (step + self.meaning) / 2
        ranked = [n for n in sorted(range(len(fit)), key=lambda n: -fit[n])
                  if step[n] >= relates and not self.clashes(n, exclude)]
        return self.quote(ranked[0]) if ranked and fit[ranked[0]] >= minimum else None

    def clashes(self, n: int, shown) -> bool:
        """Is candidate n one of those shown, or a stretch sharing words with one (a sentence
        and the pair it opens)?"""
        return n in shown or any(_overlaps(self.candidates[n], self.candidates[m])
                                 for m in shown if m >= 0)

    def holding(self, words: str) -> list[int]:
        """The candidates that hold (part of) these words, where they occur in a passage."""
        found, out, needle = {}, [], normalize(words).lower()
        plain = self._plain  # each passage normalised once
        for n, (i, (start, end, _)) in enumerate(self.candidates):
            if i not in found:  # locate() is slow: only where the words are known to be
                text = self.evidence[i].text
                if i not in plain:
                    plain[i] = normalize(text).lower()
                found[i] = locate(text, words) if needle in plain[i] else None
            if found[i] and start < found[i][1] and found[i][0] < end:
                out.append(n)
        return out

    def best_holding(self, words: Sequence[str], minimum: float, shown) -> Quote | None:
        """The best-scored candidate holding any of these words (an item's framework quotes)
        that reaches `minimum` and shares no words with those shown; None if there is none."""
        held = [n for w in words for n in self.holding(w)
                if self.scores[n] >= minimum and not self.clashes(n, shown)]
        return self.quote(max(held, key=lambda n: self.scores[n])) if held else None

    def quote(self, n: int) -> Quote:
        i, (start, _, text) = self.candidates[n]
        quote, whole = shorten(text, self.wanted)
        return Quote(text=quote, evidence_index=i, score=round(self.scores[n], 4), start=start,
                     whole=whole, candidate=n)


def defined_term(question: str) -> str | None:
    """The term a "what is X?" question asks to be defined, lower case ("vibe coding")."""
    m = _ASKS_DEFINITION.match(question)
    if not m:
        return None
    term = (m.group("a") or m.group("b")).strip(" \"'“”").lower()
    term = re.sub(r"\s+(?:according to him|in his view|to him)$", "", term)
    return term if 1 <= len(term.split()) <= 4 else None


def candidate_spans(e: Evidence) -> list[tuple[int, int, str]]:
    """(start, end, quote text) of each quotable stretch of a passage of his."""
    return quotable_spans(e.text, e.quoted)


def shorten(quote: str, wanted: set[str]) -> tuple[str, bool]:
    """A long sentence cut to its best run of clauses (with "…" where it was cut)."""
    words = quote.split()
    if len(words) <= MAX_WORDS:
        return quote, True
    clauses = _CLAUSE.split(quote)
    best, best_score = None, -1.0
    for a in range(len(clauses)):
        for b in range(a + 1, len(clauses) + 1):
            piece = " ".join(clauses[a:b])
            n = len(piece.split())
            if n > MAX_WORDS:
                break
            score = word_overlap(wanted, piece) + n / 1000
            if n >= MIN_WORDS and score > best_score:
                best, best_score = (a, b, piece), score
    if best is None:  # no clause breaks to cut at: its first MAX_WORDS words
        return " ".join(words[:MAX_WORDS]) + " …", False
    a, b, piece = best
    piece = piece.rstrip(",;:—– ")
    return ("… " if a else "") + piece + (" …" if b < len(clauses) else ""), False


def word_overlap(wanted: set[str], text: str) -> float:
    """The share of the question's content stems (`wanted`) that occur in `text`."""
    return len(wanted & content_stems(text)) / len(wanted) if wanted else 0.0


def _embed_by_sentence(embed, texts: list[str]):
    """One vector per text, embedding each distinct sentence once: a two-sentence candidate
    gets the normalised, length-weighted sum of its sentences' vectors (mean pooling makes
    that a close stand-in for embedding the pair, at half the cost)."""
    pieces = [[p for p in re.split(r"(?<=[.!?])\s+", t) if p.strip()] or [t] for t in texts]
    unique = list(dict.fromkeys(p for ps in pieces for p in ps))
    vectors = dict(zip(unique, embed(unique)))
    out = []
    for ps in pieces:
        v = sum(vectors[p] * len(p.split()) for p in ps)
        out.append(v / (np.linalg.norm(v) or 1.0))
    return np.asarray(out)


def _made_vectors(found, evidence, span_vectors) -> dict[int, "np.ndarray"]:
    """Candidate position -> the vector the build made for its stretch, where there is one."""
    if span_vectors is None:
        return {}
    made, by_chunk = {}, {}
    for n, (i, (start, end, _)) in enumerate(found):
        cid = evidence[i].chunk_id
        if cid not in by_chunk:
            by_chunk[cid] = span_vectors(cid) or {}
        if (v := by_chunk[cid].get((start, end))) is not None:
            made[n] = v
    return made


def _passage_prior(e: Evidence, rank: int) -> float:
    return e.similarity if e.similarity is not None else 1 / (2 + rank)


def _overlaps(a, b) -> bool:
    """Two stretches of one passage that share words (a sentence and the pair it opens)."""
    (i, (start, end, _)), (j, (other_start, other_end, _)) = a, b
    return i == j and start < other_end and other_start < end


def _diverse(candidates, scores, vectors, evidence, k: int) -> list[int]:
    """Maximal marginal relevance: good and unlike the ones chosen, two per document at most."""
    chosen: list[int] = []
    per_doc: dict[str, int] = {}
    order = sorted(range(len(candidates)), key=lambda n: -scores[n])[:200]
    while len(chosen) < k:
        best, best_value = None, None
        for n in order:
            if n in chosen or per_doc.get(evidence[candidates[n][0]].doc_id, 0) >= PER_DOC \
                    or any(_overlaps(candidates[n], candidates[m]) for m in chosen):
                continue
            redundancy = max((float(vectors[n] @ vectors[m]) for m in chosen), default=0.0) \
                if vectors is not None else 0.0
            if redundancy > SAME_WORDS:
                continue  # the same sentence again (a tweet quoted in a README, a thread)
            value = DIVERSITY * scores[n] - (1 - DIVERSITY) * redundancy
            if best_value is None or value > best_value:
                best, best_value = n, value
        if best is None:
            break
        chosen.append(best)
        doc = evidence[candidates[best][0]].doc_id
        per_doc[doc] = per_doc.get(doc, 0) + 1
    return chosen
