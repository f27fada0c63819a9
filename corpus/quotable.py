"""What of a passage of his can be quoted, and where: the stretches the framework reading picks
its quotes from, and the build gives a vector each (`graph.vector_index`).

    quotable_spans(text, quoted)   # [(start, end, "The sentence, on one line."), ...]

- In punctuated text, whole sentences, and each with the sentence after it when the two are
  short (a point and its reason often come as a pair). A short sentence that opens with "This",
  "It", "So"… gets the sentence before it as its lead-in, so it reads on its own.
- In captions without punctuation, windows of words cut before a pause word ("so", "and",
  "um"…), never mid-word.
- A sentence that goes on into a link in an aside ("…if you make the domain narrow enough
  (ref: [paper](https://…))") is quoted up to the aside, with "…" where it was cut. A link
  that is what the sentence says ("the best place to start is [here](…)") is not cut off: the
  sentence is left out, as before.
- Never: what he quotes from others, code, file trees, shell lines, links, headings, the tail
  of a sentence begun before the passage, the lead into a list ("…as follows:").

RULES names this version of the rules: vectors kept for spans of another version are stale.
"""
from __future__ import annotations

import re

from corpus.textnorm import fenced_blocks, is_punctuated, trim_span

RULES = 3  # 2: sentences cut before a link in an aside; caption windows end at the end;
# 3: an ellipsis before a capital ends a sentence; enumerators "1)" are no parenthesis;
# Markdown headings are not sentences
MAX_WORDS = 45
PAIR_WORDS = 40  # two sentences quoted together at most this long
MIN_WORDS = 6
CAPTION_WORDS = (18, 40)  # a caption quote's length in words
# An ellipsis before a capital ends a sentence too: a scraped tweet's shortened link ends in
# one ("…status/188254… Basically my timelines…"), and the sentence after it is his point.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)\]]*\s+|(?<=…)\s+(?=[A-Z])|\n\s*\n|"
                           r"\n(?=\s*[-*•]\s)")
_ENUMERATOR = re.compile(r"(?<![\w(])(?:\d{1,2}|[a-zA-Z])\)")
_LEANS_BACK = re.compile(r"^(?:this|that|these|those|it|they|so|but|and|which|then|here)\b", re.I)
_NOT_PROSE = re.compile(r"[├└│─]|^\s*[$>#|]|\w+\.\w+\(|[{};]\s*$|`|https?://|\w+_\w+\(|"
                        r"\]\(|\*\*|\b[\w-]+\.(?:com|net|org|io|ai|dev|co)/")
_LINK = re.compile(r"\[[^\]\n]*\]\(|https?://|\b[\w-]+\.(?:com|net|org|io|ai|dev|co)/")
_PAUSE = {"so", "and", "um", "uh", "okay", "ok", "now", "but", "because", "basically"}
# A pause word right after one of these belongs to it ("from now", "right now", "and so"):
# no cut there.
_HOLDS_ON = {"from", "until", "till", "right", "just", "even", "by", "for", "and", "or", "so"}
_WORD = re.compile(r"\w")
_INCOMPLETE = re.compile(r"(?::|\b\d+[.)]|\b(?:e\.g|i\.e)\.?|,)$")


def quotable_spans(text: str, quoted=()) -> list[tuple[int, int, str]]:
    """(start, end, quote text) of each quotable stretch of a passage of his; `quoted`: the
    (start, end, source) spans he quotes from others, never quoted as his."""
    blocked = [(s, t) for s, t, _ in quoted] + fenced_blocks(text)
    if not is_sentenced(text):
        spans = caption_spans(text)
    else:
        spans = []
        sentences = sentence_spans(text)
        for n, (start, end) in enumerate(sentences):
            if text[start:start + 1].islower():
                continue  # the tail of a sentence begun before this passage
            if _heading(text, start, end):
                continue  # "### Brief taste of …": a title, not something he said
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
        end, cut = _before_link(text, start, end)
        # One line (the verifier compares whitespace-blind), emphasis marks dropped.
        quote = " ".join(re.sub(r"\*\*|__", "", text[start:end]).split()) + cut
        if quote in seen or _INCOMPLETE.search(quote) or _unbalanced(quote):
            continue  # a lead into a list ("…as follows:"), or half of a parenthesis
        seen.add(quote)
        words = quote.split()
        if len(words) < MIN_WORDS or _NOT_PROSE.search(quote) or re.search(r"[“”]", quote):
            continue  # (curly quote marks inside would end the quote it is shown in)
        out.append((start, end, quote))
    return out


