"""`ktp doctor`: what is wrong with a data home, and (with --repair) putting it right.

    findings = diagnose(home)            # [Finding(part, status, message, fix, repair)]
    done = repair(home, findings)        # ["recovered 980 of 1011 documents …", …]

What is checked: the home itself (there, writable, space left), the corpus file (SQLite at all,
`PRAGMA integrity_check`, schema version, the search tables in step with the passages, runs
left unfinished), graph.json (readable, of the right shape, up to date), the vector index (its
pointer, its Chroma folder and collection, as many vectors as passages) and the memory file.
Diagnosing writes nothing.

Repairs: derived files (graph.json, the index pointer and a broken Chroma folder) are removed,
so that `ktp build` makes them again. A damaged corpus or memory file is recovered into a new
file, and the damaged one is kept beside it (`corpus.sqlite3.damaged-<time>`): first by
`VACUUM INTO` (which works when the damage is in what SQLite can rebuild), else by reading
every table row by row, stepping over the rows SQLite cannot read, with the schema read even
when part of it is lost (`writable_schema`). (The sqlite3 shell's `.recover`, which reads pages
directly, is not available from Python.) A file that is not SQLite
at all is moved aside and a new corpus starts empty. No other ktp should run during a repair.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from corpus.home import DataHome, framework_dir
from corpus.store import SCHEMA_VERSION, SQLITE_HEADER, CorpusStore, _alive, corpus_fingerprint

LOW_SPACE = 64 * 1024 * 1024  # bytes free below which the home is reported as nearly full

OK, NOTE, PROBLEM = "ok", "note", "problem"


@dataclass
class Finding:
    part: str  # home, corpus, runs, graph, index, memory
    status: str  # ok, note (worth knowing, nothing broken), problem
    message: str
    fix: str | None = None  # what the user can do
    repair: str | None = None  # what `ktp doctor --repair` does about it (an action name)

    def as_dict(self) -> dict:
        return asdict(self)


# ---- diagnosis --------------------------------------------------------------------------------
def diagnose(home: DataHome) -> list[Finding]:
    found = [_check_home(home)]
    if not home.root.is_dir():
        return found
    corpus, facts = _check_corpus(home.corpus_db)
    found += corpus
    found.append(_check_graph(home, facts))
    found.append(_check_index(home, facts))
    found.append(_check_memory(home.memory_db))
    return found


def _check_home(home: DataHome) -> Finding:
    root = home.root
    if not root.is_dir():
        return Finding("home", PROBLEM, f"there is no data home at {root}",
                       fix="check --home / KTP_HOME, or create it with `ktp up`")
    try:
        with tempfile.NamedTemporaryFile(dir=root, prefix=".ktp-doctor-"):
            pass
    except OSError as e:
        return Finding("home", PROBLEM, f"{root} cannot be written to ({e.strerror})",
                       fix="make it writable (chmod u+w), free space, or point KTP_HOME at "
                           "a writable copy")
    free = shutil.disk_usage(root).free
    if free < LOW_SPACE:
        return Finding("home", PROBLEM, f"{root}: only {free / 1e6:.0f} MB free on its disk",
                       fix="free some space; writes fail when the disk is full")
    return Finding("home", OK, f"{root}: writable, {free / 1e9:.1f} GB free")


def _connect_ro(path: Path) -> sqlite3.Connection:
    """A read-only connection. In a read-only folder, where SQLite cannot make the WAL's index
    (-shm), the file is read as it is on disk (immutable). Damage is left for the caller's
    integrity check to find."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        db.execute("PRAGMA schema_version").fetchone()
    except sqlite3.OperationalError as e:
        if "unable to open" not in str(e) and "readonly" not in str(e):
            return db
        db.close()
        return sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    except sqlite3.DatabaseError:
        pass
    return db


def _header_problem(path: Path) -> str | None:
    with open(path, "rb") as f:
        head = f.read(len(SQLITE_HEADER))
    if head and head != SQLITE_HEADER:
        return f"{path.name} is not a SQLite database (it begins {head[:16]!r})"
    return None


