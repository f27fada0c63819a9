"""The framework in time: when each idea of his shows up in what he said, and what each era of
his thinking was most about.

    times = framework_in_time(framework, graph, store)
    times["model:decade-of-agents"].first_seen, .last_seen, .per_year   # "2017-06-01", …, {"2017": 2, …}
    eras = eras_in_time(framework, times)       # each era: its most supported items
    quotes = era_quotes(retriever, framework, eras)      # and a few of his lines from it

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
- An era's quotes: chosen as `ktp timeline` chooses a period's (`QuotePool` over the best
  passages, fiction weighed by `with_genres`), from the passages of the era's top items dated
  inside it (those backing most of them first), against the era's own title and summary; kept
  on disk once chosen, since choosing embeds a dozen sentences per era (`kept_era_quotes`
  reads them back without the encoder).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from corpus.dates import bound
from corpus.home import keep_quietly
from simulator.dating import day, passage_date
from simulator.evidence import evidence_from_row, with_genres

TIMED_KINDS = ("axiom", "model", "tension", "prediction", "tradition")
ERA_ITEMS = 5  # items shown per era
ERA_PASSAGES = 6  # passages of an era read for its quotes (as a timeline period reads)


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
    """The ids of the items' quotes that the graph found in the corpus (FOUND_IN): one question
    for all of them (on Neo4j, one query instead of one per quote)."""
    mine = {q.id for item in items for q in item.quotes}
    return {e.source for e in graph.list_edges(("FOUND_IN",)) if e.source in mine}


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


def era_quotes(retriever, framework, eras: list[EraTime], cache_dir: Path | None = None,
               key: str = "") -> dict:
    """era id -> up to two quotes of his from the era (simulator.timeline.TimelineQuote),
    chosen as a timeline period's are: the era's best ERA_PASSAGES passages (those backing most
    of its top items) read against the era's own title and summary. That embeds a dozen
    sentences per era (seconds, with the encoder's start), so with `cache_dir` the choice is
    kept on disk under `key` (the inputs' fingerprint): once per build, not per start.
    `retriever` may be a function that makes it: called only when nothing is kept yet (opening
    one is most of the cost of a kept answer)."""
    from simulator.timeline import _quotes  # the timeline's own choice, not a copy of it

    kept = kept_era_quotes(eras, cache_dir, key)
    if kept is not None:
        return kept
    if callable(retriever):
        retriever = retriever()
    out = {}
    for era in eras:
        rows = retriever.store.chunk_rows(list(era.passages[:ERA_PASSAGES]))
        evidence = with_genres([evidence_from_row({**rows[p], "date": passage_date(rows[p])},
                                                  1.0, ("era",))
                                for p in era.passages[:ERA_PASSAGES] if p in rows
                                and rows[p]["his_words"]], framework)
        item = framework.items[era.era_id]
        out[era.era_id] = _quotes(retriever, f"{item.title}. {item.summary}", [evidence])[0]
    if cache_dir is not None:
        keep_quietly(_kept_path(eras, cache_dir, key), json.dumps(
            {era: [asdict(q) for q in quotes] for era, quotes in out.items()},
            sort_keys=True).encode())
    return out


def kept_era_quotes(eras: list[EraTime], cache_dir: Path | None, key: str = "") -> dict | None:
    """The era quotes `era_quotes` kept for these eras under `key`, or None when there are none
    (never chosen for these inputs, or the file is unreadable)."""
    from simulator.timeline import TimelineQuote

    if cache_dir is None:
        return None
    try:
        kept = json.loads(_kept_path(eras, cache_dir, key).read_text(encoding="utf-8"))
        return {era: [TimelineQuote(**q) for q in quotes] for era, quotes in kept.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def _kept_path(eras: list[EraTime], cache_dir: Path, key: str) -> Path:
    """Named by the inputs and by the passages each era reads, so any change makes a new one."""
    wanted = [key] + [f"{e.era_id}:{','.join(e.passages[:ERA_PASSAGES])}" for e in eras]
    digest = hashlib.sha256("\x00".join(wanted).encode()).hexdigest()[:20]
    return Path(cache_dir) / f"era-quotes-{digest}.json"
