"""The corpus store: one SQLite file with the documents, their chunks, an FTS5 index over the
chunks, and a log of ingest runs.

    store = CorpusStore(home.corpus_db)
    store.add(doc)                 # "loaded" | "unchanged" | "replaced"
    store.search('"bitter lesson" -rl', kind="tweet", limit=10)

Writes are transactional: a batch either lands whole or not at all. The schema carries a version
(`PRAGMA user_version`) and is brought up to date by the migrations below when the file is opened.

Opening checks the file: a file that is not SQLite, or one that `PRAGMA quick_check` finds
damaged, is refused with the fix (`ktp doctor --repair`), so nothing is ever written into a
damaged file. (A 0-byte file is what SQLite itself makes of a new database: it is a new, empty
store.) Writers wait up to BUSY_TIMEOUT for one another, and a batch takes the write lock only
when it writes, so two ingests interleave their batches.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from corpus.chunking import chunk_document
from corpus.errors import KtpError, explain_sqlite
from corpus.model import UNKNOWN_AUTHOR, Chunk, Document
from corpus.query import ParsedQuery, parse_query

# Each migration brings the schema from version i to i + 1. Append, never edit a released one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        author TEXT NOT NULL,
        date TEXT,
        url TEXT,
        origin TEXT NOT NULL,
        text TEXT NOT NULL,
        hash TEXT NOT NULL,
        meta TEXT NOT NULL,
        words INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX documents_kind_date ON documents(kind, date);
    CREATE TABLE chunks (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        n INTEGER NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        start_time REAL,
        text TEXT NOT NULL
    );
    CREATE INDEX chunks_doc ON chunks(doc_id);
    -- The FTS table keeps its own copy of the text (rowid = chunks.rowid); Porter stemming lets
    -- "agents" match "agent". Title is a second column, weighted lower than the body in bm25().
    CREATE VIRTUAL TABLE chunks_fts USING fts5(
        text, title, tokenize = 'porter unicode61 remove_diacritics 2'
    );
    -- Prefix queries need the words as written: under stemming "tokenizers" is indexed as
    -- "token", which "tokeniz*" can never match. Queries with a prefix term use this table.
    CREATE VIRTUAL TABLE chunks_fts_plain USING fts5(
        text, title, tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TABLE ingest_runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        sources TEXT NOT NULL,
        summary TEXT
    );
    """,
    # 2: who said it. A document records how its author is known; a chunk names its speaker
    # (interview transcripts are split into turns). Rows from before keep an empty authorship
    # and no speaker: they count as not his until their sources are ingested again.
    """
    ALTER TABLE documents ADD COLUMN authorship TEXT NOT NULL DEFAULT '';
    -- A transcript's segments as [start, end, second] offsets (meta["parts"] of the document),
    -- kept apart from meta: thousands of entries that searches must not parse.
    ALTER TABLE documents ADD COLUMN timeline TEXT;
    ALTER TABLE chunks ADD COLUMN speaker TEXT;
    CREATE INDEX chunks_speaker ON chunks(speaker);
    """,
    # 3: how each ingest run ended, and which process ran it (so that a run left open by a
    # killed process can be told from one still going). Unfinished rows from before have no
    # process: the next run marks them interrupted.
    """
    ALTER TABLE ingest_runs ADD COLUMN status TEXT;
    ALTER TABLE ingest_runs ADD COLUMN process TEXT;
    UPDATE ingest_runs SET status = 'finished' WHERE finished_at IS NOT NULL;
    """,
    # 4: one canonical passage per text (corpus/duplicates.py). A copy keeps its chunk row and
    # its place in the full-text tables; this map says whose copy it is. Removing either chunk
    # removes the entry (so a copy whose canonical is gone stands alone until the next build).
    # copies_state: the corpus fingerprint the map was computed for, and the map's digest.
    """
    CREATE TABLE chunk_copies (
        chunk_id TEXT PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
        canonical TEXT NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
        covered REAL NOT NULL
    );
    CREATE INDEX chunk_copies_canonical ON chunk_copies(canonical);
    CREATE TABLE copies_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        corpus TEXT NOT NULL,
        digest TEXT NOT NULL
    );
    """,
    # 5: where a passage is, generalised from a talk's second: the page of a PDF (papers) a
    # chunk lies on. Rows from before have none (no paper was read before this version).
    """
    ALTER TABLE chunks ADD COLUMN page INTEGER;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
# A document's metadata as search and evidence rows carry it: without its speaker turns.
LIGHT_META = "json_remove(d.meta, '$.turns')"
_FTS_TABLES = ("chunks_fts", "chunks_fts_plain")
BUSY_TIMEOUT = 30.0  # seconds a writer waits for another's batch to commit
BATCH_HOLD = 0.5  # seconds a batch keeps the write lock before it commits what it has
SQLITE_HEADER = b"SQLite format 3\x00"
# Files that passed quick_check in this process, with the state (sizes, times) they had then:
# a store opened again unchanged (the web UI opens one per page) is not checked again.
_CHECKED: dict[str, tuple] = {}


class StoreError(KtpError, RuntimeError):
    """The store cannot be used as asked; the message says what to do."""


class DamagedStore(StoreError):
    """The file is not a SQLite database, or SQLite finds it damaged."""


@dataclass(frozen=True)
class SearchHit:
    id: str  # chunk id
    doc_id: str
    kind: str
    title: str
    date: str | None
    url: str | None
    text: str
    score: float  # higher is better (negated bm25)
    snippet: str  # the best-matching stretch, matches wrapped in \x02 … \x03
    start_time: float | None = None
    meta: dict | None = None  # the document's metadata (likes, is_retweet, ...)
    marked: str | None = None  # the whole passage, matches wrapped like the snippet
    author: str = UNKNOWN_AUTHOR
    speaker: str | None = None
    his_words: bool = False
    authorship: str = ""
    page: int | None = None  # a paper's page the passage lies on

    def as_row(self) -> dict:
        return {"id": self.id, "doc_id": self.doc_id, "kind": self.kind, "title": self.title,
                "date": self.date, "url": self.url, "text": self.text, "score": self.score,
                "author": self.author, "speaker": self.speaker, "his_words": self.his_words,
                **({"page": self.page} if self.page is not None else {})}


class CorpusStore:
    def __init__(self, path: str | Path, shared: bool = False, subject: str | None = None):
        """`shared`: the connection may be used from several threads (the web UI caches one
        store across its script runs); SQLite serialises the access itself. `subject`: whose
        words count as "his" (default: the framework's subject)."""
        if subject is None:
            from corpus.subject import current_subject

            subject = current_subject().name
        self.subject = subject
        self.path = Path(path)
        self._batch: _Batch | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        check_header(self.path)
        self.db = sqlite3.connect(self.path, isolation_level=None,  # explicit transactions only
                                  check_same_thread=not shared, timeout=BUSY_TIMEOUT)
        try:
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA foreign_keys = ON")
            self._check()
            self._use_wal()
            # With WAL, NORMAL keeps every commit atomic and the file consistent after a crash;
            # it skips the fsync per commit (a power cut may lose the last commits, never
            # corrupt).
            self.db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except BaseException as e:
            self.db.close()
            if isinstance(e, sqlite3.Error):
                raise self._problem(e) from None
            raise

    def _use_wal(self) -> None:
        """PRAGMA journal_mode = WAL. Switching a new file to WAL needs it to itself, and SQLite
        answers "locked" at once (without waiting) while another process reads it: retry."""
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                self.db.execute("PRAGMA journal_mode = WAL").fetchone()
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _check(self) -> None:
        """Refuse a damaged file (PRAGMA quick_check), once per process and file state."""
        state = _file_state(self.path)
        if _CHECKED.get(str(self.path)) == state:
            return
        rows = [r[0] for r in self.db.execute("PRAGMA quick_check(5)")]
        if rows != ["ok"]:
            raise damaged(self.path, "; ".join(" ".join(r.split()) for r in rows)[:300])
        _CHECKED[str(self.path)] = state

    def _problem(self, error: sqlite3.Error) -> KtpError:
        if isinstance(error, sqlite3.DatabaseError) and getattr(
                error, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
            return damaged(self.path, str(error))
        return explain_sqlite(error, f" ({self.path})")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "CorpusStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- schema -------------------------------------------------------------------------------
    def _migrate(self) -> None:
        migrate(self.db, MIGRATIONS, lambda version: StoreError(
            f"{self.path} was written by a newer ktp (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade ktp, or point KTP_HOME at another data home"))

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def transaction(self) -> "Transaction":
        return Transaction(self.db, self._batch)

    def batched(self, every: int = 500, hold: float = BATCH_HOLD) -> "_Batch":
        """A long write in transactions of up to `every` calls to `.tick()`: far fewer commits
        than one per document, and a crash rolls back only the open batch, never half a
        document. The write lock is taken by the first write of a batch, not before (reading
        and parsing hold no lock), and a batch open for `hold` seconds commits at the next
        tick, so that another writer waits for at most about that long."""
        return _Batch(self, every, hold)

    # ---- writing ------------------------------------------------------------------------------
    def add(self, doc: Document, chunks: list[Chunk] | None = None) -> str:
        """Add one document; returns "loaded", "unchanged" or "replaced"."""
        with self.transaction():
            return self._add(doc, chunks)

    def add_many(self, docs: Iterable[Document]) -> dict[str, int]:
        """Add a batch in one transaction; counts of loaded / unchanged / replaced."""
        counts = {"loaded": 0, "unchanged": 0, "replaced": 0}
        with self.transaction():
            for doc in docs:
                counts[self._add(doc, None)] += 1
        return counts

    def _add(self, doc: Document, chunks: list[Chunk] | None) -> str:
        old = self.db.execute("SELECT hash FROM documents WHERE id = ?", (doc.id,)).fetchone()
        if old is not None and old["hash"] == doc.hash:
            return "unchanged"
        if old is not None:
            self._delete(doc.id)
        self.db.execute(
            "INSERT INTO documents (id, kind, title, author, date, url, origin, text, hash, meta,"
            " words, updated_at, authorship, timeline)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (doc.id, doc.kind, doc.title, doc.author, doc.date, doc.url, doc.origin, doc.text,
             doc.hash, json.dumps({k: v for k, v in doc.meta.items() if k != "parts"},
                                  sort_keys=True, ensure_ascii=False),
             doc.words, _now(), doc.authorship,
             json.dumps(doc.meta["parts"]) if "parts" in doc.meta else None))
        for chunk in chunks if chunks is not None else chunk_document(doc):
            cur = self.db.execute(
                "INSERT INTO chunks (id, doc_id, n, start, end, start_time, text, speaker, page)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (chunk.id, doc.id, chunk.n, chunk.start, chunk.end, chunk.start_time, chunk.text,
                 chunk.speaker or doc.author, chunk.page))
            for table in _FTS_TABLES:
                self.db.execute(f"INSERT INTO {table} (rowid, text, title) VALUES (?, ?, ?)",
                                (cur.lastrowid, chunk.text, doc.title))
        return "replaced" if old is not None else "loaded"

    def remove(self, doc_id: str) -> bool:
        with self.transaction():
            return self._delete(doc_id)

    def _delete(self, doc_id: str) -> bool:
        for table in _FTS_TABLES:
            self.db.execute(f"DELETE FROM {table} WHERE rowid IN"
                            " (SELECT rowid FROM chunks WHERE doc_id = ?)", (doc_id,))
        return self.db.execute("DELETE FROM documents WHERE id = ?", (doc_id,)).rowcount > 0

    # ---- reading ------------------------------------------------------------------------------
    def get(self, doc_id: str) -> Document | None:
        row = self.db.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return _document(row) if row else None

    def existing(self, doc_id: str) -> tuple[str, str, int] | None:
        """(hash, origin, text length) of a stored document, without loading its text."""
        row = self.db.execute("SELECT hash, origin, length(text) FROM documents WHERE id = ?",
                              (doc_id,)).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def documents(self, kind: str | None = None) -> Iterator[Document]:
        sql = "SELECT * FROM documents" + (" WHERE kind = ?" if kind else "") + " ORDER BY id"
        for row in self.db.execute(sql, (kind,) if kind else ()):
            yield _document(row)

    def chunk_rows(self, chunk_ids: list[str]) -> dict[str, dict]:
        """Chunks with their document's fields, by id (for turning index hits into evidence)."""
        found = {}
        for start in range(0, len(chunk_ids), 500):
            part = chunk_ids[start:start + 500]
            sql = f"""SELECT c.id, c.doc_id, c.n, c.start, c.end, c.start_time, c.text,
                             c.speaker, c.page, d.kind, d.title, d.date, d.url, d.origin,
                             {LIGHT_META} AS meta,
                             d.author, d.authorship, cc.canonical AS copy_of
                      FROM chunks c JOIN documents d ON d.id = c.doc_id
                      LEFT JOIN chunk_copies cc ON cc.chunk_id = c.id
                      WHERE c.id IN ({",".join("?" * len(part))})"""
            for row in self.db.execute(sql, part):
                found[row["id"]] = {**dict(row), "meta": json.loads(row["meta"]),
                                    "his_words": row["speaker"] == self.subject}
        return found

    def catalog(self) -> list[dict]:
        """Every document's id, kind, title, date and url, without the text (for the graph)."""
        rows = self.db.execute("SELECT id, kind, title, date, url, author FROM documents"
                               " ORDER BY id")
        return [dict(r) for r in rows]

    def chunks(self, doc_id: str) -> list[Chunk]:
        rows = self.db.execute("SELECT * FROM chunks WHERE doc_id = ? ORDER BY n", (doc_id,))
        return [Chunk(id=r["id"], doc_id=r["doc_id"], n=r["n"], start=r["start"], end=r["end"],
                      text=r["text"], start_time=r["start_time"], speaker=r["speaker"],
                      page=r["page"])
                for r in rows]

    def counts(self) -> dict:
        by_kind = {r["kind"]: {"documents": r["n"], "words": r["w"]} for r in self.db.execute(
            "SELECT kind, COUNT(*) AS n, SUM(words) AS w FROM documents"
            " GROUP BY kind ORDER BY kind")}
        chunks = self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        his = self.db.execute("SELECT COUNT(*) FROM chunks WHERE speaker IS ?",
                              (self.subject,)).fetchone()[0]
        by_speaker = {(r[0] or "not recorded"): r[1] for r in self.db.execute(
            "SELECT speaker, COUNT(*) FROM chunks GROUP BY speaker ORDER BY COUNT(*) DESC")}
        unattributed = self.db.execute(
            "SELECT COUNT(*) FROM documents WHERE authorship = ''").fetchone()[0]
        return {"documents": sum(v["documents"] for v in by_kind.values()),
                "words": sum(v["words"] for v in by_kind.values()),
                "chunks": chunks, "by_kind": by_kind, "his_chunks": his,
                "chunks_by_speaker": by_speaker, "authorship_not_recorded": unattributed}

    def fingerprint(self) -> str:
        """Changes whenever any document is added, replaced or removed."""
        return corpus_fingerprint(self.db)

    # ---- copies (one canonical passage per text: corpus/duplicates.py) -------------------------
    def passages_for_copies(self) -> list[dict]:
        """Every passage with what choosing a canonical needs (its text, kind, start time and
        whether it is his words)."""
        rows = self.db.execute("SELECT c.id, c.text, d.kind, c.start_time, c.speaker"
                               " FROM chunks c JOIN documents d ON d.id = c.doc_id")
        return [{"id": r[0], "text": r[1], "kind": r[2], "start_time": r[3],
                 "his_words": r[4] == self.subject} for r in rows]

    def set_copies(self, copies: dict[str, tuple[str, float]], corpus: str) -> None:
        """Replace the copy map ({copy: (canonical, covered)}), computed for `corpus`."""
        from corpus.duplicates import digest

        with self.transaction():
            self.db.execute("DELETE FROM chunk_copies")
            self.db.executemany("INSERT INTO chunk_copies (chunk_id, canonical, covered)"
                                " VALUES (?, ?, ?)",
                                [(c, canon, cover) for c, (canon, cover) in copies.items()])
            self.db.execute("INSERT OR REPLACE INTO copies_state (id, corpus, digest)"
                            " VALUES (1, ?, ?)",
                            (corpus, digest({c: v[0] for c, v in copies.items()})))

    def copies(self) -> dict[str, str]:
        """{copy chunk id: its canonical chunk id}."""
        return dict(self.db.execute("SELECT chunk_id, canonical FROM chunk_copies"))

    def canonical_of(self, chunk_ids: list[str]) -> dict[str, str]:
        """{chunk id: its canonical} for those of `chunk_ids` that are copies."""
        found = {}
        for start in range(0, len(chunk_ids), 500):
            part = chunk_ids[start:start + 500]
            found.update(self.db.execute(
                "SELECT chunk_id, canonical FROM chunk_copies WHERE chunk_id IN"
                f" ({','.join('?' * len(part))})", part))
        return found

    def copies_state(self) -> tuple[str, str] | None:
        """(the corpus fingerprint the copy map was computed for, the map's digest then), or
        None when it never was."""
        row = self.db.execute("SELECT corpus, digest FROM copies_state").fetchone()
        return (row[0], row[1]) if row else None

    def copies_fingerprint(self) -> str | None:
        """The corpus fingerprint the copy map was computed for (None: never computed)."""
        return (self.copies_state() or (None,))[0]

    def copies_digest(self) -> str:
        """The digest of the copy map as it stands (a chunk removed since changes it)."""
        from corpus.duplicates import digest

        return digest(self.copies())

    def copy_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM chunk_copies").fetchone()[0]

    def chunk_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    # ---- search -------------------------------------------------------------------------------
    def search(self, query: str | ParsedQuery, *, kind: str | None = None,
               since: str | None = None, until: str | None = None, limit: int = 20,
               own_only: bool = False, offset: int = 0, min_likes: int = 0,
               replies: bool = True, sort: str = "relevance",
               one_per_doc: bool = False, speaker: str | None = None,
               marks: bool = True) -> list[SearchHit]:
        """Ranked keyword search (bm25). `since`/`until` are inclusive ISO dates (YYYY-MM-DD).

        Words are matched by their stem ("agent" finds "agents"), except in a query with a
        prefix term, where every word is matched as written. `sort`: relevance, date (newest
        first) or likes; `replies=False` leaves out replies; `offset` pages through results;
        `one_per_doc` keeps only each document's best passage (a long post shows once);
        `speaker`: "his" (the subject's words only), "others" (everyone else's, unknown and
        unidentified included), a speaker's name, or None for everything. `marks=False`: no
        snippets or highlights (empty), for a caller that ranks only (retrieval: they cost
        ~25 ms a query over 50 hits)."""
        order = {"relevance": "rank, id", "date": "date DESC, rank", "likes": "likes DESC, rank"}
        if sort not in order:
            raise ValueError(f"sort by relevance, date or likes, not {sort!r}")
        parsed = query if isinstance(query, ParsedQuery) else parse_query(query)
        fts = "chunks_fts_plain" if parsed.has_prefix else "chunks_fts"
        # bm25() cannot sit inside a window function: rank first (materialised), then number
        # each document's passages to keep only its best one when asked.
        # Rank the matches first (only ids, dates, likes), then fetch the page's rows.
        # Numbering each document's passages costs a sort of every match: only when asked.
        numbering = ("SELECT *, ROW_NUMBER() OVER (PARTITION BY doc_id ORDER BY rank, id) AS nth "
                     "FROM hits") if one_per_doc else "SELECT *, 1 AS nth FROM hits"
        sql = f"""
            WITH hits AS MATERIALIZED (
                SELECT c.rowid AS rowid, c.id, c.doc_id, d.date,
                       CASE WHEN :by_likes THEN CAST(json_extract(d.meta, '$.likes')
                                                     AS INTEGER) END AS likes,
                       bm25({fts}, 1.0, 0.3) AS rank
                FROM {fts}
                JOIN chunks c ON c.rowid = {fts}.rowid
                JOIN documents d ON d.id = c.doc_id
                WHERE {fts} MATCH :match AND {_filtered("c", "d")}
                  -- a copy stands in for its canonical passage only where the filters leave
                  -- that one out (corpus/duplicates.py): one place per text
                  AND NOT EXISTS (
                      SELECT 1 FROM chunk_copies cc JOIN chunks c2 ON c2.id = cc.canonical
                      JOIN documents d2 ON d2.id = c2.doc_id
                      WHERE cc.chunk_id = c.id AND {_filtered("c2", "d2")})),
            numbered AS ({numbering}),
            page AS (
                SELECT * FROM numbered
                WHERE (:one = 0 OR nth = 1)
                ORDER BY {order[sort]}
                LIMIT :limit OFFSET :offset)
            SELECT page.rowid, page.id, page.doc_id, page.rank, d.kind, d.title, d.date, d.url,
                   c.text, c.start_time, {LIGHT_META} AS meta, c.speaker, d.author,
                   d.authorship, c.page
            FROM page JOIN chunks c ON c.rowid = page.rowid JOIN documents d ON d.id = c.doc_id
            ORDER BY {"page." + order[sort].replace(", ", ", page.")}"""
        params = {"match": parsed.match, "kind": kind, "since": since, "until": until,
                  "limit": limit, "own": int(own_only), "offset": offset,
                  "min_likes": min_likes, "replies": int(replies), "one": int(one_per_doc),
                  "by_likes": int(sort == "likes"),  # read from each match's JSON only then
                  **self._speaker_params(speaker)}
        rows = self.db.execute(sql, params).fetchall()
        # Snippets and highlights only for this page (they cost per match: thousands for "the").
        found = {r[0]: (r[1], r[2]) for r in self.db.execute(
            f"SELECT rowid, snippet({fts}, 0, char(2), char(3), '…', 32), "
            f"highlight({fts}, 0, char(2), char(3)) FROM {fts} WHERE {fts} MATCH ? AND rowid "
            f"IN ({','.join('?' * len(rows))})", [parsed.match, *[r["rowid"] for r in rows]])} \
            if marks else {}
        return [SearchHit(id=r["id"], doc_id=r["doc_id"], kind=r["kind"], title=r["title"],
                          date=r["date"], url=r["url"], text=r["text"],
                          score=round(-r["rank"], 4),
                          snippet=found.get(r["rowid"], ("", ""))[0],
                          start_time=r["start_time"], meta=json.loads(r["meta"]),
                          marked=found.get(r["rowid"], ("", ""))[1], author=r["author"],
                          speaker=r["speaker"], his_words=r["speaker"] == self.subject,
                          authorship=r["authorship"], page=r["page"])
                for r in rows]

    def _speaker_params(self, speaker: str | None) -> dict:
        """SQL parameters for a speaker filter: (c.speaker IS :speaker) must equal :speaker_is."""
        if speaker in (None, "", "any", "all"):
            return {"speaker": None, "speaker_is": 1}
        if speaker == "his":
            return {"speaker": self.subject, "speaker_is": 1}
        if speaker == "others":
            return {"speaker": self.subject, "speaker_is": 0}
        return {"speaker": speaker, "speaker_is": 1}

    # ---- ingest runs --------------------------------------------------------------------------
    @contextmanager
    def run(self, sources: list[str]) -> Iterator["Run"]:
        """One ingest run, always closed: "finished" when the block ends, "failed" (with the
        error) when it raises, "interrupted" on Ctrl-C. Set `run.summary` (a dict, or a
        function returning one, read when the run closes) to record what was done so far.

            with store.run(["notes/"]) as run:
                run.summary = summary.as_dict
                ...
        """
        run = Run(self.start_run(sources))
        try:
            yield run
        except BaseException as e:
            status = "interrupted" if isinstance(e, (KeyboardInterrupt, SystemExit)) else \
                f"failed: {type(e).__name__}: {e}"[:500]
            try:  # the run's own error is what matters; closing the record is best effort
                self.finish_run(run.id, run.current(), status=status)
            except Exception:
                pass
            raise
        self.finish_run(run.id, run.current())

    def start_run(self, sources: list[str]) -> int:
        """Record a run as started by this process. Earlier runs left unfinished by processes
        that are gone (killed, crashed) are marked interrupted."""
        with self.transaction():
            self.close_dead_runs()
            return self.db.execute(
                "INSERT INTO ingest_runs (started_at, sources, status, process)"
                " VALUES (?, ?, 'running', ?)",
                (_now(), json.dumps(sources), _process_token(os.getpid()))).lastrowid

    def close_dead_runs(self) -> int:
        """Mark interrupted the unfinished runs whose process is gone; how many."""
        with self.transaction():
            dead = [row["id"] for row in self.db.execute(
                "SELECT id, process FROM ingest_runs WHERE finished_at IS NULL"
                " AND (status IS NULL OR status = 'running')").fetchall()
                if not _alive(row["process"])]
            for run_id in dead:
                self.db.execute("UPDATE ingest_runs SET status = 'interrupted' WHERE id = ?",
                                (run_id,))
        return len(dead)

    def finish_run(self, run_id: int, summary: dict, status: str = "finished") -> None:
        with self.transaction():
            self.db.execute("UPDATE ingest_runs SET finished_at = ?, summary = ?, status = ?"
                            " WHERE id = ?",
                            (_now(), json.dumps(summary, sort_keys=True), status, run_id))

    def runs(self, limit: int = 10) -> list[dict]:
        """The last runs, newest first; `status`: running, finished, failed: …, interrupted."""
        rows = self.db.execute("SELECT * FROM ingest_runs ORDER BY id DESC LIMIT ?", (limit,))
        return [{"id": r["id"], "started_at": r["started_at"], "finished_at": r["finished_at"],
                 "sources": json.loads(r["sources"]),
                 "summary": json.loads(r["summary"]) if r["summary"] else None,
                 "status": _run_status(r)} for r in rows]

    def restore_chunks(self) -> int:
        """Chunk again every document whose chunks a repair lost (all of them, or some: the
        numbers of those left are not 0, 1, … in a row)."""
        ids = [r[0] for r in self.db.execute(
            "SELECT d.id FROM documents d LEFT JOIN chunks c ON c.doc_id = d.id GROUP BY d.id"
            " HAVING COUNT(c.id) = 0 OR MIN(c.n) != 0 OR MAX(c.n) + 1 != COUNT(c.id)"
            " ORDER BY d.id")]
        with self.transaction():
            for doc_id in ids:
                doc = self.get(doc_id)
                self._delete(doc_id)
                self._add(doc, None)
        return len(ids)

    def rebuild_search_index(self) -> int:
        """Fill the full-text tables again from the chunks (after a repair); returns rows."""
        with self.transaction():
            for table in _FTS_TABLES:
                self.db.execute(f"DELETE FROM {table}")
                self.db.execute(f"INSERT INTO {table} (rowid, text, title) SELECT c.rowid,"
                                " c.text, d.title FROM chunks c JOIN documents d"
                                " ON d.id = c.doc_id")
            return self.db.execute("SELECT COUNT(*) FROM chunks_fts").fetchone()[0]