def _integrity(db: sqlite3.Connection) -> str | None:
    """None if SQLite finds the file sound, else what it says. (An OperationalError, such as
    a file that cannot be read at all, is raised: it is not damage.)"""
    try:
        rows = [r[0] for r in db.execute("PRAGMA integrity_check(10)")]
    except sqlite3.OperationalError:
        raise
    except sqlite3.DatabaseError as e:
        return str(e)
    return None if rows == ["ok"] else "; ".join(" ".join(r.split()) for r in rows)[:300]


def _check_corpus(path: Path) -> tuple[list[Finding], dict]:
    """Findings about the corpus file, and facts for the other checks (None when unreadable)."""
    facts: dict = {"chunks": None, "fingerprint": None}
    if not path.exists():
        return [Finding("corpus", NOTE, "no corpus yet (`ktp ingest` makes it)")], facts
    if path.stat().st_size == 0:
        return [Finding("corpus", NOTE, f"{path.name} is empty: SQLite makes a new database "
                        "of a 0-byte file, so the next ktp starts a new corpus in it")], facts
    problem = _header_problem(path)
    if problem:
        return [Finding("corpus", PROBLEM, problem, fix="restore it from a backup, or let "
                        "--repair move it aside and start a new corpus", repair="corpus")], facts
    db = None
    try:
        db = _connect_ro(path)
        damage = _integrity(db)
    except sqlite3.OperationalError as e:
        if db is not None:
            db.close()
        return [Finding("corpus", PROBLEM, f"{path.name} cannot be read ({e})",
                        fix="check its permissions and the data home's")], facts
    try:
        if damage:
            return [Finding("corpus", PROBLEM, f"{path.name} is damaged ({damage})",
                            fix="`ktp doctor --repair` recovers what SQLite can read into a new "
                                "file and keeps the damaged one beside it",
                            repair="corpus")], facts
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            return [Finding("corpus", PROBLEM, f"{path.name} was written by a newer ktp (schema "
                            f"{version}, this one knows {SCHEMA_VERSION})",
                            fix="upgrade ktp")], facts
        if version < 1:
            return [Finding("corpus", NOTE, f"{path.name} has no tables yet")], facts
        return _corpus_contents(db, path, version, facts)
    finally:
        db.close()


def _corpus_contents(db, path: Path, version: int, facts: dict) -> tuple[list[Finding], dict]:
    docs = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    facts.update(chunks=chunks, fingerprint=corpus_fingerprint(db))
    schema = "" if version == SCHEMA_VERSION else \
        f"; schema {version}, brought to {SCHEMA_VERSION} when ktp next opens it"
    found = [Finding("corpus", OK, f"{path.name}: sound, {docs} documents, {chunks} passages"
                     + schema)]
    for table in ("chunks_fts", "chunks_fts_plain"):
        indexed = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        if indexed != chunks:
            found.append(Finding("corpus", PROBLEM, f"the search table {table} has {indexed} "
                                 f"rows for {chunks} passages", fix="--repair fills it again",
                                 repair="search-index"))
            break
    if version >= 3:
        open_runs = db.execute("SELECT id, started_at, process FROM ingest_runs WHERE "
                               "finished_at IS NULL AND (status IS NULL OR status = 'running')"
                               ).fetchall()
        dead = [(i, at) for i, at, process in open_runs if not _alive(process)]
        if dead:
            found.append(Finding("runs", NOTE, f"{len(dead)} ingest run(s) never finished "
                                 f"(the last started {dead[-1][1]}): the process was stopped; "
                                 "what it committed is kept, and the next ingest marks them "
                                 "interrupted", repair="runs"))
    return found, facts


def _check_graph(home: DataHome, facts: dict) -> Finding:
    from graph.nx_store import NetworkxGraphStore, fingerprint

    path = home.graph_json
    if not path.exists():
        return Finding("graph", NOTE, "graph.json is not built yet (`ktp build` makes it)")
    problem = NetworkxGraphStore(path).problem()
    if problem:
        return Finding("graph", PROBLEM, f"graph.json is unusable: {problem}",
                       fix="--repair removes it; `ktp build` makes it again", repair="graph")
    payload = json.loads(path.read_text(encoding="utf-8"))
    said = f"graph.json: {len(payload['nodes'])} nodes, {len(payload['edges'])} edges"
    if facts["fingerprint"] is not None:
        from graph.vector_index import VectorIndex

        pointer = VectorIndex.pointer_for(home)
        try:
            wanted = fingerprint(framework_dir(), facts["fingerprint"],
                                 pointer.read_text() if pointer.exists() else "no index")
        except OSError:
            wanted = None
        if wanted and wanted != payload["fingerprint"]:
            return Finding("graph", NOTE, said + "; out of date (the next `ktp build` or "
                           "`ktp stats` rebuilds it)")
    return Finding("graph", OK, said)


