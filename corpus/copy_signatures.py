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

import heapq
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from corpus import duplicates as dup

VERSION = 1  # of the file's layout and of the shingle codes (duplicates.word_code)
CANONICAL = -1


@dataclass
class Signatures:
    """Per passage, in one fixed order: id, key (its document's hash and offsets: a passage
    whose key is unchanged has the same text), what orders it (timed, kind rank, his words),
    its shingles, and its decision (`canon`: the index of its canonical, or CANONICAL; `cover`:
    the share of its shingles in canonical passages before it). `corpus`: the corpus
    fingerprint the decisions were taken for."""
    ids: list[str]
    keys: list[str]
    timed: np.ndarray  # bool
    kind_rank: np.ndarray  # int8
    his: np.ndarray  # bool
    sizes: np.ndarray  # int64, shingles per passage
    codes: np.ndarray  # uint64, every passage's sorted shingles, one after another
    canon: np.ndarray  # int64
    cover: np.ndarray  # float64
    corpus: str

    @classmethod
    def load(cls, path: Path) -> "Signatures | None":
        """The kept signatures, or None when there are none usable (missing, damaged, of
        another layout): then copies are found from scratch and the file written again."""
        try:
            with np.load(path, allow_pickle=False) as f:
                if int(f["version"]) != VERSION:
                    return None
                found = cls(ids=f["ids"].tolist(), keys=f["keys"].tolist(), timed=f["timed"],
                            kind_rank=f["kind_rank"], his=f["his"], sizes=f["sizes"],
                            codes=f["codes"], canon=f["canon"], cover=f["cover"],
                            corpus=str(f["corpus"]))
        except (OSError, ValueError, KeyError):
            return None
        n = len(found.ids)
        if not all(len(a) == n for a in (found.keys, found.timed, found.kind_rank, found.his,
                                         found.sizes, found.canon, found.cover)) or \
                int(found.sizes.sum()) != len(found.codes):
            return None
        return found

    def save(self, path: Path) -> None:
        """Written beside, then moved over the old file: a build killed meanwhile leaves the
        old one (whose corpus fingerprint then no longer matches: found from scratch)."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as out:
            np.savez(out, version=np.int64(VERSION), ids=np.array(self.ids, dtype=str),
                     keys=np.array(self.keys, dtype=str), timed=self.timed,
                     kind_rank=self.kind_rank, his=self.his, sizes=self.sizes,
                     codes=self.codes, canon=self.canon, cover=self.cover,
                     corpus=np.array(self.corpus))
        os.replace(tmp, path)

    def copies(self) -> dict[str, tuple[str, float]]:
        """{copy id: (canonical id, cover)}, as `find_copies` returns it."""
        return {self.ids[j]: (self.ids[int(c)], float(self.cover[j]))
                for j, c in enumerate(self.canon.tolist()) if c != CANONICAL}


def order_of(row: Mapping) -> tuple[bool, int, bool]:
    """(timed, kind rank, his words): what `duplicates.preference` orders by, besides the id."""
    return (row.get("start_time") is not None, dup._KIND_RANK.get(row.get("kind"), 2),
            bool(row.get("his_words")))


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
    return copies, _signatures(ordered, sets, canon, cover, corpus)


def _signatures(rows, sets, canon, cover, corpus) -> Signatures:
    orders = [order_of(r) for r in rows]
    return Signatures(
        ids=[r["id"] for r in rows], keys=[r["key"] for r in rows],
        timed=np.array([o[0] for o in orders], dtype=bool),
        kind_rank=np.array([o[1] for o in orders], dtype=np.int8),
        his=np.array([o[2] for o in orders], dtype=bool),
        sizes=np.array([len(s) for s in sets], dtype=np.int64),
        codes=np.concatenate(sets) if sets else np.zeros(0, dtype=np.uint64),
        canon=np.asarray(canon, dtype=np.int64), cover=np.asarray(cover, dtype=np.float64),
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
    retained, new_rows = [], []
    for row in rows:
        i = at.get(row["id"])
        if i is not None and kept.keys[i] == row["key"]:
            if order_of(row) != (bool(kept.timed[i]), int(kept.kind_rank[i]), bool(kept.his[i])):
                return None
            retained.append(i)
        else:
            new_rows.append(row)
    gone = np.ones(len(kept.ids), dtype=bool)
    gone[retained] = False
    ghosts = np.flatnonzero(gone).tolist()
    if not new_rows and not ghosts:
        return Refreshed(kept.copies(), _with_corpus(kept, corpus), 0)
    texts = texts_of([r["id"] for r in new_rows])
    new_sets = dup.shingle_sets([texts[r["id"]] for r in new_rows])
    return _Refresh(kept, retained, ghosts, new_rows, new_sets).run(corpus)


def _with_corpus(kept: Signatures, corpus: str) -> Signatures:
    kept.corpus = corpus
    return kept


class _Refresh:
    """One refresh. Passages are numbered: kept ones still there (in the kept order), then
    the new ones, then the removed ones ("ghosts": they still hold their shingles, so that
    what their leaving reaches can be found, but are no passages any more)."""

    def __init__(self, kept: Signatures, retained: list[int], ghosts: list[int],
                 new_rows: list[Mapping], new_sets: list[np.ndarray]):
        starts = np.concatenate(([0], np.cumsum(kept.sizes)))
        old_sets = [kept.codes[starts[i]:starts[i + 1]] for i in range(len(kept.ids))]
        old_order = [(bool(kept.timed[i]), int(kept.kind_rank[i]), bool(kept.his[i]))
                     for i in range(len(kept.ids))]
        self.kept = kept
        self.n_live = len(retained) + len(new_rows)
        self.first_new = len(retained)
        everyone = retained + ghosts
        self.ids = [kept.ids[i] for i in retained] + [r["id"] for r in new_rows] + \
            [kept.ids[i] for i in ghosts]
        self.keys = [kept.keys[i] for i in retained] + [r["key"] for r in new_rows]
        self.orders = [old_order[i] for i in retained] + [order_of(r) for r in new_rows] + \
            [old_order[i] for i in ghosts]
        self.sets = [old_sets[i] for i in retained] + list(new_sets) + \
            [old_sets[i] for i in ghosts]
        n = len(self.ids)
        # Rank: the place in find_copies' order (duplicates.preference), ghosts among them.
        keys = [(not t, k, not h, cid) for (t, k, h), cid in zip(self.orders, self.ids)]
        self.rank = np.empty(n, dtype=np.int64)
        self.rank[sorted(range(n), key=keys.__getitem__)] = np.arange(n)
        self.live = np.zeros(n, dtype=bool)
        self.live[:self.n_live] = True
        # Decisions: kept ones carried over (renumbered), new ones taken when their turn comes.
        number = {old: place if place < len(retained) else place + len(new_rows)
                  for place, old in enumerate(everyone)}  # kept number -> number here
        self.canon = np.full(n, CANONICAL, dtype=np.int64)
        self.cover = np.zeros(n, dtype=np.float64)
        for old, new in number.items():
            c = int(kept.canon[old])
            self.canon[new] = CANONICAL if c == CANONICAL else number[c]
            self.cover[new] = kept.cover[old]
        # Who holds each shingle: every set's codes, sorted once.
        self.sizes = np.array([len(s) for s in self.sets], dtype=np.int64)
        codes = np.concatenate(self.sets) if n else np.zeros(0, dtype=np.uint64)
        owner = np.repeat(np.arange(n, dtype=np.int64), self.sizes)
        order = np.argsort(codes, kind="stable")
        self.codes, self.owner = codes[order], owner[order]
        self.is_new = np.zeros(n, dtype=bool)
        self.is_new[self.first_new:self.n_live] = True
        self.decided = 0

    # ---- who holds what -----------------------------------------------------------------------
    def holders(self, j: int) -> tuple[np.ndarray, np.ndarray, int]:
        """(holder, which of j's shingles it holds) for every other passage or ghost holding
        one of j's shingles, and the number of j's shingles."""
        mine = self.sets[j]
        lo = np.searchsorted(self.codes, mine, "left")
        hi = np.searchsorted(self.codes, mine, "right")
        width = hi - lo
        which = np.repeat(np.arange(len(mine)), width)
        offsets = np.repeat(lo - np.concatenate(([0], np.cumsum(width)[:-1])), width)
        positions = offsets + np.arange(int(width.sum()))
        holder = self.owner[positions]
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
        push([j for j in range(self.first_new) if self.canon[j] >= self.n_live])
        while queue:
            _, j = heapq.heappop(queue)
            was_canonical = self.canon[j] == CANONICAL and not self.is_new[j]
            self.decide(j)
            if (self.canon[j] == CANONICAL) != was_canonical:
                push(self.reached(j))
        live = range(self.n_live)
        signatures = Signatures(
            ids=self.ids[:self.n_live], keys=self.keys,
            timed=np.array([self.orders[j][0] for j in live], dtype=bool),
            kind_rank=np.array([self.orders[j][1] for j in live], dtype=np.int8),
            his=np.array([self.orders[j][2] for j in live], dtype=bool),
            sizes=self.sizes[:self.n_live].copy(),
            codes=np.concatenate(self.sets[:self.n_live]) if self.n_live else
            np.zeros(0, dtype=np.uint64),
            canon=self.canon[:self.n_live].copy(), cover=self.cover[:self.n_live].copy(),
            corpus=corpus)
        return Refreshed(signatures.copies(), signatures, self.decided)
