"""What he said on a topic over time: for each year (or era of his framework), how many of his
passages bear on it, the one or two quotes of the period that say the most, and the era.

    tl = timeline(retriever, framework, "agents", by="year")
    tl.periods[0].period, tl.periods[0].count, tl.periods[0].quotes[0].quote
    tl.as_json()    # {"topic", "by", "periods": [...], "undated_left_out"}

How it is counted and chosen (his words only, always):
- A passage bears on a topic when it matches the topic's words (the search syntax: every
  word, stemmed) or is close to it in meaning (cosine >= BEARS with the index's vectors). For
  a framework item (`model:decade-of-agents`), the passages the graph links to it (its quotes'
  passages and its evidence links) and those close to the item's text in meaning.
- Each passage falls in the period of its own date (`simulator.dating`: a thread's tweet by
  its own time). Undated passages belong to no period: they are counted apart.
- The two lists are fused by reciprocal rank as the hybrid retriever fuses them
  (`simulator.retrieval.RRF_K`); a period's best PASSAGES by that score are scored sentence
  by sentence by `simulator.quotes.QuotePool` (the build's vectors of each sentence: nothing
  embedded but a handful), the best of the period first, a second one only from another
  document and saying something else. Quotes come only from passages that were counted, each
  in the period of its own date (asking the retriever with the period's dates would filter by
  the document's date, which puts a thread's later tweets in the wrong year).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from corpus.dates import bound
from corpus.errors import KtpError
from corpus.query import QueryError, parse_query
from graph.evidence_links import item_text
from simulator.dating import day, era_of, passage_date
from simulator.evidence import Evidence, evidence_from_row, text_fragment, with_genres
from simulator.quotes import QuotePool
from simulator.reading import MIN_QUOTE_SCORE
from simulator.retrieval import RRF_K

BEARS = 0.40  # topic-to-passage cosine that counts as bearing on it (int8 MiniLM, see README)
PASSAGES = 6  # passages the retriever brings for each period's quotes
QUOTES = 2  # quotes shown per period
# Of each period's best sentences, these many are also read alone (`ask` reads ten). On three
# real timelines (RL, agents, tokenization; 37 periods) 34 kept the same two quotes as with ten
# (2 of them in the other order; in 3, one quote changed), and a timeline took ~40 % less.
PERIOD_RESCORED = 4
SAME = 0.9  # two quotes this close in meaning say the same: the second is dropped
WHOLE_CORPUS = 100_000  # "every passage" for the index and the keyword search


@dataclass(frozen=True)
class TimelineQuote:
    quote: str
    doc_id: str
    chunk_id: str
    date: str | None
    url: str | None
    title: str
    badge: str

    def as_json(self) -> dict:
        return {"quote": self.quote, "doc_id": self.doc_id, "chunk_id": self.chunk_id,
                "date": day(self.date) or None, "url": self.url, "title": self.title}


@dataclass(frozen=True)
class Period:
    period: str  # "2017", or the era's title
    start: str  # YYYY-MM-DD
    end: str | None  # YYYY-MM-DD; None for the ongoing era
    era: str | None  # the era's id (for a year: the era most of its passages fall in)
    era_title: str | None
    count: int  # his passages that bear on the topic
    documents: int  # the sources they are in (one long post can hold many)
    quotes: tuple[TimelineQuote, ...]

    def as_json(self) -> dict:
        return {"period": self.period, "start": self.start, "end": self.end, "era": self.era,
                "count": self.count, "documents": self.documents,
                "quotes": [q.as_json() for q in self.quotes]}


@dataclass(frozen=True)
class Timeline:
    topic: str
    by: str
    periods: tuple[Period, ...]
    undated_left_out: int
    item: str | None = None  # the framework item's title, when the topic was an item id

    @property
    def total(self) -> int:
        return sum(p.count for p in self.periods)

    def as_json(self) -> dict:
        return {"topic": self.topic, "by": self.by,
                "periods": [p.as_json() for p in self.periods],
                "undated_left_out": self.undated_left_out}


def timeline(retriever, framework, topic: str, by: str = "year") -> Timeline:
    """The timeline of a topic (free words) or of a framework item (its id)."""
    if by not in ("year", "era"):
        raise KtpError(f"a timeline goes by year or by era, not {by!r}", fix="use --by year "
                       "or --by era")
    item = framework.items.get(topic.strip())
    if item is None and _looks_like_id(topic):
        raise KtpError(f"there is no framework item {topic!r}",
                       fix="use an id from corpus/framework/*.yaml, such as "
                           "model:decade-of-agents, or plain words")
    query = f"{item.title}. {item.summary}" if item else topic
    found_rows, score = _bearing(retriever, item, topic)
    eras = framework.of_kind("era")
    undated = sum(1 for r in found_rows.values() if not r["date"])
    dated = {cid: r["date"] for cid, r in found_rows.items() if r["date"]}
    spans = _year_spans(dated) if by == "year" else _era_spans(eras, dated)
    found = []
    for label, start, end, era in spans:
        inside = {c: d for c, d in dated.items()
                  if start <= day(d) and (end is None or day(d) <= end)}
        if by == "year":
            era = _main_era([era_of(d, eras) for d in inside.values()])
        best = sorted(inside, key=lambda c: (-score[c][0], c))[:PASSAGES]
        evidence = with_genres([evidence_from_row(found_rows[c], score[c][0], ("timeline",),
                                                  similarity=score[c][1]) for c in best],
                               framework)  # a line of his fiction is not a telling quote
        documents = len({c.rsplit("#", 1)[0] for c in inside})
        found.append((label, start, end, era, len(inside), documents, evidence))
    quotes = _quotes(retriever, query, [f[-1] for f in found])
    periods = tuple(Period(label, start, end, era.id if era else None,
                           era.title if era else None, count, documents, tuple(q))
                    for (label, start, end, era, count, documents, _), q in zip(found, quotes))
    return Timeline(topic, by, periods, undated, item.title if item else None)


def _looks_like_id(topic: str) -> bool:
    head, _, tail = topic.strip().partition(":")
    return bool(tail) and " " not in topic.strip() and head.isalpha()


def _bearing(retriever, item, topic: str) -> tuple[dict[str, dict], dict[str, tuple]]:
    """(passage id -> its row, dated by `passage_date`; passage id -> (fused score, cosine or
    None)) for every passage of his that bears on the topic."""
    lists: list[list[str]] = []
    if item is not None:
        lists.append(retriever.graph.item_passages(item.id) if retriever.graph is not None
                     else [])
        text = item_text(item)
    else:
        try:
            lists.append([h.id for h in retriever.store.search(
                parse_query(topic), speaker="his", limit=WHOLE_CORPUS)])
        except QueryError:
            pass  # words the search syntax refuses: by meaning only
        text = topic
    cosine: dict[str, float] = {}
    if retriever.index is not None and retriever.embedder is not None:
        vector = retriever.embedder.embed([text])[0]
        cosine = {h.chunk_id: h.similarity for h in
                  retriever.index.query(vector, WHOLE_CORPUS, his=True) if h.similarity >= BEARS}
        lists.append(list(cosine))
    fused: dict[str, float] = {}
    for ids in lists:
        for rank, cid in enumerate(ids):
            fused[cid] = fused.get(cid, 0.0) + 1 / (RRF_K + rank + 1)
    rows = retriever.store.chunk_rows(list(fused))
    rows = {cid: {**row, "date": passage_date(row)} for cid, row in rows.items()
            if row["his_words"]}
    return rows, {cid: (fused[cid], cosine.get(cid)) for cid in rows}


def _year_spans(dated: dict[str, str]) -> list[tuple]:
    """Every year from the first to the last he spoke on it (silent years shown as such)."""
    if not dated:
        return []
    years = [int(d[:4]) for d in dated.values()]
    return [(str(y), f"{y}-01-01", f"{y}-12-31", None) for y in range(min(years), max(years) + 1)]


def _era_spans(eras: Sequence, dated: dict[str, str]) -> list[tuple]:
    """The framework's eras in order; passages older than the first era get a period too."""
    spans = []
    if eras and any(day(d) < bound(str(eras[0].attrs["start"]), "since") for d in dated.values()):
        first = min(day(d) for d in dated.values())
        spans.append(("before the eras", first, _day_before(str(eras[0].attrs["start"])), None))
    for era in eras:
        end = era.attrs.get("end")
        spans.append((era.title, bound(str(era.attrs["start"]), "since"),
                      bound(str(end), "until") if end else None, era))
    return spans


