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

Queries are answered exactly: every sync also writes the vectors with their filter columns into
`vectors/<collection>-<id>/` in the data home (`graph.exact_search`), which the pointer names,
and a query multiplies them by the question (memory-mapped; ~15 ms at 100k passages on two
cores, where Chroma's HNSW at its defaults found 13 % of the true top-10 of random vectors and a
filtered query took 1.4 s). Filters are masks over those columns. Chroma's HNSW answers only
past EXACT_MAX passages (or while the files are missing), with a wider search (HNSW below).

Copies (corpus/duplicates.py: a passage whose text is nearly that of a canonical passage) are
never embedded: their row holds the canonical's vector, so filters still see the copy's own
document, date and speaker; and a query never returns a copy when its canonical passes the
same filters (the copy stands in for it only where the filters leave the canonical out).
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

from corpus.duplicates import update_copies
from corpus.errors import KtpError
from corpus.home import DataHome
from corpus.store import CorpusStore
from corpus.quotable import RULES, chunk_quoted, quotable_spans
from graph.embedder import MiniLMEmbedder
from graph.exact_search import VectorTable
from graph.span_vectors import SpanVectors

BATCH = 64
# Measured on the real MiniLM vectors (5,195 passages, the eval questions): recall@10 of HNSW
# against exact search was 0.991 at Chroma's defaults (M 16, ef_search 100), 1.000 at ef_search
# 400 (6 ms). On 100k random vectors (the hard case) M 32 / ef_construction 200 / ef_search 400
# found 0.60 (defaults 0.13), at ~3x the insert time (small beside embedding that many).
HNSW = {"space": "cosine", "max_neighbors": 32, "ef_construction": 200, "ef_search": 400}
# Up to this many passages a query is an exact product over all the vectors (at 100k: 150 MB
# mapped, 15 ms, where the HNSW above took 24 ms; the product grows with the corpus, HNSW
# barely); past it, only a filter that leaves at most this many rows is searched exactly.
EXACT_MAX = 250_000


class VectorIndexError(KtpError, RuntimeError):
    """The index cannot be used as asked; the message says how to fix it."""


@dataclass(frozen=True)
class VectorHit:
    chunk_id: str
    doc_id: str
    similarity: float  # cosine similarity, 1 = same direction


