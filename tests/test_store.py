"""The corpus store: round trip, idempotence, replacement, atomic batches, schema versions, damaged
files refused, writers that interleave, and run records that are always closed."""
import os
import random
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from conftest import REPO
from corpus.model import Chunk, Document
from corpus.store import (MIGRATIONS, SCHEMA_VERSION, CorpusStore, DamagedStore, StoreError,
                          _statements)


def doc(i="doc:a", text="Some words about agents.\n\nAnd a second paragraph.", **kw):
    return Document(id=i, kind=kw.pop("kind", "doc"), title=kw.pop("title", "A title"),
                    text=text, **kw)


def test_round_trip_keeps_every_field(store):
    original = doc(date="2024-02-03T04:05:06Z", url="https://example.org/a", origin="/x/a.md",
                   meta={"likes": 12, "tags": ["x"]})
    assert store.add(original) == "loaded"
    assert store.get("doc:a") == original
    chunks = store.chunks("doc:a")
    assert [c.id for c in chunks] == ["doc:a#0"]
    assert chunks[0].text == original.text[chunks[0].start:chunks[0].end]


def test_adding_the_same_document_again_changes_nothing(store):
    store.add(doc())
    before = store.fingerprint()
    assert store.add(doc(origin="/elsewhere/a.md")) == "unchanged"  # origin is not content
    assert store.fingerprint() == before
    assert store.counts()["documents"] == 1


def test_a_changed_document_replaces_its_old_chunks(store):
    store.add(doc(text="old words " * 400))
    assert len(store.chunks("doc:a")) > 1
    assert store.add(doc(text="entirely new text")) == "replaced"
    assert [c.text for c in store.chunks("doc:a")] == ["entirely new text"]
    assert store.search("old") == []
    assert [h.id for h in store.search("entirely")] == ["doc:a#0"]


def test_explicit_chunks_keep_their_offsets_and_start_times(store):
    text = "first line said\nsecond line said"
    chunks = [Chunk("yt:x#0", "yt:x", 0, 0, 15, text[:15], start_time=0.0),
              Chunk("yt:x#1", "yt:x", 1, 16, 32, text[16:], start_time=12.5)]
    store.add(doc("yt:x", text, kind="transcript"), chunks)
    # A chunk without its own speaker is spoken by the document's author (here: unknown).
    assert store.chunks("yt:x") == [replace(c, speaker="unknown") for c in chunks]


def test_speakers_are_stored_and_filter_search(store):
    text = "Host: what about agents in the long run?\n\nHim: agents will take a decade."
    turns = [[0, 41, "Host"], [43, len(text), "Andrej Karpathy"]]
    store.add(Document(id="yt:y", kind="transcript", title="talk", text=text,
                       author="Andrej Karpathy", meta={"turns": turns}))
    assert [c.speaker for c in store.chunks("yt:y")] == ["Host", "Andrej Karpathy"]
    assert [h.speaker for h in store.search("agents", speaker="his")] == ["Andrej Karpathy"]
    assert [h.speaker for h in store.search("agents", speaker="others")] == ["Host"]
    assert [h.his_words for h in store.search("agents", speaker="Host")] == [False]
    assert len(store.search("agents")) == 2
    assert store.counts()["his_chunks"] == 1


def test_a_failing_batch_leaves_the_store_as_it_was(store):
    store.add(doc("doc:keep"))

    def batch():
        yield doc("doc:new")
        raise RuntimeError("the source broke mid-way")

    with pytest.raises(RuntimeError):
        store.add_many(batch())
    assert [d.id for d in store.documents()] == ["doc:keep"]
    assert store.search("agents")[0].doc_id == "doc:keep"


def test_remove_deletes_chunks_and_index_entries(store):
    store.add(doc())
    assert store.remove("doc:a") is True
    assert store.counts() == {"documents": 0, "words": 0, "chunks": 0, "by_kind": {},
                              "his_chunks": 0, "chunks_by_speaker": {},
                              "authorship_not_recorded": 0}
    assert store.search("agents") == []
    assert store.remove("doc:a") is False


