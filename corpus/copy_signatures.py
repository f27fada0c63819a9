"""Finding copies again after the corpus changed, comparing only what the change reaches.

    kept = Signatures.load(path)                       # the last build's shingles and decisions
    found = refresh(kept, rows, texts_of)              # or None: find them from scratch
    found.copies, found.signatures.save(path)

Why: finding every copy (corpus/duplicates.py) reads and shingles every passage and sorts all
their shingles: ~15 s at 100k passages, paid by every build after one new document. The
shingles of passages already seen are kept on disk with the decisions taken for them, so a
new passage is compared with those signatures and the corpus is not read again.

What a change can reach. `find_copies` takes passages best canonical first, and a passage's
decision reads only passages before it: which of them are canonical and share one of its
shingles (its partners, through shingles held by at most COMMON passages) and which of its
shingles some canonical before it holds (its cover). So after a change only these can be
decided differently, and they are decided again, in the same order:
- new passages (a changed passage counts as removed and new);
- passages after one whose standing changed (a canonical arrived, left, became a copy or
  stopped being one) that share a shingle with it; for a shingle held by more than COMMON
  passages, only those before its next canonical holder (after it the shingle is covered
  either way);
- the holders of a shingle whose count crossed COMMON (their partners changed).
A passage decided again whose standing changes reaches further in turn. The result is what
`find_copies` gives on the whole corpus (tests/test_duplicates.py checks it on random ones).
A change of order (a passage's speaker or timing relabelled) is found from scratch.
"""
from __future__ import annotations

import bisect
import heapq
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from corpus import duplicates as dup

VERSION = 2  # of the file's layout and of the shingle codes (duplicates.word_code)
CANONICAL = -1


