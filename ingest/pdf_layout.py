"""A PDF page's text in reading order: lines from positioned fragments, one or two columns,
running headers, footers and page numbers dropped, and words hyphenated at line ends joined.

    lines = page_lines(page).lines           # top to bottom (sideways text kept apart)
    running = running_lines(pages)           # headers/footers repeated on most pages
    numbered = numbered_edges(numbered_pages)  # running heads with the page's number
    text = page_text(reading_order(without_running(lines, running, numbered, n)))

pypdf reports each piece of text with its matrices (the visitor of `extract_text`), in the
order the content stream draws them. Papers are set in two columns, and a line's pieces are
drawn left to right, so: pieces at one baseline that follow each other become a line; a page
is two-column when many of its lines sit wholly in the left half and many wholly in the right
half; it is then read in horizontal bands: a line that spans the gutter (the title, the
abstract of a first page, a wide figure's caption) with nothing beside it is read where it
stands, and between such lines the left column is read before the right.

A piece's end comes from its font's widths (read by pypdf), or is estimated from its length
(half the font size a character) where the font has none: enough to tell a column line from
one that spans the gutter, and a word gap from the gutter between columns.
"""
from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass

CHAR_WIDTH = 0.5  # of the font size: the average width of a character of running text
EDGE_LINES = 2  # lines at the top and at the bottom of a page where headers and footers sit
_PAGE_NUMBER = re.compile(r"^\W*(?:page\s+)?(?:\d{1,4}|(?=[ivx])x{0,3}(?:ix|iv|v?i{0,3}))"
                          r"(?:\s*(?:of|/)\s*\d{1,4})?\W*$", re.I)  # 12, "Page 3 of 9", xiv
_DIGITS = re.compile(r"\d+")
_HYPHENATED = re.compile(r"([A-Za-z]+)[-\u2010\u00ad]$")
_ENDS_SENTENCE = re.compile(r"[.!?:]['\")\]]?$")