def test_counts_by_kind(store):
    store.add_many([doc("tweet:1", "one two three", kind="tweet"),
                    doc("tweet:2", "four five", kind="tweet"), doc("blog:x", "six", kind="blog")])
    c = store.counts()
    assert c["by_kind"] == {"blog": {"documents": 1, "words": 1},
                            "tweet": {"documents": 2, "words": 5}}
    assert (c["documents"], c["words"], c["chunks"]) == (3, 6, 3)


def test_schema_version_is_recorded_and_reopening_keeps_data(tmp_path):
    path = tmp_path / "c.sqlite3"
    with CorpusStore(path) as s:
        s.add(doc())
        assert s.schema_version == SCHEMA_VERSION
    with CorpusStore(path) as s:
        assert s.get("doc:a") is not None


def test_a_store_from_a_newer_version_is_refused_with_a_fix(tmp_path):
    path = tmp_path / "c.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="upgrade ktp"):
        CorpusStore(path)


def test_ingest_runs_are_logged(store):
    run = store.start_run(["a/", "b.md"])
    store.finish_run(run, {"loaded": 2, "skipped": []})
    [logged] = store.runs()
    assert logged["sources"] == ["a/", "b.md"] and logged["summary"]["loaded"] == 2
    assert logged["finished_at"] is not None


def test_document_ids_must_name_their_kind():
    with pytest.raises(ValueError, match="<kind>:<name>"):
        doc("no-colon")


# ---- a damaged file is refused, never written into ------------------------------------------
def filled(path, n=300):
    """A store with enough documents to span many pages."""
    with CorpusStore(path) as s:
        s.add_many(doc(f"doc:{i}", f"passage {i} about agents and tokenizers. " * 40)
                   for i in range(n))
        s.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def test_a_file_that_is_not_sqlite_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / "corpus.sqlite3"
    path.write_bytes(b"these are my notes, not a database\n" * 50)
    before = path.read_bytes()
    with pytest.raises(DamagedStore, match="not a SQLite database.*ktp doctor --repair"):
        CorpusStore(path)
    assert path.read_bytes() == before


def test_an_empty_file_is_a_new_store(tmp_path):
    """SQLite itself treats a 0-byte file as a new database; there is nothing in it to lose."""
    path = tmp_path / "corpus.sqlite3"
    path.touch()
    with CorpusStore(path) as s:
        assert s.schema_version == SCHEMA_VERSION and s.counts()["documents"] == 0


