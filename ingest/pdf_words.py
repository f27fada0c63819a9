"""Words that text extraction broke, repaired from the document's own vocabulary.

    texts = repair_words(page_texts)

Two breaks no single line can settle:
- a hyphen at a line's end (marked pdf_layout.BREAK): "rep-/resentation" is one word,
  "long-/range" a compound. The word is joined, unless the document writes it hyphenated
  elsewhere ("long-range") and never joined ("longrange").
- a space inside a word: pypdf reads a glyph moved by kerning or justification as a word gap
  in some PDFs ("netw orks", "Y et", "e xperiments"). Where that happens often (more than
  SPLIT_SHARE of the words), two pieces are joined when the document has the joined word
  elsewhere and at least one piece is no word of its own. In a clean PDF such pairs are rare
  and nothing is touched.
"""
from __future__ import annotations

import re
from collections import Counter

from ingest.pdf_layout import BREAK

SPLIT_SHARE = 0.005  # of the words: above it, the PDF's spacing is broken and worth repairing
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)
_PIECE = re.compile(r"(-?[^\W\d_]+)(\W*)$")  # a word's piece, and punctuation after it
_MARKED = re.compile(rf"([^\W\d_]*){BREAK}([^\W\d_]*)")


def repair_words(texts: list[str]) -> list[str]:
    vocabulary = Counter(w.lower() for text in texts
                         for w in _WORD.findall(text.replace(BREAK, " ")))
    texts = [_MARKED.sub(lambda m: _hyphen(m, vocabulary), text) for text in texts]
    pairs = Counter(pair for text in texts for pair in _pairs(text))
    repaired = [_join_splits(text, vocabulary, pairs) for text in texts]
    if sum(joins for _, joins in repaired) <= SPLIT_SHARE * max(1, sum(vocabulary.values())):
        return texts
    return [text for text, _ in repaired]


def _pairs(text: str):
    """(piece, next piece) of every two neighbouring words, lower-cased."""
    for paragraph in text.split("\n\n"):
        tokens = paragraph.split(" ")
        for a, b in zip(tokens, tokens[1:]):
            if (m := _PIECE.match(b)) and a.isalpha():
                yield a.lower(), m.group(1).lower()


def _hyphen(m: re.Match, vocabulary: Counter) -> str:
    first, rest = m.group(1), m.group(2)
    hyphenated = f"{first}-{rest}".lower() in vocabulary
    joined = f"{first}{rest}".lower() in vocabulary
    return f"{first}-{rest}" if hyphenated and not joined else f"{first}{rest}"


def _join_splits(text: str, vocabulary: Counter, pairs: Counter) -> tuple[str, int]:
    """The text with split words joined, and how many were."""
    paragraphs, joins = [], 0
    for paragraph in text.split("\n\n"):
        tokens, out, i = paragraph.split(" "), [], 0
        while i < len(tokens):
            joined = _joined(tokens[i], tokens[i + 1], vocabulary, pairs) \
                if i + 1 < len(tokens) else None
            if joined:
                out.append(joined)
                joins += 1
                i += 2
            else:
                out.append(tokens[i])
                i += 1
        paragraphs.append(" ".join(out))
    return "\n\n".join(paragraphs), joins


def _joined(a: str, b: str, vocabulary: Counter, pairs: Counter) -> str | None:
    """a + b as one word, when the document knows the joined word, and not both pieces as
    words of their own (met elsewhere than side by side)."""
    m = _PIECE.match(b)
    if not a.isalpha() or not m:
        return None
    piece, rest = m.groups()
    joined = a + piece
    if joined.lower() not in vocabulary:
        return None
    together = pairs[(a.lower(), piece.lower())]
    if not piece.startswith("-") and vocabulary[a.lower()] > together and \
            vocabulary[piece.lower()] > together:
        return None  # two words of their own ("in to"): left alone
    return joined + rest
