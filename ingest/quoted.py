"""Text he quotes from someone else inside his own posts: a pasted email or message, a block
quote, a long quotation ("…" of ten words or more introduced by a colon or "says").

These spans stay in the document (they are what he posted) but are marked "quoted by him", so
that no quote taken from them is ever shown as his words.

    quoted_spans(text)   # [[start, end, "a message addressed to him"], ...]

Every pattern here is linear in the text (no nested quantifiers over the same characters).
"""
from __future__ import annotations

import re

from corpus.subject import current_subject

MIN_QUOTATION_WORDS = 10
_SEPARATOR = re.compile(r"^[ \t]*(?:-{3,}|\*{3,}|_{3,})[ \t]*$", re.M)
_BLOCK_LINE = re.compile(r"^[ \t]*>[^\n]*(?:\n|$)", re.M)
_QUOTATION = re.compile(r"\"([^\"\n]{20,}?)\"|“([^“”\n]{20,}?)”")  # no opener inside: linear
_INTRO = re.compile(r"(?:\b(?:says|said|writes|wrote|reads|put it|puts it|quote|prompt)\b"
                    r"[^\n.]{0,12}|:)\s*$", re.I)
_NAMED = re.compile(r"(@\w+|[A-Z][\w.-]+(?: [A-Z][\w.-]+)?)\W{0,3}"
                    r"(?:says|said|writes|wrote|put it|puts it)?\W*$")


def quoted_spans(text: str) -> list[list]:
    spans = _messages(text) + _block_quotes(text) + _quotations(text)
    return _merge(sorted(spans))


def _messages(text: str) -> list[list]:
    """A message to him pasted in: from a salutation naming him to the next separator line
    (`---`) or the end of the post."""
    names = [re.escape(n) for n in (current_subject().name, *current_subject().aliases) if n]
    if not names:
        return []
    salutation = re.compile(rf"^[ \t]*(?:hi|hello|hey|dear)[ \t]+(?:{'|'.join(names)})\b",
                            re.I | re.M)
    spans = []
    for m in salutation.finditer(text):
        if spans and m.start() < spans[-1][1]:
            continue
        end = next((s.start() for s in _SEPARATOR.finditer(text, m.end())), len(text))
        spans.append([m.start() + len(m.group(0)) - len(m.group(0).lstrip()), _rstrip(text, end),
                      "a message addressed to him"])
    return spans


def _block_quotes(text: str) -> list[list]:
    """Runs of `>` lines that quote someone: in quote marks, or introduced by a line that ends
    with a colon, says who wrote it, or links to a source. Other block quotes in his posts are
    his own pull quotes and summaries, and greentext ("> be me") is a joke format of one's own;
    `>>>` lines are a Python prompt."""
    spans, run = [], None
    for m in _BLOCK_LINE.finditer(text):
        if run and m.start() == run[1]:
            run[1] = m.end()
            continue
        if run:
            spans.append(run)
        run = [m.start(), m.end()]
    if run:
        spans.append(run)
    out = []
    for start, end in spans:
        block = text[start:end]
        if re.match(r"[ \t]*>\s*be me\b", block, re.I) or re.match(r"[ \t]*>>>", block):
            continue
        if not (re.match(r"[ \t]*>\s*[\"“]", block) or _introduces(text[:start])):
            continue
        out.append([start + len(block) - len(block.lstrip()), _rstrip(text, end),
                    "a block quote"])
    return out


def _introduces(before: str) -> bool:
    """Does the text just before a block quote say it is someone else's?"""
    last = before.rstrip().rsplit("\n", 1)[-1]
    tail = re.split(r"(?<=[.!?])\s+", last)[-1]
    return last.endswith(":") or bool(re.search(
        r"\]\(|https?://|\b(?:writes|wrote|says|said|quote[sd]?|from the|by [A-Z])", tail))


def _quotations(text: str) -> list[list]:
    out = []
    for m in _QUOTATION.finditer(text):
        inner = m.group(1) or m.group(2)
        if len(inner.split()) < MIN_QUOTATION_WORDS:
            continue  # a phrase in quote marks is his usage, not a quotation
        before = text[max(0, m.start() - 60):m.start()]
        line_start = before.rfind("\n") == len(before) - 1 or m.start() == 0
        if not (_INTRO.search(before) or line_start):
            continue
        named = _NAMED.search(before.rstrip(": \t"))
        source = named.group(1) if named and named.group(1).lower() not in ("prompt",) else None
        out.append([m.start(), m.end(), f"quoted from {source}" if source else "a quotation"])
    return out


def _merge(spans: list[list]) -> list[list]:
    out: list[list] = []
    for span in spans:
        if out and span[0] < out[-1][1]:
            out[-1][1] = max(out[-1][1], span[1])
        else:
            out.append(list(span))
    return out


def _rstrip(text: str, end: int) -> int:
    while end > 0 and text[end - 1].isspace():
        end -= 1
    return end


def inside(spans, start: int, end: int) -> list | None:
    """The quoted span that overlaps [start, end), if any."""
    return next((s for s in spans or () if s[0] < end and start < s[1]), None)
