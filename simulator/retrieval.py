"""Hybrid retrieval: keyword (FTS5 bm25) and vector (Chroma) results fused by reciprocal rank,
expanded through the graph, deduplicated per document, returned as `Evidence`.

    retriever = HybridRetriever(store, embedder, index, graph, framework)
    evidence = retriever.retrieve("Why does he think agents will take a decade?", k=8)

- Keyword: the question's content words OR-ed, ranked by bm25 (more, rarer words rank higher).
- Vector: the question embedded with the index's embedder, nearest passages by cosine.
- Fusion: score = sum over lists of weight / (RRF_K + rank) (reciprocal rank fusion).
- Graph: the framework items closest to the question bring the passages linked to them
  (Item -EVIDENCED_BY-> Passage, and the passages holding their quotes); every result is
  labelled with the items it supports.
- Deduplication: at most PER_DOC passages per document, a tweet already present inside a
  thread (or the other way round) is not shown twice, and a copy of a passage (the same text
  elsewhere: corpus/duplicates.py) gives its place to its canonical passage.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from corpus.query import QueryError, question_query
from corpus.store import CorpusStore
from graph.evidence_links import item_text, linked_items
from graph.vector_cache import cached_vectors
from simulator.dating import day, passage_date
from simulator.evidence import Evidence, evidence_from_row

# Measured on bench/eval_questions.yaml (58 questions over realdata): k=10 beats the usual 60
# (recall@5 0.931 vs 0.897) for most weightings tried, since both lists tend to place the
# answer near their top; equal weights are kept rather than tuning them to these questions.
RRF_K = 10
DEPTH = 50  # candidates taken from each list before fusion
PER_DOC = 2
ITEM_MATCH = 0.45  # question-to-item similarity that brings an item's evidence in
MODES = ("keyword", "vector", "graph")


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    since: str | None = None
    until: str | None = None
    own_only: bool = False
    speaker: str | None = None  # "his", "others", a speaker's name, or None for everyone
    # An undated passage cannot be shown to fall inside since/until: left out unless asked.
    include_undated: bool = False


class HybridRetriever:
    def __init__(self, store: CorpusStore, embedder=None, index=None, graph=None,
                 framework=None, weights: dict[str, float] | None = None,
                 cache_dir: Path | None = None):
        """`cache_dir`: where the framework items' vectors are kept between processes."""
        self.store, self.embedder, self.index = store, embedder, index
        self.cache_dir = cache_dir
        self.graph, self.framework = graph, framework
        self.weights = {"keyword": 1.0, "vector": 1.0, "graph": 1.0, **(weights or {})}
        self._items, self._item_vectors = self._framework_vectors()
        self._last_question: tuple[str | None, object] = (None, None)
        self.undated_left_out = 0  # undated passages the last date-filtered retrieve dropped

    def retrieve(self, question: str, k: int = 8, *, kind: str | None = None,
                 since: str | None = None, until: str | None = None, own_only: bool = False,
                 speaker: str | None = None, include_undated: bool = False,
                 modes: tuple[str, ...] = MODES) -> list[Evidence]:
        """`speaker="his"` keeps his words only (what `ask` quotes from); None: everyone.
        With `since`/`until`, undated passages are left out (counted in `undated_left_out`)
        unless `include_undated`."""
        filters = Filters(kind, since, until, own_only, None if speaker in ("any", "all", "")
                          else speaker, include_undated)
        dated = bool(since or until)
        # Keeping undated passages means asking the lists without the dates (the store and
        # the index cannot say "in range or undated"); _passes applies the range after.
        lists = replace(filters, since=None, until=None) if dated and include_undated \
            else filters
        ranked: dict[str, list[str]] = {}
        vector, similarity = None, {}
        if "keyword" in modes:
            ranked["keyword"] = self._keyword(question, lists)
        if "vector" in modes and self.index is not None and self.embedder is not None:
            vector = self.question_vector(question)
            hits = self.index.query(vector, DEPTH, kind=kind, since=lists.since,
                                    until=lists.until, own_only=own_only,
                                    his=_his_filter(filters.speaker))
            ranked["vector"] = [h.chunk_id for h in hits]
            similarity = {h.chunk_id: h.similarity for h in hits}
        if "graph" in modes and self.graph is not None and vector is not None:
            ranked["graph"] = self._graph_passages(vector)
        scores, why = self._fuse(ranked)
        rows, chosen = self._best_rows(scores, filters, k)
        self.undated_left_out = self._undated_matches(question, filters, vector, modes) \
            if dated and not include_undated else 0
        return [evidence_from_row(rows[c], scores[c], tuple(why[c]), self._supports(c),
                                  similarity.get(c)) for c in chosen]

    def _best_rows(self, scores: dict[str, float], filters: Filters, k: int):
        """(rows that pass the filters, the k chosen) reading the store's rows best first, a
        page at a time, until k are chosen: the fused lists hold ~140 candidates for k = 8,
        and reading them all cost a fifth of a warm query. A copy brings its canonical's row
        along, so the choice is the one made over every candidate."""
        order = sorted(scores, key=lambda c: (-scores[c], c))
        rows: dict[str, dict] = {}
        chosen: list[str] = []
        page = max(3 * k, 24)
        for start in range(0, len(order), page):
            fetched = self.store.chunk_rows(order[start:start + page])
            wanted = [row["copy_of"] for row in fetched.values()
                      if row.get("copy_of") in scores and row["copy_of"] not in rows
                      and row["copy_of"] not in fetched]
            fetched.update(self.store.chunk_rows(wanted) if wanted else {})
            rows.update((cid, row) for cid, row in _dated(fetched).items()
                        if _passes(row, filters))
            chosen = self._dedupe([c for c in order if c in rows], rows, k)
            if len(chosen) == k:
                break
        return rows, chosen

    def neighbours(self, evidence, exclude: set[str], speaker: str | None = "his") -> list:
        """The chunks on either side of each passage, as evidence found "nearby"."""
        wanted: dict[str, float | None] = {}
        for e in evidence:
            doc, n = e.chunk_id.rsplit("#", 1)
            for c in (f"{doc}#{int(n) - 1}", f"{doc}#{int(n) + 1}"):
                if c not in exclude and c not in wanted:  # as close as its neighbour, nearly
                    wanted[c] = round(e.similarity * 0.9, 4) if e.similarity else None
        return self.passages(list(wanted), exclude, "nearby", wanted, speaker=speaker)

    def passages(self, chunk_ids: list[str], exclude: set[str], why: str,
                 similarity: dict[str, float | None] | None = None,
                 **filters) -> list[Evidence]:
        """These passages as evidence (found some other way: `why`; `similarity` to the
        question where known), those the filters keep (the `retrieve` filters: kind, since,
        until, own_only, speaker), none that is in `exclude` or a copy of one there."""
        f = Filters(**{k: v for k, v in filters.items() if k in Filters.__dataclass_fields__})
        rows = _dated(self.store.chunk_rows([c for c in chunk_ids if c not in exclude]))
        return [evidence_from_row(rows[c], 0.0, (why,), self._supports(c),
                                  (similarity or {}).get(c))
                for c in chunk_ids if c in rows and _passes(rows[c], f)
                and rows[c].get("copy_of") not in exclude]

    def within_documents(self, question: str, evidence, exclude: set[str], k: int,
                         speaker: str | None = "his") -> list:
        """The passages of the same documents closest to the question, beyond those already
        found: in a long post or talk, the passage that answers is often not the one that
        matched the question best as a whole."""
        if self.index is None or self.embedder is None or not evidence:
            return []
        docs = list(dict.fromkeys(e.doc_id for e in evidence))
        # By each passage's best sentence, not its mean: the passage that answers often
        # says much else besides (set c of bench/answer_quality.py: +1 answer, +1 passage
        # holding the answer among the evidence; as a fourth list in the fusion it lost 2).
        vector, his = self.question_vector(question), _his_filter(speaker)
        hits = self.index.sentence_query(vector, k + len(exclude), his=his, doc_ids=docs) \
            if hasattr(self.index, "sentence_query") else []
        hits = hits or self.index.query(vector, k + len(exclude), his=his, doc_ids=docs)
        hits = [h for h in hits if h.chunk_id not in exclude][:k]
        return self.passages([h.chunk_id for h in hits], exclude, "same document",
                             {h.chunk_id: h.similarity for h in hits}, speaker=speaker)

    def question_vector(self, question: str):
        """The question embedded once, however many steps of an answer ask for it."""
        if self.embedder is None:
            return None
        if self._last_question[0] != question:
            self._last_question = (question, self.embedder.embed([question])[0])
        return self._last_question[1]

    def span_vectors(self, chunk_id: str):
        """The build's vectors of a passage's quotable stretches, or None (no index, an
        embedder that does not make them, or a passage synced before they existed)."""
        return self.index.span_vectors(chunk_id) if hasattr(self.index, "span_vectors") \
            else None

    def related_items(self, question: str, limit: int = 4) -> list:
        """The axioms and mental models closest to the question, above ITEM_MATCH."""
        if not self._items:
            return []
        sims = self._item_vectors @ self.question_vector(question)
        order = [i for i in np.argsort(-sims) if sims[i] >= ITEM_MATCH]
        return [self._items[i] for i in order[:limit]]

    def _undated_matches(self, question: str, f: Filters, vector, modes) -> int:
        """How many undated passages the lists would have brought without the dates: what a
        user is told was left out (one more keyword and vector query, only under a filter)."""
        open_ = replace(f, since=None, until=None)
        found = self._keyword(question, open_) if "keyword" in modes else []
        if vector is not None:
            found += [h.chunk_id for h in self.index.query(
                vector, DEPTH, kind=f.kind, own_only=f.own_only, his=_his_filter(f.speaker))]
        rows = _dated(self.store.chunk_rows(list(dict.fromkeys(found))))
        return sum(1 for row in rows.values() if not row["date"] and _passes(row, open_))

    # ---- the lists -------------------------------------------------------------------------
    def _keyword(self, question: str, f: Filters) -> list[str]:
        try:
            query = question_query(question)
        except QueryError:
            return []
        return [h.id for h in self.store.search(query, kind=f.kind, since=f.since, until=f.until,
                                                limit=DEPTH, own_only=f.own_only,
                                                speaker=f.speaker, marks=False)]

    def _graph_passages(self, vector: np.ndarray) -> list[str]:
        """Passages linked to the framework items the question is about, best items first."""
        if not self._items:
            return []
        similarities = self._item_vectors @ vector
        passages: list[str] = []
        for i in np.argsort(-similarities):
            if similarities[i] < ITEM_MATCH:
                break
            passages += self._item_passages(self._items[i].id)
        # A copy linked in the graph brings its canonical first: the filters, applied after,
        # then keep the canonical, or the copy where they leave the canonical out.
        canonical = self.store.canonical_of(list(dict.fromkeys(passages)))
        passages = [c for p in passages for c in (canonical.get(p), p) if c]
        return list(dict.fromkeys(passages))[:DEPTH]

    def _item_passages(self, item_id: str) -> list[str]:
        """The passages holding the item's quotes, then those closest to it in meaning."""
        return self.graph.item_passages(item_id)

    def _fuse(self, ranked: dict[str, list[str]]):
        scores: dict[str, float] = defaultdict(float)
        why: dict[str, list[str]] = defaultdict(list)
        for mode, ids in ranked.items():
            for rank, cid in enumerate(ids):
                scores[cid] += self.weights[mode] / (RRF_K + rank + 1)
                why[cid].append(mode)
        return scores, why

    # ---- shaping the result ----------------------------------------------------------------
    def _dedupe(self, order: list[str], rows: dict[str, dict], k: int) -> list[str]:
        per_doc: dict[str, int] = defaultdict(int)
        seen_tweets: set[str] = set()
        seen_texts: set[str] = set()
        chosen = []
        for cid in order:
            # One place per text: a copy ranked above its canonical (both passed the filters)
            # takes the canonical's passage, whose locator is the better one.
            canonical = rows[cid].get("copy_of")
            cid = canonical if canonical in rows else cid
            if (canonical or cid) in seen_texts:
                continue
            row = rows[cid]
            tweets = _tweet_ids(row)
            if per_doc[row["doc_id"]] >= PER_DOC or (tweets and tweets <= seen_tweets):
                continue
            per_doc[row["doc_id"]] += 1
            seen_tweets |= tweets
            seen_texts.add(canonical or cid)
            chosen.append(cid)
            if len(chosen) == k:
                break
        return chosen

    def _supports(self, chunk_id: str) -> tuple[str, ...]:
        return self.graph.supports(chunk_id) if self.graph is not None else ()

    def _framework_vectors(self):
        if self.framework is None or self.embedder is None or self.graph is None:
            return [], None
        items = linked_items(self.framework)
        return items, cached_vectors(self.embedder, [item_text(i) for i in items],
                                     self.cache_dir)


