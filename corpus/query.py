"""Turn what a user types into a safe FTS5 query.

Supported: plain words (all must match), "exact phrases", prefix* matches, -exclusions, and OR
between terms. Every term is quoted before it reaches SQLite, so punctuation in a query
("gpt-2", "c++", "node.js") never becomes FTS5 syntax and never raises a syntax error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from corpus.errors import KtpError

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


class QueryError(KtpError, ValueError):
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


# Words that say nothing about what a question is about (a question-shaped stop list).
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has
have having he her here hers him his how i if in into is it its itself just me more most my no
nor not now of off on once only or other our ours out over own same she should so some such
than that the their theirs them then there these they this those through to too under until up
very was we were what when where which while who whom why will with would you your yours
think thinks thought say says said view views opinion believe believes does andrej karpathy
karpathys he's his him what's whats tell explain describe according
""".split())


def question_query(text: str) -> ParsedQuery:
    """A natural question as an OR of its content words, for ranked retrieval: bm25 rewards
    passages that match more (and rarer) words, where a user's search wants all of them."""
    words = [w for w in dict.fromkeys(re.findall(r"\w+", text.lower()))
             if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    if not words:
        raise QueryError("the question has no words to look for")
    return ParsedQuery(match=" OR ".join(f'"{w}"' for w in words), terms=tuple(words))
