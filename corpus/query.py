"""Turn what a user types into a safe FTS5 query.

Supported: plain words (all must match), "exact phrases", prefix* matches, -exclusions, and OR
between terms. Every term is quoted before it reaches SQLite, so punctuation in a query
("gpt-2", "c++", "node.js") never becomes FTS5 syntax and never raises a syntax error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


class QueryError(ValueError):
    """A query that cannot be searched, with a message that says how to fix it."""


@dataclass(frozen=True)
class ParsedQuery:
    match: str  # the FTS5 MATCH expression
    terms: tuple[str, ...]  # the positive words and phrases, for highlighting
    has_prefix: bool = False  # a prefix* term: search the unstemmed index


def parse_query(text: str) -> ParsedQuery:
    groups: list[list[str]] = [[]]  # OR-separated groups of AND-ed terms
    excluded: list[str] = []
    terms: list[str] = []
    has_prefix = False
    for m in _TOKEN.finditer(text):
        negated, phrase, word = m.group(1), m.group(2), m.group(3)
        if word == "OR":
            groups.append([])
            continue
        if phrase is None:
            dash = word.startswith("-") and len(word) > 1
            negated, word = ("-", word[1:]) if dash else ("", word)
        raw = phrase if phrase is not None else word
        prefix = phrase is None and raw.endswith("*")
        words = re.findall(r"\w+", raw)
        if not words:
            continue
        fts = '"' + " ".join(words) + '"' + ("*" if prefix else "")
        has_prefix = has_prefix or prefix
        if negated:
            excluded.append(fts)
        else:
            groups[-1].append(fts)
            terms.append(" ".join(words))
    groups = [g for g in groups if g]
    if not groups:
        raise QueryError("the query has no words to search for; add at least one word "
                         "(exclusions like -word only narrow a search)")
    positive = " OR ".join("(" + " AND ".join(g) + ")" for g in groups)
    match = positive + "".join(f" NOT {t}" for t in excluded)
    return ParsedQuery(match=match, terms=tuple(terms), has_prefix=has_prefix)