@pytest.mark.parametrize("damage", ["truncated", "garbage in the middle"])
def test_a_damaged_store_is_refused_with_the_fix(tmp_path, damage):
    path = filled(tmp_path / "corpus.sqlite3")
    size = path.stat().st_size
    if damage == "truncated":
        os.truncate(path, size // 2)
    else:
        with open(path, "r+b") as f:
            f.seek(size // 2)
            f.write(random.Random(1).randbytes(16384))
    before = path.read_bytes()
    with pytest.raises(DamagedStore, match="damaged.*ktp doctor --repair"):
        CorpusStore(path)
    assert path.read_bytes() == before  # nothing written into it


def test_a_store_checked_once_is_checked_again_when_the_file_changes(tmp_path):
    path = filled(tmp_path / "corpus.sqlite3", n=5)
    with CorpusStore(path):
        pass  # checked, and remembered as good in this process
    with open(path, "r+b") as f:
        f.seek(path.stat().st_size // 2)
        f.write(b"\xff" * 4096)
    with pytest.raises(DamagedStore):
        CorpusStore(path)


# ---- writers: savepoints, and the write lock only while writing -------------------------------
def test_a_failing_write_inside_a_batch_undoes_only_itself(store):
    with store.batched() as batch:
        store.add(doc("doc:one"))
        batch.tick()
        with pytest.raises(sqlite3.IntegrityError):
            with store.transaction():
                store.db.execute("INSERT INTO documents (id) VALUES ('doc:broken')")
        store.add(doc("doc:two"))
        batch.tick()
    assert [d.id for d in store.documents()] == ["doc:one", "doc:two"]


def test_a_batch_holds_the_write_lock_only_while_it_writes(tmp_path):
    path = tmp_path / "corpus.sqlite3"
    with CorpusStore(path) as first, CorpusStore(path) as second:
        second.db.execute("PRAGMA busy_timeout = 100")
        with first.batched(hold=0) as batch:
            # Reading and parsing before the first write hold no lock: another writer goes on.
            second.add(doc("doc:other"))
            first.add(doc("doc:mine"))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                second.add(doc("doc:waits"))  # the batch is writing
            batch.tick()  # open longer than `hold`: committed, the lock is free again
            second.add(doc("doc:waits"))
    with CorpusStore(path) as s:
        assert {d.id for d in s.documents()} == {"doc:other", "doc:mine", "doc:waits"}


# ---- run records ------------------------------------------------------------------------------
def test_a_run_is_closed_even_when_it_fails(store):
    with pytest.raises(RuntimeError):
        with store.run(["a/"]) as run:
            run.summary = lambda: {"loaded": 1}
            raise RuntimeError("the disk went away")
    [logged] = store.runs()
    assert logged["status"] == "failed: RuntimeError: the disk went away"
    assert logged["summary"] == {"loaded": 1} and logged["finished_at"] is not None
    with pytest.raises(KeyboardInterrupt):
        with store.run(["b/"]):
            raise KeyboardInterrupt
    assert store.runs()[0]["status"] == "interrupted"
    with store.run(["c/"]) as run:
        run.summary = {"loaded": 0}
    assert store.runs()[0]["status"] == "finished"


START_A_RUN = """
import os, signal, sys, time
from corpus.store import CorpusStore
store = CorpusStore(sys.argv[1])
store.start_run([sys.argv[2]])
print("started", flush=True)
if sys.argv[2] == "killed":
    os.kill(os.getpid(), signal.SIGKILL)
time.sleep(60)
"""


def test_a_run_left_open_by_a_killed_process_is_marked_interrupted(tmp_path):
    path = tmp_path / "corpus.sqlite3"
    CorpusStore(path).close()
    run = [sys.executable, "-c", START_A_RUN, str(path)]
    killed = subprocess.run([*run, "killed"], capture_output=True, text=True, cwd=REPO)
    assert killed.returncode == -9 and killed.stdout == "started\n", killed.stderr
    alive = subprocess.Popen([*run, "alive"], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert alive.stdout.readline() == "started\n"
        with CorpusStore(path) as s:
            s.start_run(["mine"])
            status = {r["sources"][0]: r["status"] for r in s.runs()}
        assert status == {"killed": "interrupted", "alive": "running", "mine": "running"}
    finally:
        alive.kill()
        alive.wait()
    with CorpusStore(path) as s:  # once it is gone, it reads as interrupted too
        assert {r["sources"][0]: r["status"] for r in s.runs()}["alive"] == "interrupted"


def test_unfinished_runs_from_before_run_status_are_interrupted(tmp_path):
    path = tmp_path / "corpus.sqlite3"
    db = sqlite3.connect(path)
    for statement in _statements(MIGRATIONS[0]) + _statements(MIGRATIONS[1]):
        db.execute(statement)
    db.execute("INSERT INTO ingest_runs (started_at, sources) VALUES ('2024-01-01', '[\"x\"]')")
    db.execute("INSERT INTO ingest_runs (started_at, finished_at, sources) VALUES"
               " ('2024-01-02', '2024-01-02', '[\"y\"]')")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    with CorpusStore(path) as s:
        s.start_run(["z"])
        assert [r["status"] for r in s.runs()] == ["running", "finished", "interrupted"]


OPEN_AT_ONCE = """
import sys, time
from corpus.store import CorpusStore
time.sleep(float(sys.argv[2]) - time.time())
with CorpusStore(sys.argv[1], subject="x") as s:
    print(s.schema_version)
"""


def test_processes_opening_a_new_store_at_once_migrate_it_once(tmp_path):
    path, start = tmp_path / "corpus.sqlite3", str(time.time() + 2)
    procs = [subprocess.Popen([sys.executable, "-c", OPEN_AT_ONCE, str(path), start], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err[-600:] for _, err in results]
    assert [out for out, _ in results] == [f"{SCHEMA_VERSION}\n"] * 4