def _check_index(home: DataHome, facts: dict) -> Finding:
    from graph.pipeline import index_pointer
    from graph.vector_index import VectorIndex, VectorIndexError

    url = os.environ.get("KTP_CHROMA_URL")
    pointer = VectorIndex.pointer_for(home)
    if not pointer.exists():
        return Finding("index", NOTE, "no vector index yet: run `ktp build` (search by "
                       "meaning and evidence links need it)")
    try:
        state = index_pointer(pointer)
    except VectorIndexError as e:
        return Finding("index", PROBLEM, e.message, fix="--repair removes it; `ktp build` "
                       "makes the index again", repair="index")
    name = state["collection"]
    if url:
        try:
            import chromadb
            from urllib.parse import urlsplit

            parts = urlsplit(url)
            client = chromadb.HttpClient(host=parts.hostname, port=parts.port or 8000,
                                         ssl=parts.scheme == "https")
            client.heartbeat()
        except Exception as e:  # the client raises several kinds; all mean "not there"
            return Finding("index", PROBLEM, f"no Chroma server answers at {url} "
                           f"({type(e).__name__})", fix="start it, or unset KTP_CHROMA_URL")
    else:
        folder = home.root / "chroma"
        if not (folder / "chroma.sqlite3").is_file():
            return Finding("index", PROBLEM, f"{pointer.name} names the index {name!r}, but "
                           f"{folder} holds no index (deleted?)", fix="--repair removes the "
                           "pointer; `ktp build` makes the index again", repair="index")
        try:
            damage = _integrity_of(folder / "chroma.sqlite3")
        except sqlite3.OperationalError as e:
            return Finding("index", PROBLEM, f"the index's database cannot be read ({e})",
                           fix="check its permissions and the data home's")
        if damage:
            return Finding("index", PROBLEM, f"the index's database is damaged ({damage})",
                           fix="--repair removes the index; `ktp build` makes it again",
                           repair="index-folder")
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        import chromadb
        from chromadb.config import Settings

        try:
            client = chromadb.PersistentClient(path=str(folder),
                                               settings=Settings(anonymized_telemetry=False))
        except Exception as e:  # Chroma's own errors: the folder is not an index it can open
            return Finding("index", PROBLEM, f"Chroma cannot open {folder} ({type(e).__name__}: "
                           f"{e})", fix="--repair removes the index; `ktp build` makes it "
                           "again", repair="index-folder")
    names = {getattr(c, "name", c) for c in client.list_collections()}
    if name not in names:
        return Finding("index", PROBLEM, f"{pointer.name} names the collection {name!r}, which "
                       "is not in the index", fix="--repair removes the pointer; `ktp build` "
                       "makes the index again", repair="index")
    vectors = client.get_collection(name).count()
    said = f"{pointer.name}: {vectors} vectors by {state['embedder']}"
    if facts["chunks"] is not None and vectors != facts["chunks"]:
        return Finding("index", PROBLEM, f"{said}, for {facts['chunks']} passages in the "
                       "corpus", fix="run `ktp build` to bring it in step")
    return Finding("index", OK, said)


def _integrity_of(path: Path) -> str | None:
    """What is wrong with a SQLite file (its header, or what integrity_check says), or None.
    A file that cannot be read at all raises sqlite3.OperationalError."""
    problem = _header_problem(path)
    if problem:
        return problem
    db = _connect_ro(path)
    try:
        return _integrity(db)
    finally:
        db.close()


def _check_memory(path: Path) -> Finding:
    from simulator.memory import SCHEMA_VERSION as MEMORY_SCHEMA

    if not path.exists() or path.stat().st_size == 0:
        return Finding("memory", NOTE, "no conversations remembered yet")
    try:
        damage = _integrity_of(path)
    except sqlite3.OperationalError as e:
        return Finding("memory", PROBLEM, f"{path.name} cannot be read ({e})",
                       fix="check its permissions and the data home's")
    if damage:
        return Finding("memory", PROBLEM, f"{path.name} is damaged ({damage})",
                       fix="--repair recovers what can be read into a new file and keeps the "
                           "damaged one beside it", repair="memory")
    db = _connect_ro(path)
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > MEMORY_SCHEMA:
            return Finding("memory", PROBLEM, f"{path.name} was written by a newer ktp",
                           fix="upgrade ktp")
        notes = db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] if version else 0
        talks = db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0] if version else 0
    finally:
        db.close()
    return Finding("memory", OK, f"{path.name}: {notes} notes, {talks} conversations")