@dataclass
class Run:
    """An open ingest run (see `CorpusStore.run`)."""
    id: int
    summary: object = None  # a dict, or a function returning one

    def current(self) -> dict:
        summary = self.summary() if callable(self.summary) else self.summary
        return dict(summary or {})


def _run_status(row: sqlite3.Row) -> str:
    if row["status"] == "running" and not _alive(row["process"]):
        return "interrupted"
    return row["status"] or ("finished" if row["finished_at"] else "interrupted")


def _process_token(pid: int) -> str:
    """host:pid:start time of a process (the start time tells a reused pid apart)."""
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]  # field 22, after the command's name
    except (OSError, IndexError):
        return ""


def _alive(token: str | None) -> bool:
    """Whether the process that wrote `token` still runs (False when we cannot tell: a run
    recorded on another host, or before processes were recorded)."""
    if not token:
        return False
    host, _, rest = token.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, run by someone else
    return _start_time(pid) == started


def check_header(path: Path) -> None:
    """Refuse a file that is not SQLite (a 0-byte file is a new database, as SQLite has it)."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise StoreError(f"{path} is a folder, not the corpus file",
                         fix="move it away, or point KTP_HOME at another data home") from None
    if head and head != SQLITE_HEADER:
        raise DamagedStore(f"{path} is not a SQLite database (it begins {head[:16]!r})",
                           fix="run `ktp doctor --repair` to move it aside and start a new "
                               "corpus, or restore it from a backup")


def damaged(path: Path, detail: str) -> DamagedStore:
    return DamagedStore(f"{path} is damaged ({detail}); nothing will be written into it",
                        fix="run `ktp doctor --repair` to recover what can be read into a new "
                            "file (the damaged one is kept beside it), or restore a backup")


def _file_state(path: Path) -> tuple:
    def state(p: Path) -> tuple:
        try:
            st = p.stat()
            return st.st_size, st.st_mtime_ns, st.st_ino
        except OSError:
            return ()
    return state(path), state(path.with_name(path.name + "-wal"))


class Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK if the block raises. Used inside an open transaction
    it is a savepoint: a block that raises undoes its own writes, and the outer one goes on.
    Inside a batch (`CorpusStore.batched`) the transaction it begins is left open for the batch
    to commit."""

    def __init__(self, db: sqlite3.Connection, batch: "_Batch | None" = None):
        self.db, self.batch, self.mode = db, batch, "outer"

    def __enter__(self):
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
            if self.batch is None:
                return self
            self.batch.began()
        self.mode = "savepoint"
        self.db.execute("SAVEPOINT ktp_write")
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if not self.db.in_transaction:
            return  # SQLite already rolled it back (a full disk, an I/O error)
        if self.mode == "outer":
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")
            return
        if exc_type:
            self.db.execute("ROLLBACK TO ktp_write")
        self.db.execute("RELEASE ktp_write")


