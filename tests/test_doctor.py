"""`ktp doctor` on real data homes damaged in the test: SQLite files truncated, overwritten with
garbage or not SQLite at all, graph.json of the wrong shape, the Chroma folder deleted, the
search tables out of step, a read-only home; and `--repair` putting right what it can."""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REALDATA, REPO, requires_realdata
from corpus.doctor import diagnose, recover_corpus
from corpus.home import DataHome
from corpus.model import Document
from corpus.store import CorpusStore, DamagedStore
from simulator.memory import Memory
from ui.cli import cli


def ktp(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def statuses(home: Path) -> dict[str, str]:
    found = {}
    for f in diagnose(DataHome(home)):
        found[f.part] = "problem" if "problem" in (found.get(f.part), f.status) else f.status
    return found


def documents(n: int) -> list[Document]:
    return [Document(id=f"doc:{i}", kind="doc", title=f"Note {i}",
                     text=f"Passage {i} about agents, tokenizers and training loops. " * 60)
            for i in range(n)]


@pytest.fixture
def built(small_world, tmp_path, monkeypatch) -> Path:
    """A copy of the small built world (corpus, index, graph) to damage."""
    source, _, _ = small_world
    home = tmp_path / "home"
    shutil.copytree(source.root, home)
    shutil.copytree(source.root.parent / "fw", tmp_path / "fw")
    monkeypatch.setenv("KTP_HOME", str(home))
    monkeypatch.setenv("KTP_FRAMEWORK", str(tmp_path / "fw"))
    return home


@pytest.fixture
def filled(data_home) -> Path:
    """A data home whose corpus spans many pages."""
    with CorpusStore(DataHome(data_home).ensure().corpus_db) as store:
        store.add_many(documents(400))
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return data_home


def garble(path: Path, where: float = 0.5, size: int = 16384) -> None:
    with open(path, "r+b") as f:
        f.seek(int(path.stat().st_size * where))
        f.write(random.Random(7).randbytes(size))


def test_a_sound_home_is_all_ok(built):
    result = ktp("doctor", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    found = {f["part"]: f["status"] for f in data["findings"]}
    memory = found.pop("memory")  # "note" until a chat on the shared world is remembered
    assert found == {"home": "ok", "corpus": "ok", "graph": "ok", "index": "ok"}
    assert memory in ("ok", "note")
    assert data["repaired"] == []


def test_a_new_home_has_notes_not_problems(data_home):
    data_home.mkdir()
    result = ktp("doctor")
    assert result.exit_code == 0, result.output
    assert "no vector index yet: run `ktp build`" in result.output
    assert "no corpus yet" in result.output


def test_a_missing_home_is_one_line_and_is_not_created(tmp_path):
    result = ktp("--home", str(tmp_path / "nowhere"), "doctor")
    assert result.exit_code == 1 and "there is no data home" in result.output
    assert not (tmp_path / "nowhere").exists()


def test_garbage_in_the_middle_of_the_corpus_is_found_and_recovered(filled):
    db = DataHome(filled).corpus_db
    garble(db)
    found = ktp("doctor")
    assert found.exit_code == 1
    assert "PROBLEM corpus  corpus.sqlite3 is damaged" in found.output
    assert "ktp doctor --repair" in found.output and "Traceback" not in found.output
    # Every command refuses it with the fix, in one line, and writes nothing into it.
    before = db.read_bytes()
    for args in (["stats"], ["search", "agents"], ["ingest", str(REPO / "README.md")]):
        refused = ktp(*args)
        assert refused.exit_code == 1, (args, refused.output)
        assert refused.output.startswith("Error: ") and refused.output.count("\n") == 1
        assert "is damaged" in refused.output and "ktp doctor --repair" in refused.output
    assert db.read_bytes() == before

    repaired = ktp("doctor", "--repair")
    assert "repaired  recovered" in repaired.output, repaired.output
    [kept] = filled.glob("corpus.sqlite3.damaged-*[0-9]")
    assert kept.read_bytes() == before  # the damaged file is kept, as it was
    with CorpusStore(db) as store:
        n = store.counts()["documents"]
        assert 0 < n <= 400
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # Every document recovered has all its passages, and search finds them.
        assert store.db.execute("SELECT COUNT(*) FROM documents d WHERE NOT EXISTS "
                                "(SELECT 1 FROM chunks c WHERE c.doc_id = d.id)").fetchone()[0] == 0
        assert store.search("tokenizers", limit=1000, one_per_doc=True).__len__() == n
    assert statuses(filled)["corpus"] == "ok"
    assert ktp("ingest", str(REPO / "README.md")).exit_code == 0  # writable again


def test_a_truncated_corpus_is_refused_and_the_repair_says_what_it_kept(filled):
    db = DataHome(filled).corpus_db
    os.truncate(db, db.stat().st_size * 2 // 3)
    with pytest.raises(DamagedStore):
        CorpusStore(db)
    assert statuses(filled)["corpus"] == "problem"
    message = recover_corpus(db)
    assert message.startswith("recovered ") and "the damaged file is kept as" in message
    with CorpusStore(db) as store:  # what SQLite could read, in a sound new file
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert 0 < store.counts()["documents"] < 400


def test_a_file_that_is_not_sqlite_is_moved_aside_not_emptied(data_home):
    db = DataHome(data_home).ensure().corpus_db
    db.write_bytes(b"my notes, not a database\n" * 100)
    result = ktp("stats")
    assert result.exit_code == 1 and "is not a SQLite database" in result.output
    assert db.read_bytes().startswith(b"my notes")
    repaired = ktp("doctor", "--repair")
    assert "was not a SQLite database: moved aside" in repaired.output
    [kept] = data_home.glob("corpus.sqlite3.damaged-*")
    assert kept.read_bytes().startswith(b"my notes")
    assert not db.exists()
    assert ktp("ingest", str(REPO / "README.md")).exit_code == 0


def test_an_empty_corpus_file_is_a_new_corpus(data_home):
    DataHome(data_home).ensure().corpus_db.touch()
    assert statuses(data_home)["corpus"] == "note"
    result = ktp("stats", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["corpus"]["documents"] == 0


def test_a_graph_of_the_wrong_shape_is_rebuilt(built):
    graph = DataHome(built).graph_json
    for wrong in ('[1, 2, 3]', '{"format": 1, "fingerprint": "x", "nodes": [{"id": "a"}], '
                  '"edges": []}', '{"format": 1, "fingerprint": "x", "nodes": [], '
                  '"edges": [{"source": "a", "target": "b", "kind": "K"}]}', '{"nodes": '):
        graph.write_text(wrong)
        found = ktp("doctor")
        assert found.exit_code == 1 and "PROBLEM graph   graph.json is unusable" in found.output
        stats = ktp("stats", "--json")  # loading it is a rebuild, not a traceback
        assert stats.exit_code == 0, stats.output
        assert json.loads(stats.output)["graph"]["nodes"] > 0
        assert statuses(built)["graph"] == "ok"
    graph.write_text("[]")
    assert "removed graph.json" in ktp("doctor", "--repair").output
    assert not graph.exists()


def test_a_deleted_chroma_folder_says_run_ktp_build(built):
    shutil.rmtree(built / "chroma")
    found = ktp("doctor")
    assert found.exit_code == 1
    assert "index.json names the index" in found.output and "holds no index" in found.output
    for args in (["search", "agents", "--semantic"], ["retrieve", "agents"]):
        result = ktp(*args)
        assert result.exit_code == 1, result.output
        assert result.output.count("\n") == 1 and "run `ktp build`" in result.output
        assert "No matches" not in result.output and "Traceback" not in result.output
    assert not (built / "chroma").exists()  # asking did not make an empty one
    repaired = ktp("doctor", "--repair")
    assert "removed the index pointer" in repaired.output
    assert statuses(built)["index"] == "note"  # no index yet: run `ktp build`


def test_an_index_out_of_step_with_the_corpus_says_run_ktp_build(built):
    with CorpusStore(DataHome(built).corpus_db) as store:
        store.add(documents(1)[0])
    result = ktp("doctor")
    assert result.exit_code == 1
    assert re.search(r"vectors by all-MiniLM-L6-v2(-int8)?, for", result.output)
    assert "run `ktp build` to bring it in step" in result.output


def test_search_tables_out_of_step_are_filled_again(built):
    db = DataHome(built).corpus_db
    with sqlite3.connect(db) as con:
        con.execute("DELETE FROM chunks_fts WHERE rowid IN (SELECT rowid FROM chunks_fts "
                    "LIMIT 2)")
    assert "the search table chunks_fts has" in ktp("doctor").output
    assert "filled the search tables again" in ktp("doctor", "--repair").output
    assert statuses(built)["corpus"] == "ok"


def test_a_damaged_memory_file_is_recovered_beside_the_old_one(data_home):
    home = DataHome(data_home).ensure()
    memory = Memory(home.memory_db)
    memory.add_note("position", "I think small models will win")
    talk = memory.start()
    for i in range(600):
        memory.add_turn(talk, "user", f"question {i} about tokenizers and agents " * 8)
    memory.close()
    garble(home.memory_db, where=0.6, size=8192)
    assert statuses(data_home)["memory"] == "problem"
    repaired = ktp("doctor", "--repair")
    assert "notes" in repaired.output and "memory.sqlite3.damaged-" in repaired.output
    assert list(data_home.glob("memory.sqlite3.damaged-*"))
    assert statuses(data_home)["memory"] == "ok"
    Memory(home.memory_db).notes()  # it opens, sound


def test_an_interrupted_run_is_a_note_and_the_repair_closes_it(data_home):
    home = DataHome(data_home).ensure()
    killed = subprocess.run([sys.executable, "-c", (
        "import os, signal, sys\nfrom corpus.store import CorpusStore\n"
        "CorpusStore(sys.argv[1]).start_run(['x'])\nos.kill(os.getpid(), signal.SIGKILL)"),
        str(home.corpus_db)], cwd=REPO)
    assert killed.returncode == -9
    assert "ingest run(s) never finished" in ktp("doctor").output
    assert "marked 1 unfinished ingest run(s) interrupted" in ktp("doctor", "--repair").output
    with CorpusStore(home.corpus_db) as store:
        assert store.runs()[0]["status"] == "interrupted"


def without_write_permission() -> list[str]:
    """A command prefix under which the data home's permissions apply: nothing as a normal
    user; as root (who ignores permissions), root without the capabilities to ignore them."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: permissions are not enforced")
    caps = "-dac_override,-dac_read_search,-fowner"
    return ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}", "--"]


@pytest.fixture
def read_only_home(data_home):
    with CorpusStore(DataHome(data_home).ensure().corpus_db) as store:
        store.add_many(documents(5))
    for path in [data_home, *data_home.iterdir()]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    yield data_home
    for path in [data_home, *data_home.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def run_ktp(*args: str, prefix: list[str] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, sys.executable, "-m", "ui.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_a_read_only_home_is_said_in_one_line(read_only_home, tmp_path):
    prefix = without_write_permission()
    doctor = run_ktp("doctor", prefix=prefix)
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    assert "cannot be written to (Permission denied)" in doctor.stdout
    assert "PROBLEM corpus" not in doctor.stdout  # read-only is not damage
    note = tmp_path / "note.md"
    note.write_text("# A note\n\nSome words.\n")
    for args in (["ingest", str(note)], ["stats"]):
        result = run_ktp(*args, prefix=prefix)
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert "readonly" in result.stderr or "read-only" in result.stderr
        assert "chmod u+w" in result.stderr


def test_a_full_disk_is_said_in_one_line(tmp_path):
    """A 400 kB file system of its own (a tmpfs in a user namespace: no root needed where
    the kernel allows unprivileged user namespaces; skipped where it does not)."""
    mount = tmp_path / "small"
    mount.mkdir()
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=400k tmpfs "
                            f"{mount}"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {probe.stderr.decode()[:200]}")
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(60):
        (folder / f"note-{i}.md").write_text(f"# Note {i}\n\n" + f"Words {i} on disks. " * 400)
    script = (f"mount -t tmpfs -o size=400k tmpfs {mount} && "
              f"{sys.executable} -m ui.cli --home {mount}/home ingest {folder}; echo rc=$?; "
              f"{sys.executable} -m ui.cli --home {mount}/home doctor")
    out = subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert "rc=1" in out.stdout, out.stdout + out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error: ")]
    assert errors == [errors[0]] and "the disk is full" in errors[0], out.stderr
    assert "Traceback" not in out.stderr
    assert "MB free on its disk" in out.stdout


@requires_realdata
def test_quick_check_on_a_realistic_store_is_cheap(tmp_path):
    """Measured: ~45 ms for 1,000 documents (28 MB), ~300 ms for 10,000 (280 MB), warm."""
    import time

    db = tmp_path / "corpus.sqlite3"
    runner = CliRunner()
    result = runner.invoke(cli, ["--home", str(tmp_path), "ingest",
                                 str(REALDATA / "transcripts"), str(REALDATA / "tweets")])
    assert result.exit_code == 0, result.output
    con = sqlite3.connect(db)
    start = time.perf_counter()
    assert con.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    assert time.perf_counter() - start < 1.0