# ---- repair -----------------------------------------------------------------------------------
def repair(home: DataHome, findings: list[Finding]) -> list[str]:
    """Carry out the repairs the findings name; what was done, one line each."""
    actions = {f.repair for f in findings if f.repair}
    done = []
    if "corpus" in actions:
        done.append(recover_corpus(home.corpus_db))
    elif "search-index" in actions:
        with CorpusStore(home.corpus_db, subject="") as store:
            rows = store.rebuild_search_index()
        done.append(f"filled the search tables again ({rows} passages)")
    if "runs" in actions and "corpus" not in actions:
        with CorpusStore(home.corpus_db, subject="") as store:
            marked = store.close_dead_runs()
        done.append(f"marked {marked} unfinished ingest run(s) interrupted")
    if "graph" in actions or "corpus" in actions:
        if home.graph_json.exists():
            home.graph_json.unlink()
            done.append("removed graph.json (`ktp build` makes it again)")
    if "index-folder" in actions:
        shutil.rmtree(home.root / "chroma", ignore_errors=True)
        done.append(f"removed the damaged index folder {home.root / 'chroma'}")
    if actions & {"index", "index-folder"}:
        from graph.vector_index import VectorIndex

        VectorIndex.pointer_for(home).unlink(missing_ok=True)
        done.append("removed the index pointer (`ktp build` makes the index again)")
    if "memory" in actions:
        done.append(recover_memory(home.memory_db))
    return done


def recover_corpus(path: Path) -> str:
    """Recover a damaged corpus file into a new one, keeping the damaged one beside it."""
    def fresh(new: Path) -> None:
        CorpusStore(new, subject="").close()

    def finish(new: Path) -> str:
        with CorpusStore(new, subject="") as store:
            rechunked = store.restore_chunks()
            store.rebuild_search_index()
            counts = store.counts()
        return (f"{counts['documents']} documents, {counts['chunks']} passages"
                + (f" ({rechunked} document(s) chunked again)" if rechunked else ""))

    return _recover(path, fresh, finish, tables=["documents", "chunks", "ingest_runs"],
                    orphans=["DELETE FROM chunks WHERE doc_id NOT IN (SELECT id FROM documents)"])


def recover_memory(path: Path) -> str:
    from simulator.memory import Memory

    def fresh(new: Path) -> None:
        Memory(new).close()

    def finish(new: Path) -> str:
        db = sqlite3.connect(new)
        try:
            notes = db.execute("SELECT COUNT(*) FROM notes").fetchone()[0]
            turns = db.execute("SELECT COUNT(*) FROM turns").fetchone()[0]
        finally:
            db.close()
        return f"{notes} notes, {turns} turns"

    return _recover(path, fresh, finish, tables=["conversations", "turns", "notes"],
                    orphans=["DELETE FROM turns WHERE conversation_id NOT IN "
                             "(SELECT id FROM conversations)"])


def _recover(path: Path, fresh: Callable[[Path], None], finish: Callable[[Path], str],
             tables: list[str], orphans: list[str]) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept = path.with_name(f"{path.name}.damaged-{stamp}")
    if _header_problem(path):
        _move_aside(path, kept)
        return (f"{path.name} was not a SQLite database: moved aside as {kept.name}; a new, "
                "empty one is made when ktp next needs it")
    new = path.with_name(f"{path.name}.recovering")
    for leftover in (new, Path(f"{new}-wal"), Path(f"{new}-shm")):
        leftover.unlink(missing_ok=True)
    how = "VACUUM INTO"
    if not _vacuum_into(path, new):
        how = "reading row by row"
        new.unlink(missing_ok=True)
        fresh(new)
        lost = _copy_rows(path, new, tables, orphans)
        if lost:
            how += f"; {lost} unreadable stretch(es) passed over"
    what = finish(new)
    _move_aside(path, kept)
    os.replace(new, path)
    return f"recovered {what} into a new {path.name} ({how}); the damaged file is kept as " \
           f"{kept.name}"


