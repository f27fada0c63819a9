"""Exact nearest-neighbour search over the vector index's own vectors, kept beside it as files.

    table = VectorTable(ids, vectors, metas)       # one row per passage, vectors made unit length
    folder = table.save(home.root / "vectors", "chunks_…")   # vectors.npy + columns.npz + rows.json
    table = VectorTable.load(folder)               # the vectors memory-mapped, not read in
    rows = table.mask(kind="tweet", since_day=20240101, own_only=True)   # a boolean column
    [(chunk_id, doc_id, similarity), ...] = table.search(vector, k=20, rows=rows)

Why keep a copy of the vectors next to Chroma: its HNSW graph is approximate, and on this
machine (bench/vector_scale.py) it found 52 % (10k) and 13 % (100k) of the true top-10 of random
unit vectors at its default settings, 0.991 on the real MiniLM vectors; and a filtered query
cost 43x (10k) and 317x (100k, 1.4 s) an unfiltered one, because Chroma builds the allowed ids
from metadata first. A product of the question with every row is exact and costs ~15 ms at
100k x 384 float32; a filter is a boolean mask over small columns, so a filtered query costs
no more than the unfiltered product (1.01x at 100k), and a selective one much less. Past a few
hundred thousand passages the product costs more than an HNSW search, and the index asks Chroma
again (see `graph.vector_index.EXACT_MAX`).

The columns mirror the metadata the index filters on: the document, its kind, its day
(yyyymmdd as an integer, 0 when undated), whether it is his own post (not a retweet) and
whether the passage is in his words; and `canon`, the row of each passage's canonical passage
(its own row, unless it is a copy: corpus/duplicates.py). A search leaves out every copy whose
canonical passes the same filters, so one text takes one place; where the filters leave the
canonical out, its copy stands in.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Sequence

import numpy as np

from graph.span_vectors import SpanVectors

FILES = ("vectors.npy", "columns.npz", "rows.json")


class VectorTable:
    def __init__(self, ids: Sequence[str], vectors, metas: Sequence[dict], spans=None):
        """`vectors`: one row per id (normalised here); `metas`: the index's metadata of each
        (doc_id, kind, ts, own, his, and copy_of for a copy); `spans`: the vectors of the passages' quotable stretches
        (`graph.span_vectors.SpanVectors`), when the embedder makes them."""
        self.spans = spans
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(ids):
            raise ValueError(f"{len(ids)} ids but vectors of shape {vectors.shape}")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = vectors / np.where(norms == 0, 1, norms)  # cosine = dot of unit vectors
        self.ids = list(ids)
        self.docs = sorted({m["doc_id"] for m in metas})
        self.kinds = sorted({m["kind"] for m in metas})
        doc_code = {d: i for i, d in enumerate(self.docs)}
        kind_code = {k: i for i, k in enumerate(self.kinds)}
        self.doc = np.array([doc_code[m["doc_id"]] for m in metas], dtype=np.int32)
        self.kind = np.array([kind_code[m["kind"]] for m in metas], dtype=np.int16)
        self.ts = np.array([int(m["ts"]) for m in metas], dtype=np.int32)
        self.own = np.array([bool(m["own"]) for m in metas], dtype=bool)
        self.his = np.array([bool(m["his"]) for m in metas], dtype=bool)
        self._row_of: dict[str, int] | None = None
        # The rest of each row's index metadata (text hash, likes, reply), when every row has
        # it: then the table tells a sync what the index holds without reading it from Chroma
        # (14 s of a one-document build at 100k passages).
        self.h = self.likes = self.reply = None
        if metas and all(_is_hash(m.get("h")) and "likes" in m and "reply" in m for m in metas):
            self.h = np.array([int(m["h"], 16) for m in metas], dtype=np.uint64)
            self.likes = np.array([int(m["likes"]) for m in metas], dtype=np.int64)
            self.reply = np.array([bool(m["reply"]) for m in metas], dtype=bool)
        self.canon = np.arange(len(self.ids), dtype=np.int32)
        for i, m in enumerate(metas):
            if m.get("copy_of") is not None:
                self.canon[i] = self.row_of(m["copy_of"])

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1]) if self.vectors.ndim == 2 else 0

    def row_of(self, chunk_id: str) -> int | None:
        if self._row_of is None:
            self._row_of = {cid: i for i, cid in enumerate(self.ids)}
        return self._row_of.get(chunk_id)

    def meta(self, row: int) -> dict:
        """The index metadata of one row, as it was given (for carrying a row into a new table)."""
        meta = {"doc_id": self.docs[self.doc[row]], "kind": self.kinds[self.kind[row]],
                "ts": int(self.ts[row]), "own": bool(self.own[row]), "his": bool(self.his[row])}
        if self.canon[row] != row:
            meta["copy_of"] = self.ids[self.canon[row]]
        return meta

    def all_meta(self) -> dict[str, dict] | None:
        """{chunk id: its whole index metadata, as written to Chroma}, or None when the table
        does not hold all of it (made before it did)."""
        if self.h is None:
            return None
        docs, kinds, ids = self.docs, self.kinds, self.ids
        out = {}
        for row, (d, k, ts, own, his, h, likes, reply, canon) in enumerate(zip(
                self.doc.tolist(), self.kind.tolist(), self.ts.tolist(), self.own.tolist(),
                self.his.tolist(), self.h.tolist(), self.likes.tolist(), self.reply.tolist(),
                self.canon.tolist())):
            meta = {"doc_id": docs[d], "kind": kinds[k], "ts": ts, "h": f"{h:016x}",
                    "own": own, "reply": reply, "likes": likes, "his": his}
            if canon != row:
                meta["copy_of"] = ids[canon]
            out[ids[row]] = meta
        return out

    # ---- searching ----------------------------------------------------------------------------
    def mask(self, *, kind: str | None = None, since_day: int | None = None,
             until_day: int | None = None, own_only: bool = False, his: bool | None = None,
             doc_ids: Sequence[str] = ()) -> np.ndarray | None:
        """The rows that pass the filters (the same tests the index asks Chroma for), or None
        when nothing is filtered."""
        tests = []
        if kind is not None:
            tests.append(self.kind == self._codes("kinds").get(kind, -1))
        if since_day is not None:
            tests.append(self.ts >= since_day)
        if until_day is not None:
            tests.append(self.ts <= until_day)
        if own_only:
            tests.append(self.own)
        if his is not None:
            tests.append(self.his == his)
        if doc_ids:
            codes = self._codes("docs")
            wanted = [codes[d] for d in doc_ids if d in codes]
            tests.append(np.isin(self.doc, np.array(wanted, dtype=np.int32)))
        if not tests:
            return None
        rows = tests[0].copy()
        for test in tests[1:]:
            rows &= test
        return rows

    def search(self, vector, k: int, rows: np.ndarray | None = None) -> list[tuple[str, str, float]]:
        """The k rows closest to `vector` by cosine among `rows` (all when None), best first,
        ties by id: [(chunk id, doc id, similarity)]."""
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(q))
        if k <= 0 or len(self) == 0 or norm == 0:
            return []
        q = q / norm
        rows = self._one_per_text(rows)
        if rows is None:
            candidates, scores = None, _products(self.vectors, q)
        else:
            candidates = np.flatnonzero(rows)
            if len(candidates) * 4 < len(self):  # few rows: multiply only those
                scores = _products(self.vectors[candidates], q)
            else:  # most rows: one pass over all of them beats gathering a copy
                scores = _products(self.vectors, q)[candidates]
        top = _top(scores, min(k, len(scores)))
        found = top if candidates is None else candidates[top]
        return [(self.ids[r], self.docs[self.doc[r]], float(s))
                for r, s in zip(found.tolist(), scores[top].tolist())]

    def search_sentences(self, vector, k: int, rows: np.ndarray | None = None
                         ) -> list[tuple[str, str, float, float]]:
        """The k rows whose closest quotable stretch (`spans`) is closest to `vector`, best
        first: [(chunk id, doc id, best stretch's cosine, the passage's own cosine)]. A
        passage about something else can still hold the one sentence that answers; its own
        vector, the mean of all its words, hides that sentence. Only the stretches of `rows`
        are read (a few documents' worth, as the reading asks), so no cast of the whole
        float16 matrix is paid."""
        spans = self.spans
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(q))
        if spans is None or not spans.current or k <= 0 or len(self) == 0 or norm == 0:
            return []
        first, count = self._span_blocks()
        rows = self._one_per_text(rows)
        wanted = np.flatnonzero((count > 0) if rows is None else rows & (count > 0))
        if len(wanted) == 0:
            return []
        # every stretch of the wanted passages, block after block, and where each block starts
        sizes = count[wanted]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        at = np.repeat(first[wanted] - starts, sizes) + np.arange(int(sizes.sum()))
        stretch = np.asarray(spans.vectors[at], dtype=np.float32)
        best = np.maximum.reduceat(_products(stretch, q / norm), starts)
        top = _top(best, min(k, len(best)))
        own = _products(self.vectors[wanted[top]], q / norm)
        return [(self.ids[r], self.docs[self.doc[r]], float(b), float(o))
                for r, b, o in zip(wanted[top].tolist(), best[top].tolist(), own.tolist())]

    def _span_blocks(self) -> tuple[np.ndarray, np.ndarray]:
        """For each row, where its stretches start in the span matrix and how many there
        are (0: none made), made once."""
        blocks = self.__dict__.get("_blocks")
        if blocks is None:
            first = np.zeros(len(self), dtype=np.int64)
            count = np.zeros(len(self), dtype=np.int64)
            at = 0
            for cid, spans in self.spans.chunks:
                row = self.row_of(cid)
                if row is not None:
                    first[row], count[row] = at, len(spans)
                at += len(spans)
            blocks = self._blocks = (first, count)
        return blocks

    def _one_per_text(self, rows: np.ndarray | None) -> np.ndarray | None:
        """`rows` without the copies whose canonical is among them (None: all rows)."""
        copies = self.__dict__.get("_copies")
        if copies is None:  # made once: a search should not pay for it every time
            copies = self._copies = self.canon != np.arange(len(self), dtype=np.int32)
            self._any_copy = bool(copies.any())
        if not self._any_copy:
            return rows
        if rows is None:
            return ~copies  # every canonical passes no filter
        return rows & ~(copies & rows[self.canon])

    def _codes(self, vocabulary: str) -> dict[str, int]:
        """Value -> code of one vocabulary ("docs" or "kinds"), made on first use."""
        cache = self.__dict__.setdefault("_code_of", {})
        if vocabulary not in cache:
            cache[vocabulary] = {v: i for i, v in enumerate(getattr(self, vocabulary))}
        return cache[vocabulary]

    # ---- files --------------------------------------------------------------------------------
    def save(self, parent: Path, prefix: str) -> Path:
        """Write the table into a new folder `<prefix>-<random>` under `parent` (written aside,
        then renamed into place, so a reader never sees half a table). Returns the folder."""
        parent = Path(parent)
        parent.mkdir(parents=True, exist_ok=True)
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        tmp = parent / f".{name}.tmp"
        tmp.mkdir()
        try:
            np.save(tmp / "vectors.npy", self.vectors, allow_pickle=False)
            extra = {} if self.h is None else {"h": self.h, "likes": self.likes,
                                                  "reply": self.reply}
            np.savez(tmp / "columns.npz", doc=self.doc, kind=self.kind, ts=self.ts,
                     own=self.own, his=self.his, canon=self.canon, **extra)
            (tmp / "rows.json").write_text(json.dumps(
                {"ids": self.ids, "docs": self.docs, "kinds": self.kinds}), encoding="utf-8")
            if self.spans is not None:
                self.spans.save(tmp)
            os.replace(tmp, parent / name)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return parent / name

    @classmethod
    def load(cls, folder: Path) -> "VectorTable":
        """A saved table; ValueError or OSError when the folder is missing or inconsistent."""
        folder = Path(folder)
        table = cls.__new__(cls)
        table.vectors = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
        with np.load(folder / "columns.npz", allow_pickle=False) as columns:
            for name in ("doc", "kind", "ts", "own", "his"):
                setattr(table, name, columns[name])
            # Tables saved before copies existed have no column: every row is canonical.
            table.canon = columns["canon"] if "canon" in columns.files else \
                np.arange(len(table.doc), dtype=np.int32)
            # Tables saved before they held the whole metadata: a sync asks Chroma instead.
            whole = all(c in columns.files for c in ("h", "likes", "reply"))
            table.h, table.likes, table.reply = (columns["h"], columns["likes"],
                                                 columns["reply"]) if whole else (None,) * 3
        rows = json.loads((folder / "rows.json").read_text(encoding="utf-8"))
        table.ids, table.docs, table.kinds = rows["ids"], rows["docs"], rows["kinds"]
        table._row_of = None
        table.spans = SpanVectors.load(folder)
        n = len(table.ids)
        if table.vectors.ndim != 2 or table.vectors.shape[0] != n or any(
                len(getattr(table, c)) != n for c in ("doc", "kind", "ts", "own", "his", "canon")) \
                or (table.h is not None and any(len(getattr(table, c)) != n
                                                for c in ("h", "likes", "reply"))):
            raise ValueError(f"{folder} is inconsistent: {n} ids, vectors "
                             f"{table.vectors.shape}")
        if n and (table.doc.max() >= len(table.docs) or table.kind.max() >= len(table.kinds)
                  or table.canon.max() >= n or table.canon.min() < 0):
            raise ValueError(f"{folder} is inconsistent: a code past its vocabulary")
        return table


def _is_hash(h) -> bool:
    """A row's text hash as the index writes it: 16 hex digits (fits one uint64 column)."""
    if not isinstance(h, str) or len(h) != 16:
        return False
    try:
        int(h, 16)
    except ValueError:
        return False
    return True


def _products(vectors: np.ndarray, q: np.ndarray) -> np.ndarray:
    """vectors @ q in one thread. A matrix-vector product is bound by memory, not arithmetic,
    and BLAS hands it to its worker threads, which wait for a core whenever onnxruntime's
    threads still spin after embedding the question: measured right after an embedding, 10 ms
    for 5,195 x 384 through BLAS, 0.9 ms through einsum (at 100k: 38 vs 32 ms)."""
    return np.einsum("ij,j->i", vectors, q)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k highest scores, best first; equal scores keep their order (by id)."""
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if k < len(scores):
        # The k-th best score, then every position at least that good: ties at the border
        # are all kept, so the stable sort below can order them by position.
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        part = np.flatnonzero(scores >= kth)
    else:
        part = np.arange(len(scores))
    order = np.argsort(-scores[part], kind="stable")
    return part[order][:k]