class VectorIndex:
    def __init__(self, client, pointer: Path, embedder, replacing: bool = False,
                 owned: bool = False, connect: Callable[[], object] | None = None):
        """`replacing`: opened only to be rebuilt with another embedder (skip the check).
        `owned`: the Chroma folder belongs to this data home alone (the embedded index), so
        collections it no longer points at can be removed. `connect`: makes the client on
        first use, when `client` is None: a query answered from the exact-search table never
        needs Chroma, whose import is 1–2 s of a cold `ktp ask`."""
        self._client, self._connect = client, connect
        self.pointer, self.embedder, self.owned = pointer, embedder, owned
        state = self._state()
        if state and state["embedder"] != embedder.name and not replacing:
            raise VectorIndexError(
                f"the index was built with the embedder {state['embedder']!r}, not "
                f"{embedder.name!r}; rebuild it with `ktp build --reindex`, or use "
                f"--embedder {state['embedder']}")
        self._named = state["collection"] if state else None
        self._live = None

    @property
    def client(self):
        if self._client is None:
            self._client = self._connect()
        return self._client

    @property
    def collection(self):
        """The live Chroma collection, opened (or made) on first use."""
        if self._live is None:
            self._live = self._collection(self._named)
        return self._live

    @collection.setter
    def collection(self, collection) -> None:
        self._live = collection

    @property
    def collection_name(self) -> str:
        """The live collection's name, from the pointer while Chroma is not open."""
        return self._live.name if self._live is not None else self._named or \
            self.collection.name

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
        """The embedded index (Chroma opened only when something needs it), or the server
        at `url`/KTP_CHROMA_URL (asked at once, so a missing server is said here)."""
        home.ensure()
        url = url if url is not None else os.environ.get("KTP_CHROMA_URL")
        if not url:
            return cls(None, cls.pointer_for(home, url), embedder, replacing, owned=True,
                       connect=lambda: _chroma().PersistentClient(
                           path=str(home.root / "chroma"), settings=_chroma_settings()))
        parts = urlsplit(url)
        try:
            client = _chroma().HttpClient(host=parts.hostname, port=parts.port or 8000,
                                          ssl=parts.scheme == "https",
                                          settings=_chroma_settings())
            client.heartbeat()
        except Exception as e:  # the client raises several kinds; all mean "not there"
            raise VectorIndexError(f"no Chroma server answers at {url} ({type(e).__name__}); "
                                   "start one with `chroma run --path DIR --port N`, or unset "
                                   "KTP_CHROMA_URL to use the embedded index") from None
        return cls(client, cls.pointer_for(home, url), embedder, replacing, owned=False)

    # ---- state --------------------------------------------------------------------------------
    def _state(self) -> dict | None:
        try:
            return json.loads(self.pointer.read_text())
        except (OSError, ValueError):
            return None

    def _collection(self, name: str | None):
        name = name or self._new_name()
        collection = self.client.get_or_create_collection(
            name, embedding_function=None, configuration={"hnsw": dict(HNSW)})
        if not self._state():
            self._point_at(name)
        return collection

    def _tune(self) -> None:
        """Give a collection made with Chroma's defaults the wider search (M and ef_construction
        are fixed when it is made; ef_search applies from the next process that loads it)."""
        config = getattr(self.collection, "configuration_json", None) or {}
        ef = (config.get("hnsw") or {}).get("ef_search")
        if ef is not None and ef < HNSW["ef_search"]:
            self.collection.modify(configuration={"hnsw": {"ef_search": HNSW["ef_search"]}})

    def _new_name(self) -> str:
        return f"chunks_{time.strftime('%Y%m%d%H%M%S')}_{uuid.uuid4().hex[:8]}"  # never reused

    def _point_at(self, name: str, synced_with: str | None = None, subject: str | None = None,
                  vectors: str | None = None, spans: int | None = None,
                  copies: str | None = None) -> None:
        """`synced_with`: the corpus fingerprint the collection holds; `subject`: whose words its
        `his` flags mark; `vectors`: the folder of its exact-search table, under vectors/;
        `spans`: the rules version of the span vectors the table holds, if any; `copies`: the
        digest of the copy map it was synced with."""
        state = {"collection": name, "embedder": self.embedder.name, "dim": self.embedder.dim,
                 "synced_with": synced_with}
        if copies is not None:
            state.update(copies=copies)
        if vectors:
            state.update(subject=subject, vectors=vectors)
        if spans is not None:
            state.update(spans=spans)
        tmp = self.pointer.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.pointer)

    @property
    def vectors_dir(self) -> Path:
        return self.pointer.parent / "vectors"

    def count(self) -> int:
        return self.collection.count()

    def is_empty(self) -> bool:
        """No passages in the index: told by its exact-search table when it has one."""
        table = self._exact()
        return len(table) == 0 if table is not None else self.collection.count() == 0

    # ---- writing ------------------------------------------------------------------------------
    def sync(self, store: CorpusStore, progress: Callable[[int, int], None] | None = None) -> dict:
        """Bring the index in line with the store: embed new or changed chunks (by a hash of
        their text), delete chunks that are gone, and write the exact-search table. Returns
        counts. A corpus unchanged since the last sync (its fingerprint, the subject, the copy
        map and the number of passages) is not read at all."""
        self.remove_orphans()
        self._tune()
        finding = _finding(update_copies(store))
        corpus = store.fingerprint()  # before reading: a change made meanwhile shows next time
        copies = store.copies_digest()
        total = _chunk_count(store)
        if self._in_step(corpus, store.subject, total, copies) and \
                self.collection.count() == total:
            return {**_nothing_to_do(total), "copy_finding": finding}
        wanted = _chunk_rows(store)
        old = self._exact()
        have = self._known_meta(old)
        stale = [cid for cid in have if cid not in wanted]
        # A passage is embedded again when its text changed, or when the embedder makes span
        # vectors and the table has none for it (made before they existed, or under old rules).
        spans = old.spans if old is not None and old.spans is not None else None
        todo = [cid for cid, row in wanted.items() if (have.get(cid) or {}).get("h") != row["h"]
                or (self.makes_spans and not (spans and spans.covers(cid)))]
        # Same text, other metadata (a speaker now known, new like counts): no new vector.
        fresh = set(todo)
        relabel = [cid for cid, row in wanted.items() if cid in have and cid not in fresh
                   and have[cid] != row["meta"]]
        for start in range(0, len(stale), 5000):
            self.collection.delete(ids=stale[start:start + 5000])
        for start in range(0, len(relabel), 5000):
            part = relabel[start:start + 5000]
            self.collection.update(ids=part, metadatas=[wanted[c]["meta"] for c in part])
        embed = [c for c in todo if "copy_of" not in wanted[c]]
        copied = [c for c in todo if "copy_of" in wanted[c]]
        vectors = self._embed_into(self.collection, [wanted[c] for c in embed], progress)
        table = self._table(wanted, *vectors)
        self._add_copies(self.collection, copied, wanted, table)
        self._publish(self.collection.name, corpus, store.subject, table, copies)
        return {"embedded": len(embed), "copied": len(copied), "removed": len(stale),
                "relabelled": len(relabel), "unchanged": len(wanted) - len(todo),
                "total": len(wanted), "copy_finding": finding}

    def rebuild(self, store: CorpusStore,
                progress: Callable[[int, int], None] | None = None) -> dict:
        """Embed everything into a fresh collection; switch to it only when it is complete."""
        update_copies(store)
        corpus, copies = store.fingerprint(), store.copies_digest()
        wanted = _chunk_rows(store)
        rows = [row for row in wanted.values() if "copy_of" not in row]
        copied = [c for c, row in wanted.items() if "copy_of" in row]
        self.remove_orphans()
        fresh_name = self._new_name()
        fresh = self.client.get_or_create_collection(
            fresh_name, embedding_function=None, configuration={"hnsw": dict(HNSW)})
        try:
            vectors = self._embed_into(fresh, rows, progress)
            table = self._table(wanted, *vectors)
            self._add_copies(fresh, copied, wanted, table)
        except BaseException:
            self.client.delete_collection(fresh_name)  # the old index stays live
            raise
        old = self.collection.name
        self.collection = fresh
        self._publish(fresh_name, corpus, store.subject, table, copies)
        if old != fresh_name:
            self.client.delete_collection(old)
        return {"embedded": len(rows), "copied": len(copied), "removed": 0, "unchanged": 0,
                "total": len(wanted)}

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
        if orphans:
            self._prune_vectors()  # their exact-search tables, if they got that far
        return orphans

    def _prune_vectors(self) -> None:
        """Remove the exact-search tables that no pointer of this data home names (an index
        server's pointer names its own), and the half-written ones of this collection (a sync
        killed while writing; another collection's may be being written right now)."""
        import shutil

        if not self.vectors_dir.is_dir():
            return
        named = set()
        for pointer in self.pointer.parent.glob("index*.json"):
            try:
                named.add(json.loads(pointer.read_text()).get("vectors"))
            except (OSError, ValueError, AttributeError):
                return  # a pointer that cannot be read: keep everything rather than guess
        for path in self.vectors_dir.iterdir():
            if path.name.startswith("."):
                if path.name.startswith(f".{self.collection.name}-"):
                    shutil.rmtree(path, ignore_errors=True)
            elif path.name not in named:
                shutil.rmtree(path, ignore_errors=True)

    def _publish(self, collection: str, corpus: str, subject: str, table: VectorTable,
                 copies: str) -> None:
        """Save the collection's exact-search table, point at both, drop its older tables."""
        folder = table.save(self.vectors_dir, collection)
        self._point_at(collection, synced_with=corpus, subject=subject, vectors=folder.name,
                       spans=RULES if table.spans is not None else None, copies=copies)
        self._loaded = (folder.name, table)
        self._prune_vectors()

    def _in_step(self, corpus: str, subject: str, total: int, copies: str) -> bool:
        """The pointer says the collection holds this corpus, and its table is whole."""
        state = self._state() or {}
        if (state.get("collection"), state.get("synced_with"), state.get("subject"),
                state.get("copies")) != (self.collection.name, corpus, subject, copies):
            return False
        table = self._exact()
        return table is not None and len(table) == total and (
            not self.makes_spans or (table.spans is not None and table.spans.current
                                     and len(table.spans.chunks) == total))

    @property
    def makes_spans(self) -> bool:
        """Whether the embedder gives vectors of stretches of a passage (the bundled MiniLM)."""
        return hasattr(self.embedder, "embed_spans")

    def span_vectors(self, chunk_id: str):
        """{(start, end): vector} of a passage's quotable stretches, or None (`span_vectors`)."""
        table = self._exact()
        if table is None or table.spans is None:
            return None
        return table.spans.of(chunk_id)

    def _table(self, wanted: dict[str, dict], fresh: dict[str, "object"],
               fresh_spans: dict[str, tuple] | None = None) -> VectorTable:
        """The exact-search table of `wanted`: vectors just embedded, else from the table in
        use, else (an index made before tables existed) read back from Chroma; span vectors
        just made, else carried from the table in use. A copy's row is its canonical's vector,
        taken from the new table itself, so it can never be stale."""
        import numpy as np

        ids = sorted(wanted)
        dim = self.embedder.dim
        if fresh:
            dim = len(next(iter(fresh.values())))
        out = np.zeros((len(ids), dim), dtype=np.float32)
        old = self._exact()
        if old is not None and old.dim != dim:
            old = None
        missing, src, dst, copies = [], [], [], []
        for i, cid in enumerate(ids):
            if "copy_of" in wanted[cid]:
                copies.append(i)
            elif cid in fresh:
                out[i] = fresh[cid]
            elif old is not None and (row := old.row_of(cid)) is not None:
                src.append(row)
                dst.append(i)
            else:
                missing.append(i)
        if src:
            out[dst] = old.vectors[src]
        for start in range(0, len(missing), 2000):
            part = missing[start:start + 2000]
            got = self.collection.get(ids=[ids[i] for i in part], include=["embeddings"])
            found = dict(zip(got["ids"], got["embeddings"]))
            for i in part:
                out[i] = found[ids[i]]
        at = {cid: i for i, cid in enumerate(ids)}
        for i in copies:
            out[i] = out[at[wanted[ids[i]]["copy_of"]]]
        return VectorTable(ids, out, [wanted[c]["meta"] for c in ids],
                           self._span_table(ids, wanted, fresh_spans or {}, old))

    def _span_table(self, ids: list[str], wanted: dict[str, dict], fresh: dict[str, tuple],
                    old) -> SpanVectors | None:
        """Span vectors of every passage. A copy has its canonical's only when the two
        passages are the same text with the same quotable stretches (the offsets must mean
        the same words); otherwise none, and the reading embeds its sentences if it needs
        them (a copy rarely reaches the reading: its canonical does)."""
        import numpy as np

        if not self.makes_spans:
            return None
        parts = {}
        for cid in ids:
            if "copy_of" in wanted[cid]:
                continue
            if cid in fresh:
                parts[cid] = fresh[cid]
            elif old is not None and old.spans is not None and old.spans.covers(cid):
                parts[cid] = old.spans.part(cid)
        for cid in ids:
            row = wanted[cid]
            if "copy_of" in row:
                canon = wanted[row["copy_of"]]
                same = row["passage"] == canon["passage"] and \
                    _quotable(row, 0) == _quotable(canon, 0)
                parts[cid] = parts.get(row["copy_of"], ([], None)) if same else ([], None)
                if parts[cid][1] is None:
                    parts[cid] = ([], np.zeros((0, self.embedder.dim), dtype=np.float16))
        return SpanVectors.from_parts(parts)

    def _add_copies(self, collection, copied: list[str], wanted: dict[str, dict],
                    table: VectorTable) -> None:
        """Write the copies into Chroma with their canonical's vector (from `table`)."""
        for start in range(0, len(copied), BATCH * 8):
            part = copied[start:start + BATCH * 8]
            collection.upsert(ids=part, metadatas=[wanted[c]["meta"] for c in part],
                              embeddings=[table.vectors[table.row_of(c)].tolist() for c in part])

    def _exact(self) -> VectorTable | None:
        """The exact-search table the pointer names for this collection, or None (no table
        yet, or its files are damaged: then Chroma answers, and the next sync writes one)."""
        state = self._state() or {}
        folder = state.get("vectors")
        if not folder or state.get("collection") != self.collection_name:
            return None
        loaded = getattr(self, "_loaded", None)
        if loaded and loaded[0] == folder:
            return loaded[1]
        try:
            table = VectorTable.load(self.vectors_dir / folder)
        except (OSError, ValueError, KeyError):
            return None
        self._loaded = (folder, table)
        return table

    def _embed_into(self, collection, rows: list[dict], progress) -> tuple[dict, dict]:
        """Embed and upsert `rows`; returns their vectors by id (for the exact-search table)
        and, when the embedder makes them, their span vectors by id ((spans, vectors)).
        Shortest first over all rows, not per batch: each batch is padded only to texts of
        about its own length (16.6 % padding tokens in build order, 10 % sorted)."""
        done, spans_done = {}, {}
        rows = sorted(rows, key=lambda r: len(r["text"]))
        for start in range(0, len(rows), BATCH):
            batch = rows[start:start + BATCH]
            texts = [r["text"] for r in batch]
            if self.makes_spans:
                wanted = [_quotable(r) for r in batch]
                vectors, pooled = self.embedder.embed_spans(texts, wanted)
                for r, spans, got in zip(batch, wanted, pooled):
                    kept = [(s, v) for s, v in zip(spans, got) if v is not None]
                    spans_done[r["id"]] = ([(a - r["lead"], b - r["lead"]) for (a, b), _ in kept],
                                           [v for _, v in kept])
            else:
                vectors = self.embedder.embed(texts)
            collection.upsert(ids=[r["id"] for r in batch], embeddings=vectors,
                              metadatas=[r["meta"] for r in batch])
            done.update(zip((r["id"] for r in batch), vectors))
            if progress:
                progress(min(start + BATCH, len(rows)), len(rows))
        return done, spans_done

    def _known_meta(self, table: VectorTable | None) -> dict[str, dict]:
        """{chunk id: its metadata in the index}: from the exact-search table of the live
        collection when it holds all of it and as many rows as Chroma (a sync killed between
        writing Chroma and the table leaves them unequal: then Chroma is read, so rows it got
        meanwhile are still found and removed if stale)."""
        if table is not None and table.h is not None and \
                self.collection.count() == len(table):
            known = table.all_meta()
            if known is not None:
                return known
        return self._indexed_meta()

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
        `doc_ids`: only passages of these documents. The k passages closest by cosine that
        pass every filter, best first (exactly, from the table; see the module's notes)."""
        table = self._exact()
        if table is None:
            return self._chroma_query(vector, k, _where(kind, since, until, own_only, his,
                                                        doc_ids))
        rows = table.mask(kind=kind, since_day=_day(since) if since else None,
                          until_day=_day(until) if until else None, own_only=own_only,
                          his=his, doc_ids=doc_ids)
        if len(table) <= EXACT_MAX or (rows is not None and rows.sum() <= EXACT_MAX):
            return [VectorHit(c, d, round(s, 6)) for c, d, s in table.search(vector, k, rows)]
        if rows is not None:  # a filter that keeps most passages: a wider search, then filter
            wider = min(len(table), k * 2 * -(-len(table) // max(1, int(rows.sum()))))
            hits = [h for h in self._chroma_query(vector, wider, None)
                    if (r := table.row_of(h.chunk_id)) is not None and rows[r]]
            if len(hits) >= k or wider >= len(table):
                return hits[:k]
        return self._chroma_query(vector, k, _where(kind, since, until, own_only, his, doc_ids))

    def sentence_query(self, vector, k: int = 20, *, kind: str | None = None,
                       since: str | None = None, until: str | None = None,
                       own_only: bool = False, his: bool | None = None,
                       doc_ids: Sequence[str] = ()) -> list[VectorHit]:
        """The k passages whose best quotable stretch is closest to `vector`, with the same
        filters as `query`; each hit's similarity is the passage's own (what coverage and
        the quote scoring are calibrated on). Empty without span vectors."""
        table = self._exact()
        if table is None or table.spans is None:
            return []
        rows = table.mask(kind=kind, since_day=_day(since) if since else None,
                          until_day=_day(until) if until else None, own_only=own_only,
                          his=his, doc_ids=doc_ids)
        return [VectorHit(c, d, round(own, 6))
                for c, d, _, own in table.search_sentences(vector, k, rows)]

    def _chroma_query(self, vector, k: int, where: dict | None) -> list[VectorHit]:
        total = self.collection.count()
        if k <= 0 or total == 0:
            return []
        # A copy whose canonical is found takes no place, so k results would leave fewer than
        # k passages where copies are near (the real corpus: 4 of 10 for some questions):
        # ask for twice as many, and again wider while copies still leave a gap.
        wanted = min(total, 2 * k)
        while True:
            result = self.collection.query(query_embeddings=[vector], n_results=wanted,
                                           where=where, include=["distances", "metadatas"])
            found = set(result["ids"][0])
            hits = [VectorHit(cid, meta["doc_id"], round(1.0 - dist, 6))
                    for cid, dist, meta in zip(result["ids"][0], result["distances"][0],
                                               result["metadatas"][0])
                    if meta.get("copy_of") not in found]
            if len(hits) >= k or len(result["ids"][0]) < wanted or wanted >= total:
                return hits[:k]
            wanted = min(total, 2 * wanted)


def _chroma():
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")  # before chromadb is imported
    import chromadb

    return chromadb


def _chroma_settings():
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)


def _chunk_rows(store: CorpusStore) -> dict[str, dict]:
    """Every chunk with the text to embed (title + passage) and its filterable metadata."""
    rows = {}
    sql = """SELECT c.id, c.doc_id, c.text, d.kind, d.title, d.date, d.meta, c.speaker,
                    c.start, c.end, cc.canonical
             FROM chunks c JOIN documents d ON d.id = c.doc_id
             LEFT JOIN chunk_copies cc ON cc.chunk_id = c.id"""
    copies = {}
    for cid, doc_id, text, kind, title, date, meta, speaker, start, end, canonical in \
            store.db.execute(sql):
        meta = json.loads(meta)
        # A title says what a passage of a post or talk is about; a tweet has no real title.
        embed_text = f"{title}\n{text}" if kind not in ("tweet", "thread") else text
        digest = hashlib.sha1(embed_text.encode()).hexdigest()[:16]
        rows[cid] = {"id": cid, "text": embed_text, "h": digest, "passage": text,
                     "lead": len(embed_text) - len(text),
                     "quoted": chunk_quoted(meta.get("quoted"), start, end), "meta": {
            "doc_id": doc_id, "kind": kind, "ts": _day(date), "h": digest,
            "own": not meta.get("is_retweet", False), "reply": bool(meta.get("is_reply")),
            "likes": int(meta.get("likes") or 0), "his": speaker == store.subject}}
        if canonical:
            copies[cid] = canonical
    # A copy is "embedded" as its canonical's text: its hash is the canonical's, so a changed
    # canonical changes the copy's vector too, and a copy that stands alone again (its
    # canonical removed) has its own hash back and is embedded.
    for cid, canonical in copies.items():
        if canonical in rows and canonical not in copies:
            row, h = rows[cid], rows[canonical]["h"]
            row.update(copy_of=canonical, h=h)
            row["meta"].update(copy_of=canonical, h=h)
    return rows


def _quotable(row: dict, lead: int | None = None) -> list[tuple[int, int]]:
    """The quotable stretches of a row's passage, as offsets into the text it is embedded as
    (after its title), or after `lead` characters."""
    lead = row["lead"] if lead is None else lead
    return [(a + lead, b + lead) for a, b, _ in quotable_spans(row["passage"], row["quoted"])]


def _chunk_count(store: CorpusStore) -> int:
    return store.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]


def _finding(found: dict) -> dict:
    """What finding copies cost this sync: passages decided again (all of them from scratch;
    after a change, the new ones and those they reach: corpus/copy_signatures.py)."""
    return {"recomputed": found["recomputed"], "decided": found["decided"],
            "from_scratch": found["from_scratch"]}


def _nothing_to_do(total: int) -> dict:
    return {"embedded": 0, "copied": 0, "removed": 0, "relabelled": 0, "unchanged": total,
            "total": total}


def unchanged_sync(home: DataHome, store: CorpusStore, embedder_name: str) -> dict | None:
    """What `sync` reports for an embedded index with nothing to do, told from the files alone
    (no Chroma: importing and opening it is most of a no-op build): the pointer names this
    embedder, corpus, copy map and subject, its exact-search table holds every passage, and Chroma's
    database holds the live collection and no other. None when any of that is not so, or
    with a Chroma server: then a real sync looks."""
    import sqlite3

    import numpy as np

    if os.environ.get("KTP_CHROMA_URL"):
        return None
    try:
        state = json.loads(VectorIndex.pointer_for(home, "").read_text())
        if not isinstance(state, dict) or not state.get("vectors") or \
                state.get("embedder") != embedder_name or \
                state.get("subject") != store.subject or \
                (embedder_name in MiniLMEmbedder.NAMES.values() and state.get("spans") != RULES):
            return None
        table = home.root / "vectors" / str(state["vectors"])
        rows = np.load(table / "vectors.npy", mmap_mode="r").shape[0]
        if not all((table / f).is_file() for f in ("columns.npz", "rows.json")):
            return None
        if state.get("spans") is not None and not _span_files_whole(table):
            return None  # the pointer says the table has span vectors; they must be there
        db = sqlite3.connect(f"file:{home.root / 'chroma' / 'chroma.sqlite3'}?mode=ro",
                             uri=True)
        try:
            names = [n for (n,) in db.execute("SELECT name FROM collections")]
        finally:
            db.close()
    except (OSError, ValueError, sqlite3.Error):
        return None
    total = _chunk_count(store)
    corpus = store.fingerprint()
    if names != [state["collection"]] or rows != total or \
            state.get("synced_with") != corpus or store.copies_fingerprint() != corpus or \
            state.get("copies") != store.copies_digest():
        return None
    return _nothing_to_do(total)


def _span_files_whole(table: Path) -> bool:
    """The span vector files are there and agree in length (read from their headers only)."""
    import numpy as np

    try:
        vectors = np.load(table / "spans.npy", mmap_mode="r").shape[0]
        offsets = np.load(table / "spans_at.npy", mmap_mode="r").shape[0]
    except (OSError, ValueError):
        return False
    return vectors == offsets and (table / "spans.json").is_file()


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
