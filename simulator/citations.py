"""Checking an answer's citations against the evidence it was given.

    citations = verify_citations(answer_text, evidence)

Per sentence: markers like [S2] or [S1, S3] are mapped to the evidence list; a quoted span
("…" or “…”, three words or more) belongs to the marker right after it (else to the sentence's
markers). A quote is verified when its words appear verbatim in the cited source (whitespace and
quote marks normalised). Problems reported:
- an unknown marker (no such source);
- a quote that is not in the cited source (and, when it is in another one, which);
- a quote with no marker at all;
- a claim about what he said, wrote or thinks with no marker, unless it is labelled as an
  extrapolation.
A line that starts with a marker ("[S3] Title, date, link") is a reference entry: only its
marker is checked.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Sequence

from corpus.textnorm import normalize
from simulator.evidence import Evidence

_MARKER = re.compile(r"\[(S\d+(?:\s*,\s*S?\d+)*)\]")
_QUOTE = re.compile(r"\"([^\"]{3,}?)\"|“([^”]{3,}?)”")
# Sentence ends, blank lines, and line breaks before a list item or a reference entry; a single
# line break inside a sentence (or a quote) does not split it.
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“*\[-])|\n\s*\n|\n(?=\s*(?:[-*] |\d+\. |\[S\d|#))")
_ATTRIBUTION = re.compile(
    r"\b(he|karpathy|andrej)(?:'s)?\s+(?:has\s+)?(said|says|wrote|writes|argues|argued|thinks|"
    r"thought|believes|believed|claims|claimed|calls|called|describes|described|put it|"
    r"tweeted|notes|noted|points out|pointed out)\b|\baccording to (him|karpathy)\b|"
    r"\bin his words\b", re.I)
_HEADING = re.compile(r"^(#+ .*|\*\*[^*]+\*\*:?)$")  # a heading is not a claim
_EXTRAPOLATION = re.compile(r"extrapolat|his framework suggests|would likely|i infer", re.I)


@dataclass(frozen=True)
class Citation:
    marker: str | None  # "S2"; None for a problem with no marker (an uncited quote or claim)
    chunk_id: str | None
    doc_id: str | None
    url: str | None
    quote: str | None
    verified: bool
    problem: str | None

    def as_row(self) -> dict:
        return asdict(self)


def verify_citations(answer: str, evidence: Sequence[Evidence]) -> list[Citation]:
    citations: list[Citation] = []
    carry_extrapolation = False
    for sentence in (s.strip() for s in _SENTENCE.split(answer)):
        if not sentence:
            continue
        if sentence.lower().startswith(("extrapolating", "**extrapolating")):
            carry_extrapolation = True  # a labelled section runs to the next heading
        elif sentence.startswith("#") or sentence.startswith("**"):
            carry_extrapolation = False
        citations += _sentence(sentence, evidence, carry_extrapolation)
    return citations


def _sentence(sentence: str, evidence: Sequence[Evidence], extrapolating: bool) -> list[Citation]:
    if entry := _MARKER.match(sentence):
        # "[S3] Title (kind, date) url": a reference entry; a title's quote marks are not quotes
        return [_check(n, None, evidence) for n in _numbers(entry.group(1))]
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
                                + (f" (its words are in S{where})" if where else "")))
            continue
        quoted_markers.add(owner)
        out += [_check(n, quote, evidence) for n in markers[owner][1]]
    for i, (_, numbers) in enumerate(markers):
        if i not in quoted_markers:
            out += [_check(n, None, evidence) for n in numbers]
    if not markers and not quotes and _ATTRIBUTION.search(sentence) and not extrapolating \
            and not _EXTRAPOLATION.search(sentence) and not _HEADING.match(sentence):
        out.append(Citation(None, None, None, None, None, False,
                            f"claim about what he said without a citation: {sentence[:120]!r}"))
    return out


def _check(n: int, quote: str | None, evidence: Sequence[Evidence]) -> Citation:
    if not 1 <= n <= len(evidence):
        return Citation(f"S{n}", None, None, None, quote, False, f"unknown source S{n}")
    e = evidence[n - 1]
    base = dict(marker=f"S{n}", chunk_id=e.chunk_id, doc_id=e.doc_id, url=e.url, quote=quote)
    if quote is None or _contains(e.text, quote):
        return Citation(**base, verified=True, problem=None)
    where = _found_in(quote, evidence)
    problem = (f"quote is in S{where}, not S{n}" if where else
               f"quote not found verbatim in S{n}")
    return Citation(**base, verified=False, problem=problem)


def _contains(text: str, quote: str) -> bool:
    """Verbatim after normalising whitespace and quote marks; trailing punctuation inside the
    quotes and the case of the first letter (a quote opening a sentence) are forgiven."""
    needle = normalize(quote).strip(" .,;:…")
    if not needle:
        return False
    hay = normalize(text)
    return needle in hay or (needle[0].swapcase() + needle[1:]) in hay


def _found_in(quote: str, evidence: Sequence[Evidence]) -> int | None:
    return next((i for i, e in enumerate(evidence, 1) if _contains(e.text, quote)), None)


def _numbers(group: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", group)]
