"""His words on the question, whole: the sentences of the best passages that answer it.

    quotes = choose_quotes(question, evidence, scorer, k=5)
    quotes[0].text, quotes[0].evidence_index    # "The first step … inspecting your data." 3

Candidates come from passages of his own words only, never from what he quotes from others,
code, file trees or shell lines:
- in punctuated text, whole sentences (a short one that opens with "This", "It", "So"… gets
  the sentence before it as its lead-in, so it reads on its own);
- in captions without punctuation, spans of caption segments (or, without segment marks, of
  words cut at a pause word such as "so", "and", "um") around the words that match best.

Each candidate is scored by meaning against the question (the local embedder) and by the
question's content words; the best are chosen with diversity (maximal marginal relevance, at
most two from one document). A sentence longer than MAX_WORDS keeps its best stretch of
clauses, with an ellipsis where it was cut: the verifier checks each piece in order.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from corpus.textnorm import content_stems, fenced_blocks, is_punctuated, trim_span
from simulator.evidence import Evidence

MAX_WORDS = 45
PAIR_WORDS = 40  # two sentences quoted together at most this long
MIN_WORDS = 6
CAPTION_WORDS = (18, 40)  # a caption quote's length in words
# Candidates scored by meaning (each ~8 ms here; 24 gave one more answer, p95 +150 ms).
EMBEDDED = 20
MEANING, WORDS = 0.85, 0.15  # the blend of the two scores (0.75/0.25: 2 answers fewer of 58)
DIVERSITY = 0.7  # MMR: relevance vs. novelty against the quotes already chosen
PER_DOC = 2  # quotes from one document at most (3 did not help on the bench)
SAME_WORDS = 0.95  # quotes this close in meaning say the same thing: one is shown
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)\]]*\s+|\n\s*\n|\n(?=\s*[-*•]\s)")
_LEANS_BACK = re.compile(r"^(?:this|that|these|those|it|they|so|but|and|which|then|here)\b", re.I)
_NOT_PROSE = re.compile(r"[├└│─]|^\s*[$>#|]|\w+\.\w+\(|[{};]\s*$|`|https?://|\w+_\w+\(|"
                        r"\]\(|\*\*|\b[\w-]+\.(?:com|net|org|io|ai|dev|co)/")
_PAUSE = {"so", "and", "um", "uh", "okay", "ok", "now", "but", "because", "basically"}
_CLAUSE = re.compile(r"(?<=[,;:—–])\s+")
_ASKS_NUMBER = re.compile(r"\b(?:how (?:many|much|long|short|big|fast|large|small|often)|"
                          r"what (?:accuracy|percentage|share|fraction|rate|error|size|number)|"
                          r"roughly how)\b", re.I)
NUMBER_BONUS = 0.08
CAPTION_DISCOUNT = 0.6
QUESTION_DISCOUNT = 0.5  # a sentence that asks restates the question (bench: +1 answering)
_INCOMPLETE = re.compile(r"(?::|\b\d+[.)]|\b(?:e\.g|i\.e)\.?|,)$")


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
                 question_vector=None):
        self.evidence, self.embed = evidence, embed
        self.wanted = content_stems(question)
        found = [(i, c) for i, e in enumerate(evidence) if e.his_words
                 for c in candidate_spans(e)]
        # Scoring by meaning costs an embedding each: keep the likeliest EMBEDDED, by shared
        # words and by how close their passage is to the question.
        prior = [_overlap(self.wanted, text) + 0.5 * _passage_prior(evidence[i], i)
                 for i, (_, _, text) in found]
        keep = sorted(sorted(range(len(found)), key=lambda n: -prior[n])[:EMBEDDED])
        self.candidates = [found[n] for n in keep]
        lexical = [_overlap(self.wanted, text) for _, (_, _, text) in self.candidates]
        self.vectors = None
        if embed is not None and self.candidates:
            self.vectors = _embed_by_sentence(embed, [text for _, (_, _, text) in self.candidates])
            q = question_vector if question_vector is not None else embed([question])[0]
            self.meaning = self.vectors @ q
            self.scores = [MEANING * float(m) + WORDS * w
                           for m, w in zip(self.meaning, lexical)]
        else:
            self.meaning = None
            self.scores = lexical
        numeric = bool(_ASKS_NUMBER.search(question))
        for n, (i, (_, _, text)) in enumerate(self.candidates):
            if numeric and re.search(r"\d", text):
                self.scores[n] += NUMBER_BONUS  # "how many hours?" is answered by a number
            if not _sentenced(evidence[i].text):
                self.scores[n] *= CAPTION_DISCOUNT  # unpunctuated captions read worst
            if text.rstrip("\"”’) ").endswith("?"):
                self.scores[n] *= QUESTION_DISCOUNT  # a question restates, it does not answer

    def best(self, k: int) -> list[Quote]:
        return [self.quote(n) for n in _diverse(self.candidates, self.scores, self.vectors,
                                                self.evidence, k)]

    def best_for(self, vector, minimum: float, exclude: set[int] = frozenset()) -> Quote | None:
        """The candidate closest to `vector` (a protocol step) that also bears on the question,
        if it reaches `minimum`; by meaning only (None without an embedder)."""
        if self.vectors is None or not self.candidates:
            return None
        fit = (self.vectors @ vector + self.meaning) / 2
        ranked = [n for n in sorted(range(len(fit)), key=lambda n: -fit[n]) if n not in exclude]
        return self.quote(ranked[0]) if ranked and fit[ranked[0]] >= minimum else None

    def quote(self, n: int) -> Quote:
        i, (start, _, text) = self.candidates[n]
        quote, whole = shorten(text, self.wanted)
        return Quote(text=quote, evidence_index=i, score=round(self.scores[n], 4), start=start,
                     whole=whole, candidate=n)


def candidate_spans(e: Evidence) -> list[tuple[int, int, str]]:
    """(start, end, quote text) of each quotable stretch of a passage of his."""
    text = e.text
    blocked = [(s, t) for s, t, _ in e.quoted] + fenced_blocks(text)
    if not _sentenced(text):
        spans = caption_spans(text)
    else:
        spans = []
        sentences = sentence_spans(text)
        for n, (start, end) in enumerate(sentences):
            if text[start:start + 1].islower():
                continue  # the tail of a sentence begun before this passage
            if len(text[start:end].split()) > 2 * MAX_WORDS:  # a caption run without stops
                spans += [(start + s, start + e) for s, e in caption_spans(text[start:end])]
                continue
            spans.append((start, end))
            # with the sentence after it: a point and its reason often come as a pair
            if n + 1 < len(sentences) and len(text[start:sentences[n + 1][1]].split()) <= \
                    PAIR_WORDS and "\n\n" not in text[end:sentences[n + 1][0]]:
                spans.append((start, sentences[n + 1][1]))
    out, seen = [], set()
    for start, end in spans:
        if any(s < end and start < t for s, t in blocked):
            continue
        # One line (the verifier compares whitespace-blind), emphasis marks dropped.
        quote = " ".join(re.sub(r"\*\*|__", "", text[start:end]).split())
        if quote in seen or _INCOMPLETE.search(quote) or quote.count("(") != quote.count(")"):
            continue  # a lead into a list ("…as follows:"), or half of a parenthesis
        seen.add(quote)
        words = quote.split()
        if len(words) < MIN_WORDS or _NOT_PROSE.search(quote) or re.search(r"[“”]", quote):
            continue  # (curly quote marks inside would end the quote it is shown in)
        out.append((start, end, quote))
    return out


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Whole sentences; a short one that leans on the sentence before gets it as a lead-in."""
    raw, pos = [], 0
    for m in _SENTENCE_END.finditer(text):
        raw.append(trim_span(text, pos, m.start() + len(m.group(0).rstrip())))
        pos = m.end()
    raw.append(trim_span(text, pos, len(text)))
    raw = _join_abbreviations(text, [r for r in raw if r[1] > r[0]])
    out = []
    for n, (start, end) in enumerate(raw):
        sentence = text[start:end].lstrip("-*•#> ")
        start = end - len(sentence)
        if n and _LEANS_BACK.match(sentence) and len(sentence.split()) < 14 and \
                len(text[raw[n - 1][0]:end].split()) <= MAX_WORDS and \
                "\n\n" not in text[raw[n - 1][1]:start]:  # never across a paragraph
            start = raw[n - 1][0]
        out.append((start, end))
    return out