def _day_before(month: str) -> str:
    import datetime as dt

    return (dt.date.fromisoformat(bound(month, "since")) - dt.timedelta(days=1)).isoformat()


def _main_era(eras: list):
    """The era most of a year's passages fall in (a year can straddle two)."""
    counts: dict[str, list] = {}
    for era in eras:
        if era is not None:
            counts.setdefault(era.id, [era, 0])[1] += 1
    return max(counts.values(), key=lambda e: e[1])[0] if counts else None


def _quotes(retriever, query: str, per_period: list[list[Evidence]]) -> list[list[TimelineQuote]]:
    """The best one or two quotes of each period. One pool per period, so that each period's
    best sentences are also read alone (as `ask` reads them); a pool shared by all periods
    reads only the overall best alone, which starves the quieter years."""
    embedder = getattr(retriever, "embedder", None)
    embed = embedder.embed if embedder else None
    q = retriever.question_vector(query) if embedder else None
    out = []
    for evidence in per_period:
        if not evidence:
            out.append([])
            continue
        pool = QuotePool(query, evidence, embed, q, getattr(retriever, "span_vectors", None),
                         rescored=PERIOD_RESCORED)
        chosen: list[int] = []
        for c in sorted(range(len(pool.candidates)), key=lambda c: -pool.scores[c]):
            if pool.scores[c] < MIN_QUOTE_SCORE or len(chosen) == QUOTES:
                break
            if all(_different(pool, c, o) for o in chosen):
                chosen.append(c)
        out.append([_timeline_quote(pool, c) for c in chosen])
    return out


def _different(pool: QuotePool, a: int, b: int) -> bool:
    """Another document, and not the same thing said again."""
    ea, eb = pool.evidence[pool.candidates[a][0]], pool.evidence[pool.candidates[b][0]]
    if ea.doc_id == eb.doc_id:
        return False
    return pool.vectors is None or float(pool.vectors[a] @ pool.vectors[b]) < SAME


def _timeline_quote(pool: QuotePool, c: int) -> TimelineQuote:
    quote = pool.quote(c)
    e = pool.evidence[quote.evidence_index]
    return TimelineQuote(quote.text, e.doc_id, e.chunk_id, e.date, quote_link(e, quote.text),
                         e.title, e.badge)


def quote_link(e: Evidence, quote: str) -> str | None:
    """A link to the quote itself: a tweet's or a video moment's link as the passage has it; on
    a web page, a text fragment of the quote's own first and last words."""
    if not e.url or e.kind in ("tweet", "thread", "transcript", "paper") or \
            e.start_time is not None:
        return e.url
    pieces = [p.strip(" …") for p in quote.split(" … ") if p.strip(" …")]
    return e.url.split("#")[0] + text_fragment("\n".join(pieces))