@dataclass
class Signatures:
    """Per passage, best canonical first (`duplicates.preference`: a passage's place is its
    rank): id, key (its document's hash and offsets: a passage whose key is unchanged has the
    same text), what orders it (timed, kind rank, his words), its shingles, and its decision
    (`canon`: the rank of its canonical, or CANONICAL; `cover`: the share of its shingles in
    canonical passages before it). `index_codes`/`index_owner`: every shingle with its passage,
    sorted by shingle, so that who holds a shingle is found without sorting the corpus again.
    `corpus`: the corpus fingerprint the decisions were taken for."""
    ids: list[str]
    keys: list[str]
    timed: np.ndarray  # bool
    kind_rank: np.ndarray  # int8
    his: np.ndarray  # bool
    sizes: np.ndarray  # int64, shingles per passage
    codes: np.ndarray  # uint64, every passage's sorted shingles, one after another
    canon: np.ndarray  # int64
    cover: np.ndarray  # float64
    index_codes: np.ndarray  # uint64, sorted
    index_owner: np.ndarray  # int64
    corpus: str

    FIELDS = ("timed", "kind_rank", "his", "sizes", "codes", "canon", "cover", "index_codes",
              "index_owner")

    @classmethod
    def load(cls, path: Path) -> "Signatures | None":
        """The kept signatures, or None when there are none usable (missing, damaged, of
        another layout): then copies are found from scratch and the file written again."""
        try:
            with np.load(path, allow_pickle=False) as f:
                if int(f["version"]) != VERSION:
                    return None
                found = cls(ids=f["ids"].tolist(), keys=f["keys"].tolist(),
                            corpus=str(f["corpus"]), **{k: f[k] for k in cls.FIELDS})
        except (OSError, ValueError, KeyError, EOFError):
            return None
        n = len(found.ids)
        if not all(len(a) == n for a in (found.keys, found.timed, found.kind_rank, found.his,
                                         found.sizes, found.canon, found.cover)) or \
                not int(found.sizes.sum()) == len(found.codes) == len(found.index_codes) == \
                len(found.index_owner):
            return None
        return found

    def save(self, path: Path) -> None:
        """Written beside, then moved over the old file: a build killed meanwhile leaves the
        old one (whose corpus fingerprint then no longer matches: found from scratch)."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as out:
            np.savez(out, version=np.int64(VERSION), ids=np.array(self.ids, dtype=str),
                     keys=np.array(self.keys, dtype=str), corpus=np.array(self.corpus),
                     **{k: getattr(self, k) for k in self.FIELDS})
        os.replace(tmp, path)

    def copies(self) -> dict[str, tuple[str, float]]:
        """{copy id: (canonical id, cover)}, as `find_copies` returns it."""
        return {self.ids[j]: (self.ids[c], float(self.cover[j]))
                for j in np.flatnonzero(self.canon != CANONICAL).tolist()
                for c in (int(self.canon[j]),)}

    def classes(self) -> np.ndarray:
        return order_class(self.timed, self.kind_rank, self.his)


def order_of(row: Mapping) -> tuple[bool, int, bool]:
    """(timed, kind rank, his words): what `duplicates.preference` orders by, besides the id."""
    return (row.get("start_time") is not None, dup._KIND_RANK.get(row.get("kind"), 2),
            bool(row.get("his_words")))


def order_class(timed, kind_rank, his):
    """`preference` without the id, as one number (smaller first): passages of one class are
    ordered by id."""
    return (1 - np.asarray(timed, dtype=np.int64)) * 6 + \
        np.asarray(kind_rank, dtype=np.int64) * 2 + (1 - np.asarray(his, dtype=np.int64))


def ranges(starts: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """The positions start, start+1, ... start+width-1 of every (start, width), one after
    another."""
    widths = np.asarray(widths, dtype=np.int64)
    total = int(widths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(np.asarray(starts, dtype=np.int64) -
                      np.concatenate(([0], np.cumsum(widths)[:-1])), widths)
    return shift + np.arange(total)


def from_scratch(rows: Sequence[Mapping], corpus: str) -> tuple[dict, Signatures]:
    """(copies, signatures) of every passage: `rows` with id, key, text, kind, start_time,
    his_words (`find_copies`'s passages plus their key)."""
    ordered = sorted(rows, key=dup.preference)
    sets = dup.shingle_sets([r["text"] for r in ordered])
    copies = dup.find_copies(ordered, sets=sets)
    at = {r["id"]: i for i, r in enumerate(ordered)}
    canon = np.full(len(ordered), CANONICAL, dtype=np.int64)
    cover = np.zeros(len(ordered), dtype=np.float64)
    for copy, (canonical, share) in copies.items():
        canon[at[copy]], cover[at[copy]] = at[canonical], share
    orders = [order_of(r) for r in ordered]
    sizes = np.array([len(s) for s in sets], dtype=np.int64)
    codes = np.concatenate(sets) if sets else np.zeros(0, dtype=np.uint64)
    by_code = np.argsort(codes, kind="stable")
    owner = np.repeat(np.arange(len(ordered), dtype=np.int64), sizes)
    return copies, Signatures(
        ids=[r["id"] for r in ordered], keys=[r["key"] for r in ordered],
        timed=np.array([o[0] for o in orders], dtype=bool),
        kind_rank=np.array([o[1] for o in orders], dtype=np.int8),
        his=np.array([o[2] for o in orders], dtype=bool), sizes=sizes, codes=codes,
        canon=canon, cover=cover, index_codes=codes[by_code], index_owner=owner[by_code],
        corpus=corpus)


@dataclass
class Refreshed:
    copies: dict[str, tuple[str, float]]
    signatures: Signatures
    decided: int  # passages decided again (compared with the passages sharing their shingles)


def refresh(kept: Signatures, rows: Sequence[Mapping], corpus: str,
            texts_of: Callable[[list[str]], dict[str, str]]) -> Refreshed | None:
    """The copies of the corpus `rows` describe (id, key, kind, start_time, his_words; no
    text), from `kept` and the texts of the new passages only (`texts_of(ids)`). None when
    the order of passages kept changed (then: from scratch)."""
    at = {cid: i for i, cid in enumerate(kept.ids)}
    retained, new_rows, orders = [], [], []
    for row in rows:
        i = at.get(row["id"])
        if i is not None and kept.keys[i] == row["key"]:
            retained.append(i)
            orders.append(order_of(row))
        else:
            new_rows.append(row)
    if orders:
        now = np.array(orders, dtype=np.int64)
        if not (np.array_equal(now[:, 0], kept.timed[retained]) and
                np.array_equal(now[:, 1], kept.kind_rank[retained]) and
                np.array_equal(now[:, 2], kept.his[retained])):
            return None  # a speaker or a timing relabelled: the order itself changed
    retained = np.array(sorted(retained), dtype=np.int64)  # in the kept order
    gone = np.ones(len(kept.ids), dtype=bool)
    gone[retained] = False
    ghosts = np.flatnonzero(gone)
    if not new_rows and not len(ghosts):
        kept.corpus = corpus
        return Refreshed(kept.copies(), kept, 0)
    texts = texts_of([r["id"] for r in new_rows])
    new_sets = dup.shingle_sets([texts[r["id"]] for r in new_rows])
    return _Refresh(kept, retained, ghosts, new_rows, new_sets).run(corpus)


class _Refresh:
    """One refresh. Passages are numbered: kept ones still there (in the kept order), then
    the new ones, then the removed ones ("ghosts": they still hold their shingles, so that
    what their leaving reaches can be found, but are no passages any more)."""

    def __init__(self, kept: Signatures, retained: np.ndarray, ghosts: np.ndarray,
                 new_rows: list[Mapping], new_sets: list[np.ndarray]):
        n_old, n_kept, n_new = len(kept.ids), len(retained), len(new_rows)
        self.first_new, self.n_live = n_kept, n_kept + n_new
        n = self.n_live + len(ghosts)
        here = np.empty(n_old, dtype=np.int64)  # kept rank -> number here
        here[retained] = np.arange(n_kept)
        here[ghosts] = self.n_live + np.arange(len(ghosts))
        new_orders = [order_of(r) for r in new_rows]
        new_class = order_class(*zip(*new_orders)) if new_rows else np.zeros(0, np.int64)
        cat = lambda a, b: np.concatenate((a[retained], b, a[ghosts]))  # noqa: E731
        self.ids = [kept.ids[i] for i in retained] + [r["id"] for r in new_rows] + \
            [kept.ids[i] for i in ghosts]
        self.keys = [kept.keys[i] for i in retained] + [r["key"] for r in new_rows]
        self.timed = cat(kept.timed, np.array([o[0] for o in new_orders], dtype=bool))
        self.kind_rank = cat(kept.kind_rank, np.array([o[1] for o in new_orders], np.int8))
        self.his = cat(kept.his, np.array([o[2] for o in new_orders], dtype=bool))
        # Rank: kept passages are in the order already; a new one goes where its class and
        # id fall among them (duplicates.preference).
        classes = kept.classes()
        places = []
        for row, c in zip(new_rows, new_class.tolist()):
            lo, hi = np.searchsorted(classes, c, "left"), np.searchsorted(classes, c, "right")
            places.append((bisect.bisect_left(kept.ids, row["id"], int(lo), int(hi)), c,
                           row["id"]))
        among_new = sorted(range(n_new), key=places.__getitem__)
        at = np.array([places[k][0] for k in among_new], dtype=np.int64)
        old_rank = np.arange(n_old) + np.searchsorted(at, np.arange(n_old), "right")
        new_rank = np.empty(n_new, dtype=np.int64)
        new_rank[among_new] = at + np.arange(n_new)
        self.rank = cat(old_rank, new_rank)
        self.live = np.arange(n) < self.n_live
        self.is_new = (np.arange(n) >= self.first_new) & self.live
        # Decisions: kept ones carried over (renumbered), new ones taken when their turn comes.
        mapped = np.where(kept.canon == CANONICAL, CANONICAL,
                          here[np.maximum(kept.canon, 0)])
        self.canon = cat(mapped, np.full(n_new, CANONICAL, dtype=np.int64))
        self.cover = cat(kept.cover, np.zeros(n_new))
        # Shingles: each passage's, from a pool of the kept ones and the new ones.
        new_sizes = np.array([len(s) for s in new_sets], dtype=np.int64)
        new_codes = np.concatenate(new_sets) if new_sets else np.zeros(0, dtype=np.uint64)
        kept_starts = np.concatenate(([0], np.cumsum(kept.sizes)[:-1]))
        self.pool = np.concatenate((kept.codes, new_codes))
        self.starts = cat(kept_starts, len(kept.codes) +
                          np.concatenate(([0], np.cumsum(new_sizes)[:-1]))[:n_new])
        self.sizes = cat(kept.sizes, new_sizes)
        # Who holds each shingle: the kept index, renumbered, with the new shingles merged in.
        order = np.argsort(new_codes, kind="stable")
        new_owner = np.repeat(self.first_new + np.arange(n_new, dtype=np.int64), new_sizes)
        where = np.searchsorted(kept.index_codes, new_codes[order])
        self.codes = np.insert(kept.index_codes, where, new_codes[order])
        self.owner = np.insert(here[kept.index_owner], where, new_owner[order])
        self.decided = 0

    def set_of(self, j: int) -> np.ndarray:
        return self.pool[self.starts[j]:self.starts[j] + self.sizes[j]]

    # ---- who holds what -----------------------------------------------------------------------
    def holders(self, j: int) -> tuple[np.ndarray, np.ndarray, int]:
        """(holder, which of j's shingles it holds) for every other passage or ghost holding
        one of j's shingles, and the number of j's shingles."""
        mine = self.set_of(j)
        lo = np.searchsorted(self.codes, mine, "left")
        hi = np.searchsorted(self.codes, mine, "right")
        which = np.repeat(np.arange(len(mine)), hi - lo)
        holder = self.owner[ranges(lo, hi - lo)]
        keep = holder != j
        return holder[keep], which[keep], len(mine)

    def counts(self, holder, which, size, j) -> tuple[np.ndarray, np.ndarray]:
        """Per shingle of j: (holders now, holders before the change), j included."""
        me_now, me_before = int(self.live[j]), int(not self.is_new[j])
        now = np.bincount(which[self.live[holder]], minlength=size) + me_now
        before = np.bincount(which[~self.is_new[holder]], minlength=size) + me_before
        return now, before

    # ---- deciding ----------------------------------------------------------------------------
    def decide(self, j: int) -> None:
        """Take j's decision as find_copies would, from the decisions before it."""
        self.decided += 1
        self.canon[j], self.cover[j] = CANONICAL, 0.0
        holder, which, size = self.holders(j)
        if not size:
            return
        now, _ = self.counts(holder, which, size, j)
        before = self.live[holder] & (self.rank[holder] < self.rank[j]) & \
            (self.canon[holder] == CANONICAL)
        covered = np.bincount(which[before], minlength=size) > 0
        cover = float(covered.mean())
        partner = before & (now[which] <= dup.COMMON)
        if not partner.any():
            return
        ids, shared = np.unique(holder[partner], return_counts=True)
        # The most shared, then the earliest in the order (find_copies: max of (n, -i)).
        best = max(zip(shared.tolist(), (-self.rank[ids]).tolist(), ids.tolist()))
        n, i = best[0], best[2]
        if n / (size + self.sizes[i] - n) >= dup.JACCARD or cover >= dup.COVERED:
            self.canon[j], self.cover[j] = i, round(cover, 4)

    def reached(self, x: int) -> np.ndarray:
        """The passages after x whose decision may change when x's standing changes (x a
        passage that became or stopped being canonical, or a canonical ghost)."""
        holder, which, size = self.holders(x)
        if not size:
            return np.zeros(0, dtype=np.int64)
        now, before = self.counts(holder, which, size, x)
        later = self.live[holder] & (self.rank[holder] > self.rank[x])
        rare = np.minimum(now, before) <= dup.COMMON  # x may be a partner through it
        # Through a common shingle only its cover: up to the next canonical holder after x,
        # and none at all when a canonical before x holds it (covered with or without x).
        canonical = self.live[holder] & (self.canon[holder] == CANONICAL)
        next_canon = np.full(size, np.iinfo(np.int64).max)
        np.minimum.at(next_canon, which[canonical & later], self.rank[holder[canonical & later]])
        next_canon[which[canonical & ~later]] = self.rank[x]
        reach = later & (rare[which] | (self.rank[holder] < next_canon[which]))
        return np.unique(holder[reach])

    def crossed(self, x: int) -> np.ndarray:
        """Every passage holding a shingle of x (new or removed) whose count crossed COMMON."""
        holder, which, size = self.holders(x)
        if not size:
            return np.zeros(0, dtype=np.int64)
        now, before = self.counts(holder, which, size, x)
        flipped = (now <= dup.COMMON) != (before <= dup.COMMON)
        return np.unique(holder[flipped[which] & self.live[holder]])

    def run(self, corpus: str) -> Refreshed:
        queue: list[tuple[int, int]] = []
        queued = np.zeros(len(self.ids), dtype=bool)

        def push(passages) -> None:
            for p in np.asarray(passages, dtype=np.int64).tolist():
                if not queued[p]:
                    queued[p] = True
                    heapq.heappush(queue, (int(self.rank[p]), p))

        push(range(self.first_new, self.n_live))
        for g in range(self.n_live, len(self.ids)):
            push(self.crossed(g))
            if self.canon[g] == CANONICAL:
                push(self.reached(g))
        for j in range(self.first_new, self.n_live):
            push(self.crossed(j))
        # A kept copy whose canonical left is decided again (reached finds it too; be sure).
        push(np.flatnonzero(self.canon[:self.first_new] >= self.n_live))
        while queue:
            _, j = heapq.heappop(queue)
            was_canonical = self.canon[j] == CANONICAL and not self.is_new[j]
            self.decide(j)
            if (self.canon[j] == CANONICAL) != was_canonical:
                push(self.reached(j))
        return Refreshed(*self._result(corpus), self.decided)

    def _result(self, corpus: str) -> tuple[dict, Signatures]:
        """The live passages in rank order, as the next refresh keeps them."""
        n = self.n_live
        perm = np.argsort(self.rank[:n], kind="stable")
        rank_of = np.empty(n, dtype=np.int64)  # number here -> rank among the live
        rank_of[perm] = np.arange(n)
        canon = self.canon[perm]
        assert (canon < n).all(), "a copy points at a removed passage"
        canon = np.where(canon == CANONICAL, CANONICAL, rank_of[np.maximum(canon, 0)])
        sizes = self.sizes[perm]
        codes = self.pool[ranges(self.starts[perm], sizes)]
        live = self.owner < n
        signatures = Signatures(
            ids=[self.ids[j] for j in perm.tolist()], keys=[self.keys[j] for j in perm.tolist()],
            timed=self.timed[perm], kind_rank=self.kind_rank[perm], his=self.his[perm],
            sizes=sizes, codes=codes, canon=canon, cover=self.cover[perm],
            index_codes=self.codes[live], index_owner=rank_of[self.owner[live]],
            corpus=corpus)
        return signatures.copies(), signatures