def _vacuum_into(path: Path, new: Path) -> bool:
    """Copy what SQLite can read into `new` with VACUUM INTO; True if the copy is sound."""
    try:
        db = _connect_ro(path)
        try:
            db.execute("VACUUM INTO ?", (str(new),))
        finally:
            db.close()
    except sqlite3.Error:
        return False
    check = sqlite3.connect(new)
    try:
        return _integrity(check) is None
    finally:
        check.close()


def _copy_rows(path: Path, new: Path, tables: list[str], orphans: list[str]) -> int:
    """Copy every readable row of `tables` into the fresh file `new`; the unreadable stretches
    passed over."""
    src = _connect_ro(path)
    # A schema that SQLite cannot fully parse (pages of it lost) still names the tables' root
    # pages: with writable_schema its damage is not an error, on this read-only connection.
    src.execute("PRAGMA writable_schema = ON")
    dst = sqlite3.connect(new, isolation_level=None)
    lost = 0
    try:
        dst.execute("BEGIN")
        for table in tables:
            wanted = [r[1] for r in dst.execute(f"PRAGMA table_info({table})")]
            rows, skipped = _readable_rows(src, table)
            lost += skipped
            if not rows:
                continue
            columns = [c for c in rows[0].keys() if c in wanted]
            dst.executemany(f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES "
                            f"({', '.join('?' * len(columns))})",
                            ([row[c] for c in columns] for row in rows))
        for statement in orphans:
            dst.execute(statement)
        dst.execute("COMMIT")
    finally:
        src.close()
        dst.close()
    return lost


def _readable_rows(db: sqlite3.Connection, table: str) -> tuple[list[sqlite3.Row], int]:
    """The rows of `table` SQLite can read, in rowid order, and how many stretches it could
    not. A damaged page stops a scan: the scan resumes at the next rowid that can be read."""
    db.row_factory = sqlite3.Row
    rows: list[sqlite3.Row] = []
    last, lost = -(2 ** 63), 0
    while True:
        try:
            for row in db.execute(f"SELECT rowid AS _rowid, * FROM {table} WHERE rowid > ? "
                                  "ORDER BY rowid", (last,)):
                rows.append(row)
                last = row["_rowid"]
            return rows, lost
        except sqlite3.DatabaseError:
            lost += 1
        following = _next_readable(db, table, last)
        if following is None:
            return rows, lost
        try:  # the row itself may be what cannot be read (its text on a damaged page)
            row = db.execute(f"SELECT rowid AS _rowid, * FROM {table} WHERE rowid = ?",
                             (following,)).fetchone()
            if row is not None:
                rows.append(row)
        except sqlite3.DatabaseError:
            pass
        last = following


def _next_readable(db: sqlite3.Connection, table: str, after: int) -> int | None:
    """The first rowid after `after` that SQLite can find (None: none is left, or none can be
    found). Steps forward, doubling, past the damaged stretch, then back by halves to the
    first rowid after it."""
    def probe(at: int):
        try:
            row = db.execute(f"SELECT rowid FROM {table} WHERE rowid >= ? ORDER BY rowid "
                             "LIMIT 1", (at,)).fetchone()
            return True, (row[0] if row else None)
        except sqlite3.DatabaseError:
            return False, None

    low = max(after, 0)
    step, high = 1, low + 1
    while True:
        ok, found = probe(high)
        if ok:
            break
        step *= 2
        high = low + step
        if high >= 2 ** 62:
            return None
    if found is None:
        return None
    while high - low > 1:  # the first position after the damage from which a probe works
        middle = (low + high) // 2
        ok, at = probe(middle)
        if ok:
            high, found = middle, at if at is not None else found
        else:
            low = middle
    return found if found is not None and found > after else None


def _move_aside(path: Path, kept: Path) -> None:
    os.replace(path, kept)
    wal = Path(f"{path}-wal")
    if wal.exists():  # committed writes may still be in it: keep it with the file
        os.replace(wal, Path(f"{kept}-wal"))
    Path(f"{path}-shm").unlink(missing_ok=True)


def has_problems(findings: list[Finding]) -> bool:
    return any(f.status == PROBLEM for f in findings)
