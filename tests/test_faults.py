"""Faults: a process killed (SIGKILL, no clean-up of any kind) in the middle of an ingest or a
reindex leaves a data home that the next run finds sound, marks the run interrupted, and
finishes. Real processes, real SQLite and Chroma files."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from corpus.home import DataHome
from corpus.store import CorpusStore

ROOT = Path(__file__).resolve().parent.parent


def ktp(home: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "KTP_HOME": str(home), "ORT_DISABLE_TELEMETRY": "1"}
    return subprocess.Popen([sys.executable, "-m", "ui.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(condition, proc: subprocess.Popen, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return
        assert proc.poll() is None, f"finished before the fault: {proc.stdout.read()}"
        time.sleep(0.02)
    raise AssertionError("the moment to kill never came")


def rows(db: Path, sql: str) -> list:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return con.execute(sql).fetchall()
    except sqlite3.Error:
        return []


def notes(folder: Path, n: int, sentences: int = 40) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"note-{i:04d}.md").write_text(f"# Note {i}\n\n" + (
            f"Sentence {i} about training small models on clean data. " * sentences))
    return folder


def test_an_ingest_killed_mid_run_leaves_a_sound_store_and_the_next_run_finishes(tmp_path):
    home, folder = tmp_path / "home", notes(tmp_path / "in", 1500)
    db = DataHome(home).corpus_db
    proc = ktp(home, "ingest", str(folder))
    wait_for(lambda: rows(db, "SELECT count(*) FROM documents")[:1] not in ([], [(0,)]), proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with CorpusStore(db) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = store.counts()["documents"]
        assert 0 < kept < 1500
    again = ktp(home, "ingest", str(folder))
    out, _ = again.communicate(timeout=600)
    assert again.returncode == 0, out
    with CorpusStore(db) as store:
        assert store.counts()["documents"] == 1500
        runs = store.runs(2)
        assert [r["status"] for r in runs] == ["finished", "interrupted"]


def test_a_reindex_killed_mid_embedding_leaves_no_orphan_collection(tmp_path):
    home = tmp_path / "home"
    first = ktp(home, "ingest", str(notes(tmp_path / "in", 200, sentences=12)))
    assert first.wait(timeout=300) == 0
    built = ktp(home, "build")
    out, _ = built.communicate(timeout=900)
    assert built.returncode == 0, out
    chroma = home / "chroma" / "chroma.sqlite3"
    [(live,)] = rows(chroma, "SELECT name FROM collections")
    proc = ktp(home, "build", "--reindex")
    wait_for(lambda: len(rows(chroma, "SELECT name FROM collections")) == 2, proc)
    time.sleep(0.5)  # well into embedding the fresh collection
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(rows(chroma, "SELECT name FROM collections")) == 2  # the orphan, for now
    search = ktp(home, "retrieve", "training small models", "--speaker", "any", "--json")
    out, _ = search.communicate(timeout=300)
    assert search.returncode == 0 and "note-" in out  # the old index is still the live one
    again = ktp(home, "build")
    out, _ = again.communicate(timeout=900)
    assert again.returncode == 0, out
    assert rows(chroma, "SELECT name FROM collections") == [(live,)]