class _Batch:
    def __init__(self, store: CorpusStore, every: int, hold: float):
        self.store, self.db, self.every, self.hold = store, store.db, every, hold
        self.pending, self.since, self.outer = 0, 0.0, None

    def __enter__(self) -> "_Batch":
        self.outer, self.store._batch = self.store._batch, self
        return self

    def began(self) -> None:
        self.pending, self.since = 0, time.monotonic()

    def tick(self) -> None:
        self.pending += 1
        if self.db.in_transaction and (self.pending >= self.every
                                       or time.monotonic() - self.since >= self.hold):
            self.db.execute("COMMIT")

    def __exit__(self, exc_type, *exc) -> None:
        self.store._batch = self.outer
        if self.db.in_transaction and self.outer is None:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def migrate(db: sqlite3.Connection, migrations: list[str], newer) -> None:
    """Bring a SQLite file's schema (`PRAGMA user_version`) up to len(migrations), each step in
    its own transaction; `newer(version)` is the error for a file from a newer ktp."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(migrations):
        raise newer(version)
    while version < len(migrations):
        with Transaction(db):
            # Read again under the write lock: another process opening the same new file may
            # have applied this step while we waited for the lock.
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version >= len(migrations):
                break
            for statement in _statements(migrations[version]):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {version + 1}")
        version += 1


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript() would commit mid-transaction)."""
    out, buf = [], ""
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return out


