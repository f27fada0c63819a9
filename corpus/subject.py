"""The subject of the framework in use (whose words "his words" are), for code that has no
Framework at hand: the store, the readers, the CLI.

    subject = current_subject()
    subject.name                  # "Andrej Karpathy"
    is_his(chunk_speaker)         # True only for passages he speaks or wrote
"""
from __future__ import annotations

import functools
import os

from corpus.framework_model import DEFAULT_SUBJECT, Subject


def current_subject() -> Subject:
    """The subject of the packaged framework, or of $KTP_FRAMEWORK's (asked once per tweet
    by readers: the folder is resolved once per value of the variable)."""
    return _subject_of(_folder(os.environ.get("KTP_FRAMEWORK")))


@functools.lru_cache(maxsize=8)
def _folder(variable: str | None) -> str:
    from corpus.home import framework_dir

    return str(framework_dir())


@functools.lru_cache(maxsize=4)  # keyed by folder: a switched framework never serves a stale one
def _subject_of(folder: str) -> Subject:
    from pathlib import Path

    from corpus.framework_loader import FrameworkError, load_framework

    try:
        return load_framework(Path(folder)).subject
    except FrameworkError:
        return DEFAULT_SUBJECT  # a broken framework is reported by `ktp build`


def is_his(speaker: str | None, subject: Subject | None = None) -> bool:
    return speaker == (subject or current_subject()).name
