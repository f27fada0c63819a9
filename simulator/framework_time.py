"""The framework in time: when each idea of his shows up in what he said, and what each era of
his thinking was most about.

    times = framework_in_time(framework, graph, store)
    times["model:decade-of-agents"].first_seen, .last_seen, .per_year   # "2017-06-01", …, {"2017": 2, …}
    eras = eras_in_time(framework, times)       # each era: its most supported items
    quotes = era_quotes(home, framework, store, eras)    # and a few of his lines from it

How it is counted:
- An item's support is its evidence: the passages the graph links to it (those holding its
  quotes and those closest to it in meaning, `graph.item_passages`), each dated by
  `simulator.dating.passage_date` (a thread's tweet by its own time), plus each of its authored
  quotes that the corpus does not hold (dated by the source the framework file gives). A quote
  found in the corpus is its passage, and counts once.
- Per year: how many of those fall in each calendar year, every year from the first to the
  last shown (a silent year is a 0, so a chart reads as time). Undated passages fall in no year
  and are counted apart.
- An era's items: for each item, how many of its dated passages fall inside the era; the items
  with the most, best first (ties by id).
- An era's quotes: from the passages of the era's top items dated inside it, those closest to
  their common centre in meaning (the build's vectors), one per document, each the sentence
  closest to that centre; a line of his fiction is never one (`with_genres`). Chosen as
  `ktp new-ideas` chooses a theme's (simulator/new_ideas.py), not as a timeline's: those embed
  a dozen sentences per period, seconds on the app's first page.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from corpus.dates import bound
from corpus.errors import KtpError
from simulator.dating import day, passage_date

TIMED_KINDS = ("axiom", "model", "tension", "prediction", "tradition")
ERA_ITEMS = 5  # items shown per era
ERA_QUOTES = 2  # his lines shown per era


@dataclass(frozen=True)
class ItemTime:
    item_id: str
    first_seen: str | None  # YYYY-MM-DD of the earliest dated support, None when none is dated
    last_seen: str | None
    per_year: dict[str, int]  # "2015" -> supports that year, every year first..last
    undated: int  # passages with no date: in no year
    passages: tuple[str, ...] = ()  # the evidence passages (chunk ids), as the graph orders them
    dates: dict[str, str] = field(default_factory=dict)  # passage id -> YYYY-MM-DD (dated ones)

    @property
    def dated(self) -> int:
        return sum(self.per_year.values())

    def as_json(self) -> dict:
        return {"item": self.item_id, "first_seen": self.first_seen,
                "last_seen": self.last_seen, "per_year": self.per_year,
                "dated": self.dated, "undated": self.undated}


@dataclass(frozen=True)
class EraTime:
    era_id: str
    title: str
    start: str  # YYYY-MM-DD
    end: str | None  # None: ongoing
    items: tuple[tuple[str, int], ...]  # (item id, its passages dated in the era), most first
    passages: tuple[str, ...]  # the era's passages of those items, most shared first

    def as_json(self) -> dict:
        return {"era": self.era_id, "title": self.title, "start": self.start, "end": self.end,
                "items": [{"item": i, "passages": n} for i, n in self.items]}


def framework_in_time(framework, graph, store, kinds=TIMED_KINDS) -> dict[str, ItemTime]:
    """item id -> its ItemTime, for every item of `kinds` (by id)."""
    items = [i for kind in kinds for i in framework.of_kind(kind)]
    passages = {i.id: graph.item_passages(i.id) for i in items}
    rows = store.chunk_rows(sorted({p for ps in passages.values() for p in ps}))
    dates = {cid: day(passage_date(row)) for cid, row in rows.items()}
    located = _located_quotes(graph, items)
    out = {}
    for item in sorted(items, key=lambda i: i.id):
        mine = [p for p in passages[item.id] if p in rows]  # a link a rebuild left behind: gone
        dated = {p: dates[p] for p in mine if dates[p]}
        when = list(dated.values()) + [day(q.source.date) for q in item.quotes
                                       if q.id not in located and day(q.source.date)]
        out[item.id] = ItemTime(item.id, min(when, default=None), max(when, default=None),
                                _per_year(when), len(mine) - len(dated), tuple(mine), dated)
    return out


def _located_quotes(graph, items) -> set[str]:
    """The ids of the items' quotes that the graph found in the corpus (FOUND_IN)."""
    located = set()
    for item in items:
        for quote in item.quotes:
            if any(kind == "FOUND_IN" and way == "out"
                   for kind, way, _ in graph.neighbours(quote.id)):
                located.add(quote.id)
    return located


def _per_year(days: list[str]) -> dict[str, int]:
    if not days:
        return {}
    years = [int(d[:4]) for d in days]
    counts = {str(y): 0 for y in range(min(years), max(years) + 1)}
    for y in years:
        counts[str(y)] += 1
    return counts


def eras_in_time(framework, times: dict[str, ItemTime], top: int = ERA_ITEMS) -> list[EraTime]:
    """Each era of the framework, oldest first, with the items most supported inside it."""
    out = []
    for era in framework.of_kind("era"):
        start = bound(str(era.attrs["start"]), "since")
        end = bound(str(era.attrs["end"]), "until") if era.attrs.get("end") else None
        inside = {t.item_id: [p for p, d in t.dates.items()
                              if start <= d and (end is None or d <= end)]
                  for t in times.values()}
        ranked = sorted(((i, len(ps)) for i, ps in inside.items() if ps),
                        key=lambda x: (-x[1], x[0]))[:top]
        shared: dict[str, int] = {}
        for item_id, _ in ranked:
            for p in inside[item_id]:
                shared[p] = shared.get(p, 0) + 1
        passages = sorted(shared, key=lambda p: (-shared[p], p))
        out.append(EraTime(era.id, era.title, start, end, tuple(ranked), tuple(passages)))
    return out


def era_quotes(home, framework, store, eras: list[EraTime], k: int = ERA_QUOTES) -> dict:
    """era id -> up to k quotes of his from the era (simulator.new_ideas.ThemeQuote): from its
    passages closest to their common centre, one per document, each the sentence closest to
    that centre by the build's span vectors, the era's title and summary saying which sentence
    is on it. Nothing is embedded, so the Framework page (the app's first page) never waits
    for the encoder; without an index there are no era quotes ({})."""
    from simulator.new_ideas import passage_table, theme_quotes

    try:
        table, _ = passage_table(home)
    except KtpError:
        return {}
    out = {}
    for era in eras:
        ids = [p for p in era.passages if table.row_of(p) is not None]
        if not ids:
            out[era.era_id] = []
            continue
        x = np.asarray(table.vectors[[table.row_of(p) for p in ids]], dtype=np.float32)
        centre = x.sum(axis=0)
        centre /= np.linalg.norm(centre) or 1.0
        order = sorted(range(len(ids)), key=lambda i: (-float(x[i] @ centre), ids[i]))
        rows = store.chunk_rows(ids)
        item = framework.items[era.era_id]
        out[era.era_id] = theme_quotes(table, rows, [ids[i] for i in order], centre,
                                       [item.title, item.summary], framework, k)
    return out