def _heading(text: str, start: int, end: int | None = None) -> bool:
    """Does the sentence at `start` open a Markdown heading line ("## Why"), or a line that is
    bold from end to end without a full stop ("**Lecture 5: Becoming a Backprop Ninja**", a
    README's title for what follows)? Leaving such lines out removes stretches and changes
    no other, so the vectors kept for the rest stay good and RULES does not change for it."""
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start].strip()
    if before and set(before) == {"#"}:
        return True
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    if end is not None and end > line_end:
        return False  # "**Results:**" and the list after it: the label leads into what he found
    line = text[line_start:line_end].strip()
    return before in ("", line[:2]) and len(line) > 4 and line[:2] in ("**", "__") and \
        line[-2:] == line[:2] and line[:2] not in line[2:-2] and \
        not line[:-2].rstrip().endswith((".", "!", "?"))  # a bold sentence is still said


def _unbalanced(quote: str) -> bool:
    """Half of a parenthesis. A ")" closing nothing after "1" or "a" is an enumerator ("1) saw
    … while 2) there is"), not the end of an aside begun before the quote."""
    depth = 0
    for m in re.finditer(r"[()]", quote):
        if m.group() == "(":
            depth += 1
        elif depth:
            depth -= 1
        elif not _ENUMERATOR.match(quote, max(0, m.start() - 2)) and \
                not _ENUMERATOR.match(quote, max(0, m.start() - 1)):
            return True
    return depth != 0


def _before_link(text: str, start: int, end: int) -> tuple[int, str]:
    """(end, " …") of the prose before the first link in text[start:end], cut at a word
    and without a parenthesis left open; (end, "") when there is no link, or too little
    before it to stand as a quote."""
    link = _LINK.search(text, start, end)
    if link is None:
        return end, ""
    opened = text.rfind("(", start, link.start())
    if opened <= text.rfind(")", start, link.start()):
        # The link is what the sentence says ("the best place to start is [here](…)"):
        # cut before it, the quote would only tease.
        return end, ""
    cut = opened  # an aside: "…narrow enough (ref: [paper](…" ends before "(ref:"
    piece = text[start:cut].rstrip(" \t\n,;:—–-[")
    if len(piece.split()) < MIN_WORDS + 2:
        return end, ""
    return start + len(piece), " …"


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Whole sentences; a short one that leans on the sentence before gets it as a lead-in."""
    raw, pos = [], 0
    for m in _SENTENCE_END.finditer(text):
        raw.append(trim_span(text, pos, m.start() + len(m.group(0).rstrip())))
        pos = m.end()
    raw.append(trim_span(text, pos, len(text)))
    # A piece without a word (a stray " . " after a parenthesis) is no sentence, and would
    # otherwise open the pair quoted with the sentence after it.
    raw = _join_abbreviations(text, [r for r in raw if _WORD.search(text, r[0], r[1])])
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
    lower = [text[s:e].lower() for s, e in words]
    cuts = [i for i, w in enumerate(lower) if i == 0 or w in _PAUSE and
            lower[i - 1] not in _HOLDS_ON]
    low, high = CAPTION_WORDS
    out = []
    for a in cuts:
        if len(words) - a <= high:  # the rest fits: never leave its last words behind
            b = len(words)
        else:
            ends = [b for b in cuts if low <= b - a <= high] or [a + high]
            b = ends[-1] if len(ends) == 1 else ends[len(ends) // 2]
        if b - a >= low or b == len(words):
            out.append((words[a][0], words[b - 1][1]))
    return out


def is_sentenced(text: str) -> bool:
    """Quoted by its sentences: punctuated, or too short to tell (a tweet)."""
    return len(text.split()) < 25 or is_punctuated(text)


def chunk_quoted(spans, start: int, end: int | None) -> tuple[tuple[int, int, str], ...]:
    """The document's quoted spans that fall in this chunk, as offsets into the chunk."""
    if not spans:
        return ()
    end = end if end is not None else 1 << 60
    return tuple((max(s, start) - start, min(e, end) - start, str(src))
                 for s, e, src in spans if s < end and start < e)
