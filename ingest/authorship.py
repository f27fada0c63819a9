"""Who wrote a document, decided from evidence only, and said how it is known.

Every reader asks here instead of assuming: an X archive's account, a handle in an export or a
tweet URL, a site that publishes only his writing, a repo's owner, his YouTube channel, an entry
in the registry of his sources, a front-matter `author`, or the user's `--author`. Without any
of them the author is UNKNOWN_AUTHOR: the document is kept and searchable, never his words.

    author, how = by_handle("karpathy")      # ("Andrej Karpathy", "posted by @karpathy")
"""
from __future__ import annotations

import re
from pathlib import Path

from corpus.model import UNKNOWN_AUTHOR
from corpus.subject import current_subject

Attribution = tuple[str, str]  # (author, how it is known)
NO_EVIDENCE = "nothing in the source says who wrote it"


def by_name(name: str | None, how: str) -> Attribution | None:
    """An author field or label: the subject's canonical name when it names him."""
    if not name or not str(name).strip():
        return None
    subject = current_subject()
    name = " ".join(str(name).split())
    return (subject.name if subject.is_named(name) else name), how


def by_handle(handle: str | None, how: str | None = None) -> Attribution | None:
    if not handle or not str(handle).strip():
        return None
    handle = str(handle).strip().lstrip("@")
    subject = current_subject()
    how = how or f"posted by @{handle}"
    return (subject.name if subject.is_handle(handle) else f"@{handle}"), how


def by_domain(host: str | None) -> Attribution | None:
    subject = current_subject()
    if subject.owns_domain(host):
        return subject.name, f"published on his site {host}"
    return None


def by_repo_owner(owner: str | None) -> Attribution | None:
    if not owner:
        return None
    subject = current_subject()
    if owner.lower() in {o.lower() for o in subject.github_owners}:
        return subject.name, f"README of a repo owned by {owner}"
    return f"{owner} (GitHub)", f"README of a repo owned by {owner}"


def by_channel(channel: str | None) -> Attribution | None:
    subject = current_subject()
    if subject.owns_channel(channel) or subject.is_named(channel):
        return subject.name, f"published on his channel ({channel})"
    return None


def by_provenance(found) -> Attribution | None:
    """A file that a provenance manifest traces, by its checksum, to a repo of his (a file of
    his repo is his, as its README is). A copy found in someone else's repo says nothing."""
    if found is None:
        return None
    if found.owner.lower() in {o.lower() for o in current_subject().github_owners}:
        return (current_subject().name,
                f"a file of his repo {found.repo} ({found.manifest.name} lists it with this "
                "file's checksum)")
    return None


def by_registry(source) -> Attribution | None:
    """A registered source is one of his by definition (a podcast: he is the guest)."""
    if source is None:
        return None
    return current_subject().name, f"in the registry of his sources ({source.kind})"


def handle_in_filename(path: str | Path) -> str | None:
    """One of his handles as a word of the file's or its folder's name (`karpathy_tweets.csv`):
    scraper exports of one account seldom say whose they are anywhere else."""
    path = Path(path)
    for part in (path.stem, path.parent.name):
        tokens = {t.lower() for t in re.split(r"[^A-Za-z0-9]+", part) if t}
        for handle in current_subject().handles:
            if handle.lower() in tokens:
                return handle
    return None


def named_in_filename(path: str | Path) -> Attribution | None:
    handle = handle_in_filename(path)
    if handle is None:
        return None
    return current_subject().name, f"an export named for @{handle} ({Path(path).name})"


def first(*candidates: Attribution | None) -> Attribution:
    """The first piece of evidence found, else author unknown."""
    return next((c for c in candidates if c), (UNKNOWN_AUTHOR, NO_EVIDENCE))