def _filtered(c: str, d: str) -> str:
    """The search filters as SQL over a chunk alias `c` and its document's alias `d`."""
    return f"""(:kind IS NULL OR {d}.kind = :kind)
        AND (:since IS NULL OR substr({d}.date, 1, 10) >= :since)
        AND (:until IS NULL OR substr({d}.date, 1, 10) <= :until)
        AND (:own = 0 OR json_extract({d}.meta, '$.is_retweet') IS NOT 1)
        AND (:speaker IS NULL OR ({c}.speaker IS :speaker) = (:speaker_is = 1))
        AND (:replies = 1 OR json_extract({d}.meta, '$.is_reply') IS NOT 1)
        AND (:min_likes = 0 OR COALESCE(json_extract({d}.meta, '$.likes'), 0) >= :min_likes)"""


def corpus_fingerprint(db: sqlite3.Connection) -> str:
    """The corpus's fingerprint (`CorpusStore.fingerprint`) read from any connection to it."""
    h = hashlib.sha256()
    for doc_id, digest in db.execute("SELECT id, hash FROM documents ORDER BY id"):
        h.update(f"{doc_id}\t{digest}\n".encode())
    return h.hexdigest()[:32]


def _document(row: sqlite3.Row) -> Document:
    meta = json.loads(row["meta"])
    if row["timeline"]:
        meta["parts"] = json.loads(row["timeline"])
    return Document(id=row["id"], kind=row["kind"], title=row["title"], text=row["text"],
                    author=row["author"], date=row["date"], url=row["url"], origin=row["origin"],
                    meta=meta, hash=row["hash"], authorship=row["authorship"])


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
