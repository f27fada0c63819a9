"""What a reader yields for each item of its input: a document to store, or a skip with its
reason. A reader that cannot use its input at all raises `SkipItem` instead."""
from __future__ import annotations

from dataclasses import dataclass

from corpus.model import Chunk, Document
from ingest.errors import SkipItem  # noqa: F401  (re-exported: readers import both from here)


@dataclass(frozen=True)
class Loaded:
    document: Document
    chunks: list[Chunk] | None = None  # None: the store chunks the text itself


@dataclass(frozen=True)
class Skipped:
    where: str  # the file, or file:line / file#item for one item inside it
    reason: str
