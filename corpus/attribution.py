"""The words a user sees for who said a passage: "his tweet", "retweet of @x",
"Lex Fridman, host", "author unknown"…

    badge(kind="tweet", author="@x", speaker="@x", meta={"is_retweet": True})  # "retweet of @x"
"""
from __future__ import annotations

from typing import Mapping

from corpus.model import UNIDENTIFIED, UNKNOWN_AUTHOR

_HIS = {"tweet": "his tweet", "thread": "his thread", "blog": "his blog post",
        "readme": "his README", "transcript": "his words",
        "essay": "his essay", "web": "his page", "doc": "his writing"}


def badge(*, kind: str, author: str | None, speaker: str | None, his_words: bool,
          meta: Mapping | None = None) -> str:
    meta = meta or {}
    if meta.get("is_retweet"):
        original = author if author and author != UNKNOWN_AUTHOR else None
        return f"retweet of {original}" if original else "retweet (original author unknown)"
    if kind == "paper":
        return _paper(author, speaker, his_words, meta)
    if his_words:
        return _HIS.get(kind, "his words")
    speaker = speaker or author
    if speaker in (None, UNKNOWN_AUTHOR):
        return "author unknown"
    if speaker == UNIDENTIFIED:
        return "speaker unidentified"
    if kind == "transcript":
        role = "host" if speaker == meta.get("interviewer") else "speaker"
        return f"{speaker}, {role}"
    return f"by {speaker}"


def _paper(author: str | None, speaker: str | None, his_words: bool, meta: Mapping) -> str:
    """A paper is co-authored: his words are shared with his co-authors ("his words
    (co-authored paper)"), unless he wrote it alone; a paper he is not an author of is its
    authors' ("by Ilya Sutskever et al., paper")."""
    authors = meta.get("authors") or []
    if his_words:
        return "his paper" if len(authors) == 1 else "his words (co-authored paper)"
    speaker = speaker or author
    if speaker in (None, UNKNOWN_AUTHOR):
        return "paper, authors unknown"
    return f"by {speaker}{' et al.' * (len(authors) > 1)}, paper"


def speaker_line(name: str | None, meta: Mapping | None = None) -> str:
    """How another speaker's passage is introduced as context: "Dwarkesh Patel (host) said"."""
    meta = meta or {}
    if name in (None, UNKNOWN_AUTHOR, UNIDENTIFIED):
        return "An unidentified speaker said"
    role = " (host)" if name == meta.get("interviewer") else ""
    return f"{name}{role} said"
