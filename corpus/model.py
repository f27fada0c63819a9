"""The canonical corpus model: a `Document` (one thing he said or wrote) and its `Chunk`s.

Ids are stable and derived from the content's identity, not from where a file happened to lie:
`tweet:<status id>`, `blog:<slug>`, `yt:<video id>`, `repo:<owner>/<name>`; a chunk is
`<doc id>#<n>`.
The content hash decides whether re-adding a document changes anything.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

# Authorship is evidence, never a default: a document with nothing that says who wrote it is
# "unknown", and a transcript passage whose speaker the text does not tell is "unidentified".
UNKNOWN_AUTHOR = "unknown"
UNIDENTIFIED = "unidentified"
# The kinds of document, and the id prefixes, the product knows; nothing else may name one.
DOC_KINDS = ("tweet", "thread", "blog", "transcript", "readme", "paper", "essay", "doc", "web",
             "video")
ID_PREFIXES = ("tweet", "thread", "blog", "yt", "repo", "paper", "essay", "doc", "web", "url",
               "transcript", "video", "podcast")


@dataclass(frozen=True)
class Document:
    id: str
    kind: str  # tweet, blog, transcript, readme, paper, essay, doc, ...
    title: str
    text: str
    author: str = UNKNOWN_AUTHOR  # a name or @handle; UNKNOWN_AUTHOR without evidence
    date: str | None = None  # ISO 8601: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)
    url: str | None = None
    origin: str = ""  # the file or URL it was ingested from
    meta: Mapping[str, Any] = field(default_factory=dict)  # kind-specific: likes, video_id, ...
    hash: str = ""  # filled in from the content when left empty
    # How the author is known ("his X archive (@karpathy)", "retweet of @x", "repo owned by
    # karpathy", ...). Transcripts with several speakers keep their turns in meta["turns"], and
    # text he quotes from others in meta["quoted"]; both as character spans of `text`.
    authorship: str = ""

    def __post_init__(self) -> None:
        if not self.id or ":" not in self.id:
            raise ValueError(f"document id {self.id!r} must look like '<kind>:<name>'")
        if not self.hash:
            object.__setattr__(self, "hash", content_hash(self))

    @property
    def words(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True)
class Chunk:
    id: str  # "<doc id>#<n>"
    doc_id: str
    n: int
    start: int  # character offsets into the document's text
    end: int
    text: str
    start_time: float | None = None  # seconds into a talk or podcast, for transcripts
    speaker: str | None = None  # who says it; None: the document's author
    page: int | None = None  # the page of a PDF it lies on (1 = the first), for papers


def content_hash(doc: Document) -> str:
    """Hash of everything that makes a document what it is. `origin` is left out on purpose:
    the same post ingested from another folder is the same post."""
    payload = json.dumps(
        [doc.kind, doc.title, doc.text, doc.author, doc.date, doc.url, dict(doc.meta),
         doc.authorship],
        sort_keys=True, ensure_ascii=False, default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