@dataclass
class Line:
    x0: float  # left edge, points from the page's left
    x1: float  # right edge (from the font's widths, or estimated)
    y: float  # baseline, points from the page's bottom
    size: float  # font size as drawn
    text: str

    @property
    def middle(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass(frozen=True)
class PageLines:
    lines: tuple[Line, ...]  # upright text, top to bottom
    rotated: str  # text drawn sideways (the arXiv stamp in a first page's margin)


def page_lines(page) -> PageLines:
    """The upright lines of a pypdf page (in drawing order grouped into lines), and its
    sideways text apart."""
    pieces: list[tuple[float, float, float, str, float]] = []
    rotated: list[str] = []
    widths = _Widths()

    def visit(text, cm, tm, font, size) -> None:
        if not text or not text.strip("\n"):
            return
        a, b, c, d, e, f = _times(tm, cm)
        if abs(b) > 1e-3 or abs(c) > 1e-3 or a <= 0:
            rotated.append(text)
            return
        scale = math.hypot(a, b) or 1.0
        size = (size or 10) * scale
        for k, part in enumerate(text.split("\n")):
            if part.strip():
                pieces.append((e, f - k * size * 1.2, size, part, widths.of(part, font, size)))

    page.extract_text(visitor_text=visit)
    return PageLines(tuple(sorted(_join_pieces(pieces), key=lambda ln: (-ln.y, ln.x0))),
                     " ".join(rotated))


class _Widths:
    """How wide a piece of text is drawn: from its font's widths (pypdf reads them), else
    estimated at CHAR_WIDTH of the font size a character."""

    def __init__(self):
        self._fonts: dict[int, object] = {}

    def of(self, text: str, font, size: float) -> float:
        metrics = self._font(font)
        if metrics is not None:
            try:
                return metrics.get_text_width(text) * size / 1000
            except Exception:  # noqa: BLE001 - a font pypdf half understands: estimate
                pass
        return len(text) * size * CHAR_WIDTH

    def _font(self, font):
        if font is None:
            return None
        if id(font) not in self._fonts:
            try:
                from pypdf.generic._font import Font  # (pypdf's own reading of /Widths)

                self._fonts[id(font)] = Font.from_font_resource(font)
            except Exception:  # noqa: BLE001 - no usable widths: estimate them
                self._fonts[id(font)] = None
        return self._fonts[id(font)]


def _times(tm, cm) -> tuple[float, ...]:
    """The text matrix times the current transformation matrix: where a piece lands."""
    a = tm[0] * cm[0] + tm[1] * cm[2]
    b = tm[0] * cm[1] + tm[1] * cm[3]
    c = tm[2] * cm[0] + tm[3] * cm[2]
    d = tm[2] * cm[1] + tm[3] * cm[3]
    e = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
    f = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
    return a, b, c, d, e, f


def _join_pieces(pieces) -> list[Line]:
    """Consecutive pieces on one baseline, each starting about where the last ended, make a
    line. A jump across a gap wider than one and a half font sizes starts a new one (the
    other column drawn at the same height); a line drawn in pieces is joined again within its
    column (_merged)."""
    lines: list[Line] = []
    for x, y, size, text, width in pieces:
        last = lines[-1] if lines else None
        if last and abs(y - last.y) <= 0.4 * max(size, last.size) and \
                last.x0 - 1 <= x <= last.x1 + 1.5 * size:
            joiner = "" if text[:1].isspace() or last.text[-1:].isspace() or \
                x <= last.x1 + 0.15 * size else " "
            last.text += joiner + text
            last.x1 = max(last.x1, x + width)
            last.size = max(last.size, size)
        else:
            lines.append(Line(x, x + width, y, size, text))
    for line in lines:
        line.text = " ".join(line.text.split())
    return [ln for ln in lines if ln.text]


# ---- running headers, footers, page numbers --------------------------------------------------
def edge_lines(lines: tuple[Line, ...]) -> list[Line]:
    """The lines where headers and footers sit: the first and last few of a page."""
    if len(lines) <= 2 * EDGE_LINES:
        return list(lines)
    return [*lines[:EDGE_LINES], *lines[-EDGE_LINES:]]


def running_key(line: Line) -> tuple[str, int]:
    """A header compared across pages: the same words (page numbers inside them count as the
    same) at about the same height."""
    return _DIGITS.sub("#", " ".join(line.text.lower().split())), round(line.y / 6)


def running_lines(pages: list[tuple[Line, ...]]) -> set[tuple[str, int]]:
    """Keys of the lines at a page's edge on at least half of the pages (and on two or more):
    a journal's running title, a conference's banner, "Page 3 of 12"."""
    if len(pages) < 2:
        return set()
    seen: dict[tuple[str, int], int] = {}
    for lines in pages:
        for key in {running_key(ln) for ln in edge_lines(lines)}:
            seen[key] = seen.get(key, 0) + 1
    needed = max(2, math.ceil(0.5 * len(pages)))
    return {key for key, n in seen.items() if n >= needed}


def numbered_edges(pages: list[tuple[int, tuple[Line, ...]]]) -> set[tuple[int, int]]:
    """(height, offset) of the lines that carry the page's own number: a book's running
    head ("Chapter 2: Parsing   17") changes its words from chapter to chapter, but sits at
    one height, numbered page n + offset, on most pages (offset: the pages before 1).
    `pages`: (page number, its lines)."""
    if len(pages) < 3:
        return set()
    seen: dict[tuple[int, int], int] = {}
    for n, lines in pages:
        for key in {(round(ln.y / 6), int(d) - n) for ln in edge_lines(lines)
                    for d in _DIGITS.findall(ln.text)[-1:] + _DIGITS.findall(ln.text)[:1]
                    if len(d) <= 4}:
            seen[key] = seen.get(key, 0) + 1
    return {key for key, count in seen.items() if count >= 0.5 * len(pages)}


def without_running(lines: tuple[Line, ...], running: set[tuple[str, int]],
                    numbered: set[tuple[int, int]] = frozenset(), n: int = 0) -> list[Line]:
    """The page's lines without its running headers and footers and bare page numbers (only
    at the page's edges: a number inside the text is text). `numbered`, `n`: the heights and
    offsets of running heads carrying the page number (numbered_edges), and this page's
    number."""
    edges = {id(ln) for ln in edge_lines(lines)}

    def carries_number(ln: Line) -> bool:
        digits = _DIGITS.findall(ln.text)
        return any((round(ln.y / 6), int(d) - n) in numbered
                   for d in digits[-1:] + digits[:1] if len(d) <= 4)

    return [ln for ln in lines if id(ln) not in edges or not (
        running_key(ln) in running or _PAGE_NUMBER.match(ln.text) or carries_number(ln))]


# ---- reading order ---------------------------------------------------------------------------
def columns(lines: list[Line]) -> int:
    """1 or 2: two when at least a sixth of the lines lie wholly left of the text's middle and
    as many wholly right of it."""
    if len(lines) < 4:
        return 1
    middle, gutter = _middle(lines)
    left = sum(ln.x1 < middle + gutter for ln in lines if ln.x0 < middle - gutter)
    right = sum(ln.x0 > middle - gutter for ln in lines)
    least = max(2, len(lines) / 6)
    return 2 if left >= least and right >= least else 1


def _middle(lines: list[Line]) -> tuple[float, float]:
    """The middle of the text block and half a gutter's tolerance around it."""
    x0, x1 = min(ln.x0 for ln in lines), max(ln.x1 for ln in lines)
    return (x0 + x1) / 2, 0.06 * (x1 - x0)


def reading_order(lines: list[Line]) -> list[Line]:
    """The lines as a reader takes them: top to bottom, and on a two-column page each band of
    columns left column first."""
    lines = sorted(lines, key=lambda ln: (-ln.y, ln.x0))
    if columns(lines) == 1:
        return _merged(lines)
    middle, gutter = _middle(lines)
    right = [ln for ln in lines if ln.x0 > middle - gutter]

    def spans(ln: Line) -> bool:  # across the gutter, with no column line beside it
        return ln.x0 < middle - gutter and ln.x1 > middle + gutter and not any(
            abs(r.y - ln.y) < 0.6 * ln.size for r in right)

    out: list[Line] = []
    band: list[Line] = []
    for ln in lines:
        if spans(ln):
            out += _band(band, middle) + [ln]
            band = []
        else:
            band.append(ln)
    return out + _band(band, middle)


def _band(lines: list[Line], middle: float) -> list[Line]:
    left = [ln for ln in lines if ln.middle < middle]
    right = [ln for ln in lines if ln.middle >= middle]
    return _merged(left) + _merged(right)


def _merged(lines: list[Line]) -> list[Line]:
    """Lines of one column on the same baseline joined (a line drawn in pieces)."""
    out: list[Line] = []
    for ln in sorted(lines, key=lambda ln: (-ln.y, ln.x0)):
        last = out[-1] if out else None
        if last and abs(last.y - ln.y) <= 0.4 * max(ln.size, last.size) and \
                ln.x0 - last.x1 < 1.5 * ln.size:
            out[-1] = Line(last.x0, max(last.x1, ln.x1), last.y, max(last.size, ln.size),
                           f"{last.text} {ln.text}")
        else:
            out.append(ln)
    return out


# ---- text ------------------------------------------------------------------------------------
def page_text(lines: list[Line]) -> str:
    """Lines in reading order as paragraphs: a blank line where the gap between lines is
    clearly wider than the page's usual line spacing, or where an indented line follows the
    end of a sentence; words hyphenated at a line's end joined again."""
    if not lines:
        return ""
    gaps = [a.y - b.y for a, b in zip(lines, lines[1:]) if a.y - b.y > 0.5 * a.size]
    spacing = statistics.median(gaps) if gaps else lines[0].size * 1.2
    usual = statistics.median(len(ln.text) for ln in lines)
    paragraphs = [lines[0].text]
    for a, b in zip(lines, lines[1:]):
        gap = a.y - b.y
        ends = _ENDS_SENTENCE.search(a.text) or len(a.text) < 0.6 * usual  # (or a heading)
        new_paragraph = gap > 1.6 * spacing or abs(a.size - b.size) > 0.5 or (
            ends and gap > 0 and _indented(b, lines))
        if new_paragraph:
            paragraphs.append(b.text)
        else:
            paragraphs[-1] = join_lines(paragraphs[-1], b.text)
    return "\n\n".join(paragraphs)


def _indented(line: Line, lines: list[Line]) -> bool:
    """Whether other lines start a little (one to four characters' widths) left of this one:
    a paragraph's first line. The first line of the next column is not indented."""
    return any(0.8 * line.size < line.x0 - ln.x0 < 4 * line.size for ln in lines)


BREAK = "\ue000"  # where a line ended in a hyphen that may be a word's own: see pdf_words.py


def join_lines(text: str, following: str) -> str:
    """`text` continued by the next line. "rep-" + "resentation" is one word, but "long-" +
    "range" is a compound: which one only the document's other words can tell, so the break
    is marked (BREAK) for ingest/pdf_words.py to decide. A compound broken at one of its own
    hyphens keeps it ("state-of-the-" + "art", "state-" + "of-the-art"); before a capital or a
    digit the hyphen stays ("GPT-" + "4"); a soft hyphen always goes."""
    if text.endswith("\u00ad"):
        return text[:-1] + following
    m = _HYPHENATED.search(text, max(0, len(text) - 100))  # (the end only: a paragraph grows)
    if m and following[:1].islower():
        word = text[text.rfind(" ", 0, m.start()) + 1:m.end() - 1]
        if "-" in word or "\u2010" in word or "-" in following.split(" ", 1)[0]:
            return text + following
        return text[:-1] + BREAK + following
    return f"{text} {following}"