_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|cf|approx|fig|eq|mr|ms|dr|no|vol|"
                           r"ca|al)|\b[A-Z])\.$", re.I)


def _join_abbreviations(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """"e.g." and "i.e." do not end a sentence: a piece ending in one joins the next."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if out and _ABBREVIATION.search(text[out[-1][0]:out[-1][1]]) and \
                "\n\n" not in text[out[-1][1]:start]:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def caption_spans(text: str) -> list[tuple[int, int]]:
    """Windows of an unpunctuated caption passage, cut before a pause word, never mid-word."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    cuts = [i for i, (s, e) in enumerate(words) if i == 0 or text[s:e].lower() in _PAUSE]
    low, high = CAPTION_WORDS
    out = []
    for a in cuts:
        ends = [b for b in cuts if low <= b - a <= high] or [min(a + high, len(words))]
        b = ends[-1] if len(ends) == 1 else ends[len(ends) // 2]
        b = min(b, len(words))
        if b - a >= low or b == len(words):
            out.append((words[a][0], words[b - 1][1]))
    return out


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
            score = _overlap(wanted, piece) + n / 1000
            if n >= MIN_WORDS and score > best_score:
                best, best_score = (a, b, piece), score
    if best is None:  # no clause breaks to cut at: its first MAX_WORDS words
        return " ".join(words[:MAX_WORDS]) + " …", False
    a, b, piece = best
    piece = piece.rstrip(",;:—– ")
    return ("… " if a else "") + piece + (" …" if b < len(clauses) else ""), False


def _sentenced(text: str) -> bool:
    """Quoted by its sentences: punctuated, or too short to tell (a tweet)."""
    return len(text.split()) < 25 or is_punctuated(text)


def _overlap(wanted: set[str], text: str) -> float:
    return len(wanted & content_stems(text)) / len(wanted) if wanted else 0.0


def _embed_by_sentence(embed, texts: list[str]):
    """One vector per text, embedding each distinct sentence once: a two-sentence candidate
    gets the normalised, length-weighted sum of its sentences' vectors (mean pooling makes
    that a close stand-in for embedding the pair, at half the cost)."""
    import numpy as np

    pieces = [[p for p in re.split(r"(?<=[.!?])\s+", t) if p.strip()] or [t] for t in texts]
    unique = list(dict.fromkeys(p for ps in pieces for p in ps))
    vectors = dict(zip(unique, embed(unique)))
    out = []
    for ps in pieces:
        v = sum(vectors[p] * len(p.split()) for p in ps)
        out.append(v / (np.linalg.norm(v) or 1.0))
    return np.asarray(out)


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
