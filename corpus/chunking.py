"""Split a document's text into chunks of a few paragraphs, keeping exact character offsets.

Short chunks retrieve better on this corpus (DESIGN.md §5: 256-token chunks beat 1024), so the
target is ~1,100 characters (~250 tokens). Paragraphs are kept whole when they fit; a paragraph
longer than the limit is cut at sentence ends, and a sentence longer than that at spaces.
"""
from __future__ import annotations

import re

from corpus.model import Chunk, Document

MAX_CHARS = 1100
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def chunk_document(doc: Document, max_chars: int = MAX_CHARS) -> list[Chunk]:
    """Chunks of the document; with speaker turns (meta["turns"]: [start, end, speaker]) every
    chunk lies inside one turn and names its speaker, else the author speaks them all. With
    pages (a paper's meta["pages"]: [start, end, page]) every chunk lies on one page and
    records it (a paragraph running over a page break is cut there)."""
    pages = doc.meta.get("pages") or ()
    turns = (doc.meta.get("turns") or [[s, e, doc.author] for s, e, _ in pages]
             or [[0, len(doc.text), doc.author]])
    page_at = {s: page for s, _, page in pages}
    chunks: list[Chunk] = []
    for start, end, speaker in turns:
        for s, e in chunk_spans(doc.text[start:end], max_chars):
            n = len(chunks)
            chunks.append(Chunk(id=f"{doc.id}#{n}", doc_id=doc.id, n=n, start=start + s,
                                end=start + e, text=doc.text[start + s:start + e],
                                speaker=speaker, page=page_at.get(start)))
    return chunks


def chunk_spans(text: str, max_chars: int = MAX_CHARS) -> list[tuple[int, int]]:
    """(start, end) offsets of each chunk; each span is trimmed of surrounding whitespace."""
    pieces = [p for para in _split(text, _PARAGRAPH_BREAK, 0, len(text))
              for p in _fit(text, para, max_chars)]
    chunks: list[tuple[int, int]] = []
    for start, end in pieces:
        if chunks and end - chunks[-1][0] <= max_chars:
            chunks[-1] = (chunks[-1][0], end)  # pack small paragraphs together
        else:
            chunks.append((start, end))
    return chunks


def _fit(text: str, span: tuple[int, int], max_chars: int) -> list[tuple[int, int]]:
    start, end = span
    if end - start <= max_chars:
        return [span]
    sentences = _split(text, _SENTENCE_END, start, end)
    if len(sentences) > 1:
        return _pack(sentences, max_chars, lambda s: _fit(text, s, max_chars))
    words = _split(text, re.compile(r"\s+"), start, end)
    if len(words) > 1:
        return _pack(words, max_chars, lambda s: [s])
    return [(i, min(i + max_chars, end)) for i in range(start, end, max_chars)]


def _pack(spans, max_chars, refine) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for span in spans:
        for s, e in refine(span):
            if out and e - out[-1][0] <= max_chars:
                out[-1] = (out[-1][0], e)
            else:
                out.append((s, e))
    return out


def _split(text: str, sep: re.Pattern, start: int, end: int) -> list[tuple[int, int]]:
    """Non-blank pieces of text[start:end] between separator matches, trimmed."""
    spans, pos = [], start
    for m in sep.finditer(text, start, end):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, end))
    return [t for s, e in spans if (t := _trim(text, s, e))]


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None
