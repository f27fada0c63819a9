"""The `ktp` CLI through click's runner: help everywhere, exit codes, the --json shapes, one line
for every error, output that cannot drive the terminal, and two ingests at once."""
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REPO, write_files
from corpus.model import Document
from ui.cli import cli, serve_command

COMMANDS = ["up", "ingest", "build", "search", "retrieve", "ask", "chat", "sleep", "memory",
            "stats", "serve", "doctor"]


def ktp(*args: str, ok: bool = True):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def posts(tmp_path: Path) -> Path:
    return write_files(tmp_path / "posts", {
        "2019-04-25-recipe.md": """
            ---
            title: A Recipe for Training Neural Networks
            url: http://karpathy.github.io/2019/04/25/recipe/
            ---
            The first step is to become one with the data. Inspect it thoroughly.
            """,
        "notes.txt": "Short notes about tokenizers and the tokenization stage.\n",
        "bad.md": "---\ntitle: [unclosed\n---\nbody\n",
        "image.png": "not really a png",
    })


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help_with_an_example(command):
    result = ktp(*([command] if command else []), "--help")
    assert "Example:" in result.output


def test_help_is_fast_because_heavy_imports_wait():
    code = ("import sys, ui.cli; heavy = {'networkx', 'streamlit', 'yaml'} & set(sys.modules); "
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_ingest_reports_loaded_and_skipped_with_reasons(posts):
    result = ktp("ingest", str(posts), "--json")
    data = json.loads(result.output)
    assert (data["loaded"], data["unchanged"], data["replaced"]) == (2, 0, 0)
    assert data["by_kind"] == {"blog": 1, "doc": 1}
    reasons = {Path(s["path"]).name: s["reason"] for s in data["skipped"]}
    assert set(reasons) == {"bad.md", "image.png"}
    assert reasons["bad.md"].startswith("front matter is not valid YAML")
    assert reasons["image.png"].startswith("a media file (.png)")
    again = json.loads(ktp("ingest", str(posts), "--json").output)
    assert (again["loaded"], again["unchanged"]) == (0, 2)


def test_ingest_human_output_lists_skips(posts):
    out = ktp("ingest", str(posts)).output
    assert out.startswith("loaded 2, unchanged 0, replaced 0, skipped 2")
    assert "skipped " in out and "bad.md" in out


def test_a_missing_path_beside_others_is_a_skip(tmp_path, posts):
    data = json.loads(ktp("ingest", str(tmp_path / "nope"), str(posts), "--json").output)
    assert data["loaded"] == 2
    assert {"path": str(tmp_path / "nope"), "reason": "no such file or folder"} in data["skipped"]


def test_an_ingest_of_only_missing_paths_fails_and_creates_nothing(tmp_path, data_home):
    result = ktp("ingest", str(tmp_path / "nope.zip"), ok=False)
    assert result.exit_code == 1
    assert result.output == (f"Error: nothing to ingest: no such file or folder: "
                             f"{tmp_path / 'nope.zip'}; check the paths\n")
    assert not data_home.exists()


def test_search_json_rows_and_filters(posts):
    ktp("ingest", str(posts))
    rows = json.loads(ktp("search", '"one with the data"', "--json").output)
    assert [r["doc_id"] for r in rows] == ["blog:recipe"]
    assert set(rows[0]) == {"id", "doc_id", "kind", "title", "date", "url", "text", "score",
                            "author", "speaker", "his_words"}
    assert rows[0]["url"] == "http://karpathy.github.io/2019/04/25/recipe/"
    assert rows[0]["date"] == "2019-04-25"
    assert json.loads(ktp("search", "data", "--kind", "doc", "--json").output) == []
    assert json.loads(ktp("search", "data", "--since", "2020", "--json").output) == []
    assert len(json.loads(ktp("search", "data", "--until", "2019-04", "--json").output)) == 1
    human = ktp("search", "tokeniz*").output
    assert "notes" in human and "tokenizers" in human


def test_search_errors_say_how_to_fix_them():
    result = ktp("search", "--", "-only", ok=False)  # "--": a query may start with a dash
    assert result.exit_code == 2 and "add at least one word" in result.output
    result = ktp("search", "x", "--since", "last year", ok=False)
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


def test_search_on_an_empty_corpus_suggests_ingesting(data_home):
    data_home.mkdir()
    assert "ktp ingest" in ktp("search", "anything").output


def test_stats_reports_the_whole_framework(data_home):
    data_home.mkdir()
    data = json.loads(ktp("stats", "--json").output)
    assert data["framework"]["axiom"] == 10
    assert data["framework"]["model"] >= 8
    assert data["corpus"]["documents"] == 0
    assert data["graph"]["nodes_by_kind"]["Axiom"] == 10
    assert data["graph"]["edges_by_kind"]["GENERATES"] > 0


def test_build_rebuilds_only_when_inputs_change(posts, tiny_framework, monkeypatch):
    monkeypatch.setenv("KTP_FRAMEWORK", str(tiny_framework))
    first = json.loads(ktp("build", "--json").output)
    assert first["rebuilt"] is True and first["nodes_by_kind"]["Axiom"] == 2
    assert json.loads(ktp("build", "--json").output)["rebuilt"] is False
    ktp("ingest", str(posts))
    after_ingest = json.loads(ktp("build", "--json").output)
    assert after_ingest["rebuilt"] is True and after_ingest["nodes_by_kind"]["Document"] == 2
    (tiny_framework / "eras.yaml").write_text("eras: []\n")
    after_edit = json.loads(ktp("build", "--json").output)
    assert after_edit["rebuilt"] is True and "Era" not in after_edit["nodes_by_kind"]
    assert json.loads(ktp("build", "--force", "--json").output)["rebuilt"] is True


def test_a_broken_framework_fails_with_file_and_line(tiny_framework, monkeypatch):
    (tiny_framework / "tensions.yaml").write_text(
        "tensions:\n  - id: tension:x\n    title: X\n    summary: s\n    description: d\n"
        "    between: [axiom:small, axiom:gone]\n")
    monkeypatch.setenv("KTP_FRAMEWORK", str(tiny_framework))
    result = ktp("build", ok=False)
    assert result.exit_code == 1
    assert "tensions.yaml:2: tension:x: `between` refers to 'axiom:gone'" in result.output


def test_up_without_serving_sets_up_the_data_home(data_home):
    data = json.loads(ktp("up", "--no-serve", "--json").output)
    assert data["data_home"] == str(data_home)
    assert (data_home / "corpus.sqlite3").exists() and (data_home / "graph.json").exists()
    assert data["framework"]["axiom"] == 10


def test_serve_binds_to_loopback_with_usage_statistics_off():
    command = serve_command(8765)
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--browser.gatherUsageStats") + 1] == "false"
    assert command[command.index("--server.port") + 1] == "8765"


def test_the_cli_knows_every_ingest_format():
    from ingest.detect import FORMATS
    from ui.cli import FORMATS as CLI_FORMATS

    assert CLI_FORMATS == FORMATS


def test_ingest_kind_forces_a_format(tmp_path):
    path = write_files(tmp_path, {"thoughts.txt": "one thought\n\nanother thought\n"})
    data = json.loads(ktp("ingest", str(path / "thoughts.txt"), "--kind", "tweets",
                          "--json").output)
    assert data["by_kind"] == {"tweet": 2}
    assert ktp("ingest", "x", "--kind", "nonsense", ok=False).exit_code == 2


# ---- errors: the code, and one line without a traceback ----------------------------------------
def one_line_error(result, code: int, *expected: str) -> None:
    """Exit `code`; one `Error: …` line (a usage error, exit 2, keeps click's usage lines)."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error")]
    assert len(errors) == 1 and (code == 2 or lines == errors), result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr


@pytest.mark.parametrize("args, code, expected", [
    (["ingest", "/nonexistent.zip"], 1, "nothing to ingest: no such file or folder"),
    (["serve", "--port", "99999"], 2, "99999 is not in the range 1<=x<=65535"),
    (["up", "--port", "0"], 2, "not in the range"),
    (["memory", "forget", "99"], 1, "there is no note 99"),
    (["memory", "edit", "99", "text"], 1, "there is no note 99"),
    (["search", "x", "--kind", "podcast"], 2, "'podcast' is not one of 'tweet'"),
    (["retrieve", "x", "--kind", "podcast"], 2, "'podcast' is not one of"),
    (["search", ""], 2, "it is empty"),
    (["ask", ""], 2, "it is empty"),
    (["ask", "   "], 2, "it is empty"),
    (["retrieve", ""], 2, "it is empty"),
    (["build", "--embedder", "nonsense:model"], 1, "unknown embedder nonsense:model"),
    (["ask", "what?", "--llm", "nonsense:model"], 1, "unknown LLM 'nonsense:model'"),
    (["search", "x", "--semantic"], 1, "no vector index yet; run `ktp build` first"),
])
def test_every_error_has_its_exit_code_and_one_line(args, code, expected, data_home):
    data_home.mkdir()
    one_line_error(ktp(*args, ok=False), code, expected)


def test_a_chroma_server_that_is_not_there_is_one_line(monkeypatch, data_home):
    monkeypatch.setenv("KTP_CHROMA_URL", "http://127.0.0.1:9")
    one_line_error(ktp("build", ok=False), 1, "no Chroma server answers at http://127.0.0.1:9")


def test_a_missing_key_is_one_line(monkeypatch, data_home):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    data_home.mkdir()
    result = ktp("ask", "what?", "--llm", "openai:gpt-4o-mini", ok=False)
    one_line_error(result, 1)
    assert "OPENAI_API_KEY" in result.stderr or "uv sync --extra llm" in result.stderr


def test_a_missing_home_is_an_error_for_reading_commands_and_is_not_created(tmp_path):
    home = tmp_path / "nonexistent" / "dir"
    for args in (["stats"], ["search", "x"], ["retrieve", "x"], ["memory"], ["ask", "x"]):
        one_line_error(ktp("--home", str(home), *args, ok=False), 1,
                       f"there is no data home at {home}")
    assert not home.parent.exists()


def test_serve_on_a_port_in_use_says_so_before_serving(data_home):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = ktp("serve", "--port", str(taken.getsockname()[1]), ok=False)
    one_line_error(result, 1, "Address already in use", "--port")
    assert "Serving" not in result.output


def run_cli(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], cwd=REPO, text=True,
                          capture_output=True, env={**os.environ, **(env or {})}, timeout=300,
                          **kw)


BROKEN_STATS = ("import sys, corpus.store as s; from ui.cli import main; "
                "s.CorpusStore.counts = lambda self: 1 / 0; sys.argv[0] = 'ktp'; main()")


def test_an_unexpected_error_is_called_a_bug_in_one_line(data_home):
    """A bug (here a division by zero put into `stats` by the test) is named as one, with its
    type and message, and how to see the traceback."""
    data_home.mkdir()
    result = subprocess.run([sys.executable, "-c", BROKEN_STATS, "stats"], cwd=REPO, text=True,
                            capture_output=True, env=os.environ.copy(), timeout=300)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: this is a bug in ktp: ZeroDivisionError")
    assert "KTP_DEBUG=1" in result.stderr
    debug = subprocess.run([sys.executable, "-c", BROKEN_STATS, "stats"], cwd=REPO, text=True,
                           capture_output=True, env={**os.environ, "KTP_DEBUG": "1"},
                           timeout=300)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_a_memory_file_from_a_newer_ktp_is_one_line_with_the_fix(data_home):
    data_home.mkdir()
    db = sqlite3.connect(data_home / "memory.sqlite3")
    db.execute("PRAGMA user_version = 99")
    db.close()
    result = run_cli("memory")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: the memory file was written by a newer ktp")
    assert "upgrade ktp" in result.stderr


def test_ctrl_c_is_one_line_and_exit_130(small_world):
    home, _, _ = small_world
    env = {**os.environ, "KTP_HOME": str(home.root),
           "KTP_FRAMEWORK": str(home.root.parent / "fw")}
    chat = subprocess.Popen([sys.executable, "-m", "ui.cli", "chat"], cwd=REPO, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert chat.stdout.readline().startswith("Ask away")
        time.sleep(0.5)  # waiting at the prompt
        chat.send_signal(signal.SIGINT)
        out, err = chat.communicate(timeout=60)
    finally:
        chat.kill()
    assert chat.returncode == 130, err
    assert err.strip() == "Interrupted." and "Traceback" not in err


# ---- the terminal: source text cannot drive it ------------------------------------------------
HOSTILE = ("Tokenizers \x1b]0;pwned title\x07are \x1b[2J\x1b[Hthe \x9b31mroot of "
           "evil\x1b[0m; see \u202egnp.exe and \u2066isolated\u2069\r\nthe end\x00\x7f")


def test_shown_strips_escapes_and_controls_and_marks_bidi():
    from ui.cli import shown

    text = shown(HOSTILE)
    assert text == ("Tokenizers are the root of evil; see ⟨U+202E⟩gnp.exe and "
                    "⟨U+2066⟩isolated⟨U+2069⟩\nthe end")
    assert shown("tabs\tand\nnewlines stay") == "tabs\tand\nnewlines stay"
    assert shown("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\") == "link"  # OSC 8, ST-ended
    assert shown("\x1bPdevice control\x1b\\ok \x1b(B\x1b=") == "ok "


def test_search_output_carries_no_escape_sequences_and_json_round_trips(data_home):
    from corpus.store import CorpusStore

    with CorpusStore(data_home / "corpus.sqlite3") as store:
        store.add(Document(id="tweet:1", kind="tweet", title="\x1b]0;title\x07tweet",
                           text=HOSTILE, url="https://x.com/karpathy/status/1\x1b[2J"))
    human = ktp("search", "tokenizers").output
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", human)
    assert "⟨U+202E⟩gnp.exe" in human and "root of" in human
    raw = ktp("search", "tokenizers", "--json").output
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", raw)
    assert json.loads(raw)[0]["text"] == HOSTILE  # escaped, not lost


def test_a_hostile_file_name_is_shown_safely(tmp_path, data_home):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "evil\x1b[2J\u202egnp.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    out = ktp("ingest", str(folder)).output
    assert "\x1b" not in out and "\u202e" not in out and "⟨U+202E⟩gnp.md" in out


# ---- two writers at once ------------------------------------------------------------------------
def test_two_ingests_into_one_home_at_once_both_succeed(tmp_path, data_home):
    tweets = write_files(tmp_path / "a", {"tweets.txt": "\n\n".join(
        f"thought number {i} about small models" for i in range(3000))})
    posts = write_files(tmp_path / "b", {f"post-{i}.md": f"# Post {i}\n\n" + "Words. " * 300
                                         for i in range(300)})
    env = {"KTP_HOME": str(data_home)}
    first = subprocess.Popen([sys.executable, "-m", "ui.cli", "ingest", str(tweets / "tweets.txt"),
                              "--kind", "tweets", "--json"], cwd=REPO, env={**os.environ, **env},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = run_cli("ingest", str(posts), "--json", env=env)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 0, second.stderr
    assert json.loads(out)["loaded"] == 3000 and json.loads(second.stdout)["loaded"] == 300
    from corpus.store import CorpusStore

    with CorpusStore(data_home / "corpus.sqlite3") as store:
        assert store.counts()["documents"] == 3300
        assert [r["status"] for r in store.runs()] == ["finished", "finished"]