def _tweet_ids(row: dict) -> set[str]:
    if row["kind"] == "tweet":
        return {row["doc_id"].split(":", 1)[1]}
    if row["kind"] == "thread":
        return {t["id"] for t in row["meta"].get("tweets", [])
                if t["start"] < row["end"] and row["start"] < t["end"]}
    return set()


def _dated(rows: dict[str, dict]) -> dict[str, dict]:
    """Each row with its passage's own date (a thread's tweet has its own time)."""
    return {cid: {**row, "date": passage_date(row)} for cid, row in rows.items()}


def _passes(row: dict, f: Filters) -> bool:
    """Graph passages come unfiltered from the graph: apply the user's filters to them too.
    An undated passage passes a date range only when the filters say to keep undated ones."""
    when = day(row["date"])
    undated_ok = not when and f.include_undated
    return ((not f.kind or row["kind"] == f.kind)
            and (not f.since or undated_ok or (when and when >= f.since))
            and (not f.until or undated_ok or (when and when <= f.until))
            and (not f.own_only or not row["meta"].get("is_retweet"))
            and _speaker_passes(row, f.speaker))


def _speaker_passes(row: dict, speaker: str | None) -> bool:
    if speaker is None:
        return True
    if speaker == "his":
        return bool(row["his_words"])
    if speaker == "others":
        return not row["his_words"]
    return row["speaker"] == speaker


def _his_filter(speaker: str | None) -> bool | None:
    """What the vector index can filter on itself: his words or not (names are checked after)."""
    return {"his": True, "others": False}.get(speaker) if speaker else None


def open_retriever(home, world=None) -> HybridRetriever:
    """A retriever over a data home: its store, index (if built), graph and framework."""
    from graph.pipeline import open_index, open_world

    world = world or open_world(home)
    index, embedder = open_index(home)
    return HybridRetriever(world.store, embedder, index, world.graph, world.framework,
                           cache_dir=home.root / "cache")
