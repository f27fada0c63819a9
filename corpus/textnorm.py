"""Normalising text for verbatim comparison: a quote "appears in" a source when it does after
whitespace is collapsed and typographic quote marks and apostrophes are made plain. Used to check
framework quotes, evidence links and citations against the sources they name."""
from __future__ import annotations

import re

QUOTE_MARKS = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"',
                        "‘": "'", "’": "'", "‚": "'", "`": "'", "\u00a0": " "})


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text.translate(QUOTE_MARKS)).strip()


def normalized_with_offsets(text: str, drop: str = "") -> tuple[str, list[int]]:
    """`text` normalised (quote marks made plain, whitespace runs collapsed to one space, the
    characters in `drop` left out) and, for each normalised character, its offset in the
    original."""
    out, where, space = [], [], False
    for i, ch in enumerate(text.translate(QUOTE_MARKS)):
        if ch in drop:
            continue
        if ch.isspace():
            if not space and out:
                out.append(" ")
                where.append(i)
            space = True
        else:
            out.append(ch)
            where.append(i)
            space = False
    return "".join(out), where


def locate(text: str, quote: str, ignore_case: bool = True) -> tuple[int, int] | None:
    """[start, end) of the quote's words in `text`, compared normalised (captions may differ
    from a quote in case only)."""
    needle, _ = normalized_with_offsets(quote.strip())
    if not needle:
        return None
    hay, where = normalized_with_offsets(text)
    at = hay.find(needle)
    if at < 0 and ignore_case:
        at = hay.lower().find(needle.lower())
    return (where[at], where[at + len(needle) - 1] + 1) if at >= 0 else None


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) narrowed to leave out whitespace at either end."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def content_stems(text: str) -> set[str]:
    """The words that carry a text's content, as 6-letter stems (stop words and short words
    left out): for comparing a question, a claim or a sentence by what it is about."""
    from corpus.query import STOPWORDS

    return {w[:6] for w in re.findall(r"[a-z0-9]+", text.lower())
            if w not in STOPWORDS and len(w) > 2}


MIN_PUNCTUATION = 2.0  # sentence ends per 100 words below which a text is unpunctuated


def is_punctuated(text: str) -> bool:
    """Does the text end its sentences? Auto-captions do not."""
    words = len(text.split())
    ends = len(re.findall(r"[.?!](?:\s|$)", text))
    return words > 0 and ends * 100 / words >= MIN_PUNCTUATION


_FENCE_LINE = re.compile(r"^(```|~~~)", re.M)


def fenced_blocks(text: str) -> list[tuple[int, int]]:
    """[start, end) of each fenced code block: from a line opening with ``` or ~~~ to the next
    line that is the same fence alone; an unclosed fence is not a block."""
    blocks, pos = [], 0
    while m := _FENCE_LINE.search(text, pos):
        fence = m.group(1)
        close = re.compile(rf"^{re.escape(fence)}[ \t]*$", re.M).search(text, m.end())
        if close is None:
            break  # unclosed: every later opener would be unclosed too (same search)
        blocks.append((m.start(), close.end()))
        pos = close.end()
    return blocks


_SURROGATE = re.compile("[\ud800-\udfff]")


def well_formed(text: str) -> str:
    """The text with any lone surrogate (JSON can carry "\\ud800"; UTF-8 cannot store it)
    replaced by U+FFFD, so that hashing and storing it cannot fail."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text
