"""Checking an answer's citations against the evidence it was given, and against who said it.

    citations = verify_citations(answer_text, evidence, scorer)
    summary_line(citations)   # "4 quotes verified in his words · 6 claims cited (5 supported,
                              #  1 weak) · 1 problem"

Per sentence: markers like [S2] or [S1, S3] are mapped to the evidence list; a quoted span
("…" or “…”, three words or more) belongs to the marker right after it (else to the sentence's
markers). Each citation gets one status:
- quote-verified: the quoted words are in the cited source verbatim (whitespace and quote
  marks normalised; pieces joined by an ellipsis are each found, in order) and the source is
  his words, outside anything he quotes from others;
- quote-not-his: the words are there, but they are a host's, a retweet's, an unknown author's,
  or text he quoted from someone else (the problem names which);
- quote-not-found: the words are not in the cited source (and, when they are in another one,
  which);
- claim-supported / claim-weak: a cited sentence without a quote; its support is the score
  between the sentence and the passage (`simulator.support`), above or below the calibrated
  line;
- reference: a line of a Sources list ("[S3] Title, date, link"): not a citation, not counted;
- unknown-source, uncited-quote, uncited-claim: a marker with no source, a quote with no
  marker, a claim about what he said ("He has always said…", "Karpathy's view is…") with no
  marker, unless it is labelled as an extrapolation.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import asdict, dataclass
from typing import Sequence

from corpus.model import UNKNOWN_AUTHOR
from corpus.textnorm import normalize, normalized_with_offsets
from simulator.evidence import Evidence
from simulator.support import LexicalSupport

_MARKER = re.compile(r"\[(S\d+(?:\s*,\s*S?\d+)*)\]")
_QUOTE = re.compile(r"\"([^\"]{3,}?)\"|“([^“”]{3,}?)”")  # no opener inside: linear
_ELLIPSIS = re.compile(r"\s*(?:…|\.\.\.|\[…\]|\[\.\.\.\])\s*")
# Sentence ends, blank lines, and line breaks before a list item or a reference entry; a single
# line break inside a sentence (or a quote) does not split it.
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“*\[-])|\n\s*\n|\n(?=\s*(?:[-*] |\d+\. |\[S\d|#))")
_WHO = r"(?:he|karpathy|andrej|andrej karpathy)"
_ATTRIBUTION = re.compile(
    rf"\b{_WHO}(?:'s)?\s+(?:has\s+(?:always\s+|often\s+|long\s+)?|had\s+|would\s+|"
    r"always\s+|often\s+|once\s+|repeatedly\s+)?(said|says|say|wrote|writes|argues|argued|"
    r"thinks|thought|believes|believed|claims|claimed|calls|called|describes|described|"
    r"put it|puts it|tweeted|notes|noted|points out|pointed out|insists|insisted|maintains|"
    r"maintained|holds|held|stressed|stresses|emphasi[sz]es|emphasi[sz]ed|warns|warned|"
    r"suggests|suggested|predicts|predicted|recommends|recommended|advises|advised)\b|"
    rf"\b{_WHO}'s\s+(?:view|position|take|stance|opinion|argument|belief|point)\b|"
    r"\baccording to (?:him|karpathy|andrej)\b|\bin his (?:words|view|opinion)\b|"
    r"\bas he (?:puts|put|says|said) it\b", re.I)
_HEADING = re.compile(r"^(#+ .*|\*\*[^*]+\*\*:?)$")  # a heading is not a claim
_EXTRAPOLATION = re.compile(r"extrapolat|his framework suggests|would likely|i infer", re.I)
OK_STATUSES = ("quote-verified", "claim-supported", "claim-weak", "reference")


@dataclass(frozen=True)
class Citation:
    marker: str | None  # "S2"; None for a problem with no marker (an uncited quote or claim)
    chunk_id: str | None
    doc_id: str | None
    url: str | None
    quote: str | None
    verified: bool  # a quote verified in his words
    problem: str | None
    status: str = "quote-verified"
    speaker: str | None = None  # who says the cited passage
    his_words: bool = False
    support: float | None = None  # claims: how well the passage supports the sentence
    claim: str | None = None  # claims: the sentence that cites

    def as_row(self) -> dict:
        return asdict(self)


def verify_citations(answer: str, evidence: Sequence[Evidence], scorer=None) -> list[Citation]:
    """Every citation of the answer, checked. `scorer(claim, passage) -> float` scores the
    support of cited claims (default: shared content words)."""
    scorer = scorer or LexicalSupport()
    citations: list[Citation] = []
    carry_extrapolation = False
    for sentence in (s.strip() for s in split_sentences(answer)):
        if not sentence:
            continue
        if sentence.lower().startswith(("extrapolating", "**extrapolating")):
            carry_extrapolation = True  # a labelled section runs to the next heading
        elif sentence.startswith("#") or sentence.startswith("**"):
            carry_extrapolation = False
        citations += _sentence(sentence, evidence, carry_extrapolation, scorer)
    return citations


def split_sentences(text: str) -> list[str]:
    """The answer's sentences; a sentence end inside a quotation does not end the sentence
    (a quote may hold two sentences of his)."""
    inside = [(m.start(), m.end()) for m in re.finditer(r"“[^“”\n]*”|\"[^\"\n]*\"", text)]
    starts = [a for a, _ in inside]
    out, pos = [], 0
    for m in _SENTENCE.finditer(text):
        n = bisect.bisect_left(starts, m.start()) - 1  # the last quotation opened before it
        if n >= 0 and inside[n][0] < m.start() < inside[n][1]:
            continue
        out.append(text[pos:m.start()])
        pos = m.end()
    out.append(text[pos:])
    return out


def summary_line(citations: Sequence[Citation]) -> str:
    """What the citations came to, in words a user can trust: references are not counted."""
    count = {s: sum(c.status == s for c in citations) for s in
             ("quote-verified", "claim-supported", "claim-weak")}
    problems = sum(c.status not in OK_STATUSES for c in citations)
    claims = count["claim-supported"] + count["claim-weak"]
    parts = [f"{count['quote-verified']} quote{'s' * (count['quote-verified'] != 1)} "
             "verified in his words"]
    if claims:
        parts.append(f"{claims} claim{'s' * (claims != 1)} cited ({count['claim-supported']} "
                     f"supported, {count['claim-weak']} weak)")
    parts.append(f"{problems} problem{'s' * (problems != 1)}" if problems else "no problems")
    return " · ".join(parts)


def _sentence(sentence: str, evidence: Sequence[Evidence], extrapolating: bool,
              scorer) -> list[Citation]:
    if entry := _MARKER.match(sentence):
        # "[S3] Title (kind, date) url": a reference entry; a title's quote marks are not quotes
        return [_reference(n, evidence) for n in _numbers(entry.group(1))]
    markers = [(m.start(), _numbers(m.group(1))) for m in _MARKER.finditer(sentence)]
    quotes = [(m.end(), m.group(1) or m.group(2)) for m in _QUOTE.finditer(sentence)]
    quotes = [(end, q) for end, q in quotes if len(q.split()) >= 3]
    out: list[Citation] = []
    quoted_markers: set[int] = set()
    for end, quote in quotes:
        following = [i for i, (pos, _) in enumerate(markers) if pos >= end]
        owner = following[0] if following else (len(markers) - 1 if markers else None)
        if owner is None:
            where = _found_in(quote, evidence)
            out.append(Citation(None, None, None, None, quote, False,
                                "quote without a citation"
                                + (f" (its words are in S{where})" if where else ""),
                                status="uncited-quote"))
            continue
        quoted_markers.add(owner)
        out += [_check_quote(n, quote, evidence) for n in markers[owner][1]]
    for i, (_, numbers) in enumerate(markers):
        if i not in quoted_markers:
            out += [_check_claim(n, sentence, evidence, scorer) for n in numbers]
    if not markers and not quotes and _ATTRIBUTION.search(sentence) and not extrapolating \
            and not _EXTRAPOLATION.search(sentence) and not _HEADING.match(sentence):
        out.append(Citation(None, None, None, None, None, False,
                            f"claim about what he said without a citation: {sentence[:120]!r}",
                            status="uncited-claim", claim=sentence))
    return out


def _base(n: int, e: Evidence, quote: str | None) -> dict:
    return dict(marker=f"S{n}", chunk_id=e.chunk_id, doc_id=e.doc_id, url=e.url, quote=quote,
                speaker=e.speaker, his_words=e.his_words)


def _unknown(n: int, quote: str | None) -> Citation:
    return Citation(f"S{n}", None, None, None, quote, False, f"unknown source S{n}",
                    status="unknown-source")


def _reference(n: int, evidence: Sequence[Evidence]) -> Citation:
    if not 1 <= n <= len(evidence):
        return _unknown(n, None)
    return Citation(**_base(n, evidence[n - 1], None), verified=False, problem=None,
                    status="reference")


def _check_quote(n: int, quote: str, evidence: Sequence[Evidence]) -> Citation:
    if not 1 <= n <= len(evidence):
        return _unknown(n, quote)
    e = evidence[n - 1]
    span = find_quote(e.text, quote)
    if span is None:
        where = _found_in(quote, evidence)
        problem = (f"quote is in S{where}, not S{n}" if where else
                   f"quote not found verbatim in S{n}")
        return Citation(**_base(n, e, quote), verified=False, problem=problem,
                        status="quote-not-found")
    not_his = not_his_words(e, span)
    if not_his:
        return Citation(**_base(n, e, quote), verified=False, problem=not_his,
                        status="quote-not-his")
    return Citation(**_base(n, e, quote), verified=True, problem=None, status="quote-verified")


def _check_claim(n: int, sentence: str, evidence: Sequence[Evidence], scorer) -> Citation:
    if not 1 <= n <= len(evidence):
        return _unknown(n, None)
    e = evidence[n - 1]
    score = scorer(sentence, e.text)
    threshold = getattr(scorer, "threshold", 0.5)
    return Citation(**_base(n, e, None), verified=False, problem=None,
                    status="claim-supported" if score >= threshold else "claim-weak",
                    support=score, claim=_MARKER.sub("", sentence).strip())


def not_his_words(e: Evidence, span: tuple[int, int]) -> str | None:
    """Why the words at `span` of the passage are not his, or None when they are."""
    if not e.his_words:
        if e.retweet_of is not None:
            return (f"the words are a retweet of {e.retweet_of}, not his"
                    if e.retweet_of != UNKNOWN_AUTHOR else
                    "the words are a retweet (original author unknown), not his")
        if e.badge.endswith(", host"):
            return f"the words are {e.speaker}'s (the host), not his"
        if e.badge == "speaker unidentified":
            return "the speaker of these words is not identified, so they are not known to be his"
        if e.badge == "author unknown":
            return "the author of this source is unknown, so the words are not known to be his"
        return f"the words are {e.speaker or e.author}'s, not his"
    for start, end, source in e.quoted:
        if start < span[1] and span[0] < end:
            return f"the words are quoted by him ({source}), not his own"
    return None


MARKUP = "*`"  # Markdown emphasis and code marks: a quote of a Markdown source may leave them out


def find_quote(text: str, quote: str) -> tuple[int, int] | None:
    """[start, end) of a quote in `text`, compared normalised (whitespace, quote marks, and
    Markdown emphasis marks aside); pieces joined by an ellipsis must each be found, in
    order."""
    return _find(text, quote, "") or _find(text, quote, MARKUP)


def _find(text: str, quote: str, drop: str) -> tuple[int, int] | None:
    quote = quote.translate({ord(c): None for c in drop})  # both sides without the marks
    pieces = [p.strip(" .,;:…") for p in _ELLIPSIS.split(normalize(quote))]
    pieces = [p for p in pieces if p]
    if not pieces:
        return None
    hay, where = normalized_with_offsets(text, drop)
    pos, first, last = 0, None, None
    for piece in pieces:
        at = hay.find(piece, pos)
        if at < 0:
            at = hay.find(piece[0].swapcase() + piece[1:], pos)  # a quote opening a sentence
        if at < 0:
            return None
        first = at if first is None else first
        last, pos = at + len(piece), at + len(piece)
    return where[first], where[last - 1] + 1


def _found_in(quote: str, evidence: Sequence[Evidence]) -> int | None:
    return next((i for i, e in enumerate(evidence, 1) if find_quote(e.text, quote)), None)


def _numbers(group: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", group)]
