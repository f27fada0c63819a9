"""The `ktp` CLI through click's runner: help everywhere, exit codes, and the --json shapes."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import write_files
from ui.cli import cli, serve_command

COMMANDS = ["up", "ingest", "build", "search", "retrieve", "ask", "chat", "sleep", "memory",
            "stats", "serve"]


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
