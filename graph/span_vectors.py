"""A vector for every quotable stretch of his passages, made by the build in the same pass as
the passage's own vector, kept beside the exact-search table.

    spans = SpanVectors.from_parts({"doc#0": ([(0, 41), (42, 90)], array_2x384)})
    spans.of("doc#0")          # {(0, 41): vector, (42, 90): vector}, or None if never made
    spans.save(folder); SpanVectors.load(folder)   # spans.npy, spans_at.npy, spans.json

Why: the framework reading scores each candidate sentence by meaning against the question.
Embedding them when the question comes costs ~8 ms a sentence here, so only the likeliest 20
could be scored, and answering took ~500 ms at p95. The encoder already computes a vector for
every token of every passage at build time; the mean of a stretch's tokens, made unit length
("late chunking"), is a vector of that sentence read in its passage, for no more work than the
passage's own. On the evaluation questions it chose as many answering sentences as embedding
each one alone (bench/answer_quality.py), with every candidate scored and in half the time.

The stretches are those of `corpus.quotable` at its RULES version; vectors made under other
rules are treated as missing (the next `ktp build` makes them again).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import numpy as np

from corpus.quotable import RULES

FILES = ("spans.npy", "spans_at.npy", "spans.json")
Span = tuple[int, int]


class SpanVectors:
    def __init__(self, chunks: list[tuple[str, list[Span]]], vectors, rules: int | None = None):
        """`chunks`: each passage with its spans, in the order of the rows of `vectors`;
        `rules`: the version they were made under (default: the rules in use)."""
        self.chunks, self.vectors = chunks, vectors
        self.rules = RULES if rules is None else rules
        self._where: dict[str, tuple[int, list[Span]]] | None = None

    @classmethod
    def from_parts(cls, parts: dict[str, tuple[list[Span], np.ndarray]]) -> "SpanVectors":
        chunks = [(cid, [tuple(s) for s in spans]) for cid, (spans, _) in parts.items()]
        dim = _dim(parts)
        blocks = [np.asarray(v, dtype=np.float16).reshape(-1, dim) for spans, v in
                  parts.values() if spans] if dim else []
        vectors = np.concatenate(blocks) if blocks else np.zeros((0, dim), dtype=np.float16)
        return cls(chunks, vectors)

    @property
    def current(self) -> bool:
        """Made under the rules in use (else every passage counts as without vectors)."""
        return self.rules == RULES

    def covers(self, chunk_id: str) -> bool:
        return self.current and chunk_id in self._index()

    def of(self, chunk_id: str) -> dict[Span, np.ndarray] | None:
        """The passage's span vectors by (start, end), or None when it has none (yet)."""
        spans, block = self.part(chunk_id)
        if block is None:
            return None
        return {s: np.asarray(v, dtype=np.float32) for s, v in zip(spans, block)}

    def part(self, chunk_id: str) -> tuple[list[Span], np.ndarray | None]:
        """(spans, their vectors) of one passage, for carrying it into a new table."""
        if not self.current or chunk_id not in self._index():
            return [], None
        row, spans = self._index()[chunk_id]
        return spans, self.vectors[row:row + len(spans)]

    def _index(self) -> dict[str, tuple[int, list[Span]]]:
        if self._where is None:
            where, row = {}, 0
            for cid, spans in self.chunks:
                where[cid] = (row, spans)
                row += len(spans)
            self._where = where
        return self._where

    # ---- files --------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """spans.npy: the vectors (float16); spans_at.npy: each one's (start, end); spans.json:
        the rules version and each passage with its number of spans, in row order."""
        folder = Path(folder)
        at = np.array([s for _, spans in self.chunks for s in spans], dtype=np.int32)
        np.save(folder / "spans.npy", self.vectors, allow_pickle=False)
        np.save(folder / "spans_at.npy", at.reshape(-1, 2), allow_pickle=False)
        (folder / "spans.json").write_text(json.dumps(
            {"rules": self.rules, "chunks": [cid for cid, _ in self.chunks],
             "counts": [len(spans) for _, spans in self.chunks]}), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "SpanVectors | None":
        """The saved span vectors, or None when the table has none (made before they
        existed, by an embedder that cannot make them, or damaged: the next build makes
        them again)."""
        folder = Path(folder)
        if not all((folder / f).is_file() for f in FILES):
            return None
        try:
            vectors = np.load(folder / "spans.npy", mmap_mode="r", allow_pickle=False)
            at = np.load(folder / "spans_at.npy", allow_pickle=False).tolist()
            data = json.loads((folder / "spans.json").read_text(encoding="utf-8"))
            ids, counts = data["chunks"], data["counts"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if len(ids) != len(counts) or sum(counts) != len(at) or len(at) != vectors.shape[0]:
            return None
        chunks, row = [], 0
        for cid, n in zip(ids, counts):
            chunks.append((str(cid), [tuple(a) for a in at[row:row + n]]))
            row += n
        return cls(chunks, vectors, int(data.get("rules", 0)))


def _dim(parts: dict) -> int:
    for _, v in parts.values():
        if len(v):
            return int(np.asarray(v).shape[-1])
    return 0


def pooled_spans(hidden: np.ndarray, offsets: Iterable[tuple[int, int]],
                 spans: list[Span]) -> list[np.ndarray | None]:
    """Each span's vector: the mean of the hidden states of the tokens inside it, unit length;
    None when no token lies inside (past the encoder's truncation)."""
    offsets = np.asarray(list(offsets), dtype=np.int64).reshape(-1, 2)
    real = offsets[:, 1] > offsets[:, 0]  # special and padding tokens have empty offsets
    out: list[np.ndarray | None] = []
    for start, end in spans:
        inside = real & (offsets[:, 0] >= start) & (offsets[:, 1] <= end)
        if not inside.any():
            out.append(None)
            continue
        v = hidden[inside].mean(0)
        out.append(v / max(float(np.linalg.norm(v)), 1e-12))
    return out
