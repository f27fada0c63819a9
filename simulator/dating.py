"""When a passage was said, and what to do with passages that carry no date.

    passage_date(row)                  # "2022-02-11T17:24:43Z": a thread's tweet has its own time
    era_of("2016-05-31", eras)         # the framework's era item it falls in, or None
    AsOf(retriever, "2019-12-31")      # a retriever that never returns anything said later

The rules, in order (the readers apply the document-level ones when they ingest):
- a tweet inside a thread: the time of that tweet (a thread can run over days);
- anything else: its document's date (a post's, a talk's upload date, a README's from the
  registry of his sources: the repo's first commit);
- otherwise the passage is undated, and is shown as "undated".

Date filters (`--since`, `--until`, `--as-of`) leave undated passages out, since nothing says
they fall inside the range; the retriever counts how many it left out, and `include_undated`
keeps them.
"""
from __future__ import annotations

from typing import Sequence

UNDATED = "undated"


def passage_date(row: dict) -> str | None:
    """The date of one passage (a chunk row of the store, with its document's fields)."""
    if row.get("kind") == "thread":
        for tweet in (row.get("meta") or {}).get("tweets", []):
            if tweet.get("date") and tweet["start"] <= row["start"] < tweet["end"]:
                return tweet["date"]
    return row.get("date") or None


def day(date: str | None) -> str:
    """The YYYY-MM-DD part of a stored date, or "" when undated (sorts before every date)."""
    return (date or "")[:10]


def era_of(date: str | None, eras: Sequence) -> object | None:
    """The era (a framework item with attrs start/end as YYYY-MM, end empty when ongoing)
    that a date falls in; None for an undated passage or one before the first era."""
    month = day(date)[:7]
    if not month:
        return None
    for era in eras:
        start, end = str(era.attrs.get("start") or ""), str(era.attrs.get("end") or "")
        if start <= month and (not end or month <= end):
            return era
    return None


class AsOf:
    """A retriever that answers as of a date: everything it returns was dated on or before it
    (undated passages are left out, since nothing says they were said by then). The rest of
    the retriever (embedder, framework, span vectors) is the wrapped one's."""

    def __init__(self, retriever, as_of: str):
        self.inner, self.as_of = retriever, as_of

    def __getattr__(self, name):
        if name == "inner":  # not set yet (a copy being made): no recursion through it
            raise AttributeError(name)
        return getattr(self.inner, name)

    def retrieve(self, question: str, k: int = 8, **filters):
        until = filters.get("until")
        filters["until"] = min(until, self.as_of) if until else self.as_of
        filters["include_undated"] = False
        return self.inner.retrieve(question, k, **filters)

    def neighbours(self, evidence, exclude, speaker="his"):
        return self._in_time(self.inner.neighbours(evidence, exclude, speaker=speaker))

    def within_documents(self, question, evidence, exclude, k, speaker="his"):
        return self._in_time(self.inner.within_documents(question, evidence, exclude, k,
                                                         speaker=speaker))

    def passages(self, chunk_ids, exclude, why, similarity=None, **filters):
        return self._in_time(self.inner.passages(chunk_ids, exclude, why, similarity,
                                                 **filters))

    def _in_time(self, evidence):
        return [e for e in evidence if e.date and day(e.date) <= self.as_of]
