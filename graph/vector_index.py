"""The vector index of chunks: Chroma, embedded under the data home, or a Chroma server when
KTP_CHROMA_URL is set (e.g. http://127.0.0.1:8000 for `chroma run --path DIR --port 8000`).

    index = VectorIndex.open(home, embedder)
    index.sync(store)                        # embeds only new or changed chunks, drops removed
    hits = index.query(vector, k=20, kind="tweet", since="2024-01-01", own_only=True)

Vectors are always computed by our embedder and passed in; Chroma's own embedding function is
never used (it would download a model). `index.json` in the data home names the live collection
and the embedder that built it: the index refuses vectors from another embedder, and a rebuild
fills a fresh collection before the pointer moves to it, so a failed rebuild leaves the good
index in place.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence
from urllib.parse import urlsplit

from corpus.errors import KtpError
from corpus.home import DataHome
from corpus.store import CorpusStore

BATCH = 64


class VectorIndexError(KtpError, RuntimeError):
    """The index cannot be used as asked; the message says how to fix it."""


@dataclass(frozen=True)
class VectorHit:
    chunk_id: str
    doc_id: str
    similarity: float  # cosine similarity, 1 = same direction


class VectorIndex:
    def __init__(self, client, pointer: Path, embedder, replacing: bool = False,
                 owned: bool = False):
        """`replacing`: opened only to be rebuilt with another embedder (skip the check).
        `owned`: the Chroma folder belongs to this data home alone (the embedded index), so
        collections it no longer points at can be removed."""
        self.client, self.pointer, self.embedder = client, pointer, embedder
        self.owned = owned
        state = self._state()
        if state and state["embedder"] != embedder.name and not replacing:
            raise VectorIndexError(
                f"the index was built with the embedder {state['embedder']!r}, not "
                f"{embedder.name!r}; rebuild it with `ktp build --reindex`, or use "
                f"--embedder {state['embedder']}")
        self.collection = self._collection(state["collection"] if state else None)

    @staticmethod
    def pointer_for(home: DataHome, url: str | None = None) -> Path:
        """The file naming the live collection (one per embedded index or server)."""
        url = url if url is not None else os.environ.get("KTP_CHROMA_URL")
        if not url:
            return home.root / "index.json"
        parts = urlsplit(url)
        return home.root / f"index-{parts.hostname}-{parts.port}.json"

    @classmethod
    def open(cls, home: DataHome, embedder, url: str | None = None,
             replacing: bool = False) -> "VectorIndex":
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        home.ensure()
        url = url if url is not None else os.environ.get("KTP_CHROMA_URL")
        if url:
            parts = urlsplit(url)
            try:
                client = chromadb.HttpClient(host=parts.hostname, port=parts.port or 8000,
                                             ssl=parts.scheme == "https", settings=settings)
                client.heartbeat()
            except Exception as e:  # the client raises several kinds; all mean "not there"
                raise VectorIndexError(f"no Chroma server answers at {url} ({type(e).__name__}); "
                                  "start one with `chroma run --path DIR --port N`, or unset "
                                  "KTP_CHROMA_URL to use the embedded index") from None
        else:
            client = chromadb.PersistentClient(path=str(home.root / "chroma"), settings=settings)
        return cls(client, cls.pointer_for(home, url), embedder, replacing, owned=not url)

    # ---- state --------------------------------------------------------------------------------
    def _state(self) -> dict | None:
        try:
            return json.loads(self.pointer.read_text())
        except (OSError, ValueError):
            return None

    def _collection(self, name: str | None):
        name = name or self._new_name()
        collection = self.client.get_or_create_collection(
            name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
        if not self._state():
            self._point_at(name)
        return collection

    def _new_name(self) -> str:
        return f"chunks_{time.strftime('%Y%m%d%H%M%S')}_{uuid.uuid4().hex[:8]}"  # never reused

    def _point_at(self, name: str, synced_with: str | None = None) -> None:
        tmp = self.pointer.with_suffix(".tmp")
        tmp.write_text(json.dumps({"collection": name, "embedder": self.embedder.name,
                                   "dim": self.embedder.dim, "synced_with": synced_with}))
        os.replace(tmp, self.pointer)

    def count(self) -> int:
        return self.collection.count()

    # ---- writing ------------------------------------------------------------------------------
    def sync(self, store: CorpusStore, progress: Callable[[int, int], None] | None = None) -> dict:
        """Bring the index in line with the store: embed new or changed chunks (by a hash of
        their text), delete chunks that are gone. Returns counts."""
        self.remove_orphans()
        wanted = _chunk_rows(store)
        have = self._indexed_meta()
        stale = [cid for cid in have if cid not in wanted]
        todo = [cid for cid, row in wanted.items() if (have.get(cid) or {}).get("h") != row["h"]]
        # Same text, other metadata (a speaker now known, new like counts): no new vector.
        fresh = set(todo)
        relabel = [cid for cid, row in wanted.items() if cid in have and cid not in fresh
                   and have[cid] != row["meta"]]
        for start in range(0, len(stale), 5000):
            self.collection.delete(ids=stale[start:start + 5000])
        for start in range(0, len(relabel), 5000):
            part = relabel[start:start + 5000]
            self.collection.update(ids=part, metadatas=[wanted[c]["meta"] for c in part])
        self._embed_into(self.collection, [wanted[c] for c in todo], progress)
        self._point_at(self.collection.name, synced_with=store.fingerprint())
        return {"embedded": len(todo), "removed": len(stale), "relabelled": len(relabel),
                "unchanged": len(wanted) - len(todo), "total": len(wanted)}

    def rebuild(self, store: CorpusStore,
                progress: Callable[[int, int], None] | None = None) -> dict:
        """Embed everything into a fresh collection; switch to it only when it is complete."""
        rows = list(_chunk_rows(store).values())
        self.remove_orphans()
        fresh_name = self._new_name()
        fresh = self.client.get_or_create_collection(
            fresh_name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
        try:
            self._embed_into(fresh, rows, progress)
        except BaseException:
            self.client.delete_collection(fresh_name)  # the old index stays live
            raise
        old = self.collection.name
        self._point_at(fresh_name, synced_with=store.fingerprint())
        self.collection = fresh
        if old != fresh_name:
            self.client.delete_collection(old)
        return {"embedded": len(rows), "removed": 0, "unchanged": 0, "total": len(rows)}

    def remove_orphans(self) -> list[str]:
        """Collections of ours the pointer does not name: left by a rebuild that was killed
        before it could clean up. Only in the embedded index: on a shared server another data
        home's live collection would look the same."""
        if not self.owned:
            return []
        live = self.collection.name
        orphans = [c.name if hasattr(c, "name") else str(c) for c in self.client.list_collections()]
        orphans = [n for n in orphans if n.startswith("chunks_") and n != live]
        for name in orphans:
            self.client.delete_collection(name)
        return orphans

    def _embed_into(self, collection, rows: list[dict], progress) -> None:
        for start in range(0, len(rows), BATCH):
            batch = rows[start:start + BATCH]
            vectors = self.embedder.embed([r["text"] for r in batch])
            collection.upsert(ids=[r["id"] for r in batch], embeddings=vectors,
                              metadatas=[r["meta"] for r in batch])
            if progress:
                progress(min(start + BATCH, len(rows)), len(rows))

    def _indexed_meta(self) -> dict[str, dict]:
        found, offset = {}, 0
        while True:
            page = self.collection.get(include=["metadatas"], limit=5000, offset=offset)
            if not page["ids"]:
                return found
            found.update({i: dict(m or {}) for i, m in zip(page["ids"], page["metadatas"])})
            offset += len(page["ids"])

    # ---- reading ------------------------------------------------------------------------------
    def query(self, vector, k: int = 20, *, kind: str | None = None, since: str | None = None,
              until: str | None = None, own_only: bool = False,
              his: bool | None = None, doc_ids: Sequence[str] = ()) -> list[VectorHit]:
        """`his`: True for his words only, False for everyone else's, None for all.
        `doc_ids`: only passages of these documents."""
        if self.collection.count() == 0:
            return []
        where = _where(kind, since, until, own_only, his, doc_ids)
        result = self.collection.query(query_embeddings=[vector], n_results=k,
                                       where=where, include=["distances", "metadatas"])
        return [VectorHit(cid, meta["doc_id"], round(1.0 - dist, 6))
                for cid, dist, meta in zip(result["ids"][0], result["distances"][0],
                                           result["metadatas"][0])]


def _chunk_rows(store: CorpusStore) -> dict[str, dict]:
    """Every chunk with the text to embed (title + passage) and its filterable metadata."""
    rows = {}
    sql = """SELECT c.id, c.doc_id, c.text, d.kind, d.title, d.date, d.meta, c.speaker
             FROM chunks c JOIN documents d ON d.id = c.doc_id"""
    for cid, doc_id, text, kind, title, date, meta, speaker in store.db.execute(sql):
        meta = json.loads(meta)
        # A title says what a passage of a post or talk is about; a tweet has no real title.
        embed_text = f"{title}\n{text}" if kind not in ("tweet", "thread") else text
        digest = hashlib.sha1(embed_text.encode()).hexdigest()[:16]
        rows[cid] = {"id": cid, "text": embed_text, "h": digest, "meta": {
            "doc_id": doc_id, "kind": kind, "ts": _day(date), "h": digest,
            "own": not meta.get("is_retweet", False), "reply": bool(meta.get("is_reply")),
            "likes": int(meta.get("likes") or 0), "his": speaker == store.subject}}
    return rows


def _day(date: str | None) -> int:
    """'2024-06-01T…' -> 20240601 (Chroma compares numbers, not strings); 0 when undated."""
    return int(date[:10].replace("-", "")) if date and len(date) >= 10 else 0


def _where(kind, since, until, own_only, his=None, doc_ids=()) -> dict | None:
    clauses = [{"his": his}] if his is not None else []
    if doc_ids:
        clauses.append({"doc_id": {"$in": list(doc_ids)}})
    if kind:
        clauses.append({"kind": kind})
    if since:
        clauses.append({"ts": {"$gte": _day(since)}})
    if until:
        clauses.append({"ts": {"$lte": _day(until)}})
    if own_only:
        clauses.append({"own": True})
    return None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}
