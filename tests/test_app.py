"""The web UI through Streamlit's AppTest: every page renders, interactions change what is shown,
errors are explained, and source text can never become markup."""
import re

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from conftest import REPO, TINY_FRAMEWORK, write_files
from ui.failures import FAILURE_KEY
from ui.markup import esc

APP = str(REPO / "ui" / "app.py")
PAGES = ["app_pages/framework.py", "app_pages/search.py", "app_pages/ask.py",
         "app_pages/graph_explorer.py", "app_pages/corpus.py"]


@pytest.fixture(autouse=True)
def fresh_cache():
    st.cache_resource.clear()  # cached resources outlive an AppTest; start each test clean
    yield
    st.cache_resource.clear()


def run_app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    if page:
        at.switch_page(page).run()
    assert_no_failure(at)
    return at


def assert_no_failure(at: AppTest) -> None:
    """Nothing raised, and no page showed its one-line failure (the traceback is kept)."""
    assert not at.exception, [e.value for e in at.exception]
    assert FAILURE_KEY not in at.session_state, at.session_state[FAILURE_KEY]


def headings(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("#### ")]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(page):
    run_app(page)


def test_the_framework_page_shows_all_ten_axioms_with_quotes_and_links():
    at = run_app()
    assert [t.label for t in at.tabs] == ["Axioms", "Mental models", "Tensions", "Predictions",
                                          "Lineage", "Eras"]
    numbers = [int(m.group(1)) for h in headings(at) if (m := re.match(r"#### (\d{1,2})\. ", h))]
    assert numbers == list(range(1, 11))
    assert any(m.value.startswith("> “") for m in at.markdown)
    assert any("](https://x.com/karpathy/status/" in c.value for c in at.caption)
    assert any(m.value.startswith("*Generates:*") for m in at.markdown)
    assert any(c.value.startswith("Evidence: ") and "no passages linked yet" in c.value
               for c in at.caption)


def test_the_filter_narrows_the_items_shown():
    at = run_app()
    everything = len(headings(at))
    at.text_input[0].input("Licklider").run()
    narrowed = headings(at)
    assert 0 < len(narrowed) < everything
    assert [t.label for t in at.tabs][0].startswith("Axioms (")
    at.text_input[0].input("zzzz-no-such-word").run()
    assert headings(at) == []
    empty = [i.value for i in at.info if f"mention “{esc('zzzz-no-such-word')}”" in i.value]
    assert len(empty) == 6  # one per tab


def test_an_empty_corpus_tells_the_user_how_to_add_material():
    at = run_app()
    assert any("ktp ingest" in c.value for c in at.sidebar.caption)


def test_a_broken_framework_is_explained_with_file_and_line(tmp_path, monkeypatch):
    folder = write_files(tmp_path / "fw", {**TINY_FRAMEWORK, "tensions.yaml": """
        tensions:
          - id: tension:x
            title: X
            summary: s
            description: d
            between: [axiom:small, axiom:gone]
        """})
    monkeypatch.setenv("KTP_FRAMEWORK", str(folder))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert "framework files have problems" in at.error[0].value
    assert "tensions.yaml:2: tension:x" in at.code[0].value


def test_hostile_text_in_the_framework_is_shown_as_text(tmp_path, monkeypatch):
    hostile = "<script>alert(1)</script> [click](javascript:alert(1)) **bold** $x^2$"
    files = dict(TINY_FRAMEWORK)
    files["axioms.yaml"] = files["axioms.yaml"].replace(
        "description: Build the smallest working thing before anything bigger.",
        f"description: '{hostile}'")
    monkeypatch.setenv("KTP_FRAMEWORK", str(write_files(tmp_path / "fw", files)))
    at = run_app()
    [shown] = [m.value for m in at.markdown if "alert" in m.value]
    assert "<script>" not in shown and "](javascript" not in shown and "**bold**" not in shown
    assert esc(hostile) in shown and "&#60;script&#62;" in shown and "&#36;x^2&#36;" in shown


def test_evidence_counts_come_from_the_evidence_links(tmp_path, monkeypatch):
    from corpus.home import DataHome
    from corpus.model import Document
    from corpus.store import CorpusStore
    from graph.pipeline import build_index

    home = DataHome(tmp_path / "home").ensure()
    with CorpusStore(home.corpus_db) as store:
        store.add(Document(id="blog:small", kind="blog", title="Small post", date="2020-01-01",
                           url="http://karpathy.github.io/2020/01/01/small/",
                           author="Andrej Karpathy",
                           text="I always begin with the smallest thing that works."))
        build_index(home, store)
    monkeypatch.setenv("KTP_HOME", str(home.root))
    monkeypatch.setenv("KTP_FRAMEWORK", str(write_files(tmp_path / "fw", TINY_FRAMEWORK)))
    at = run_app()
    lines = [c.value for c in at.caption if c.value.startswith("Evidence: ")]
    assert lines[0].startswith("Evidence: supported by 1 passage in 1 source of the corpus")


def test_a_damaged_data_home_is_one_line_with_the_fix_not_a_traceback(tmp_path, monkeypatch):
    home = tmp_path / "damaged"
    home.mkdir()
    (home / "corpus.sqlite3").write_bytes(b"this is not a database, it is a shopping list " * 40)
    monkeypatch.setenv("KTP_HOME", str(home))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert "\n" not in error and "Traceback" not in error and "File " not in error
    assert "is not a SQLite database" in error and "`ktp doctor --repair`" in error
    assert FAILURE_KEY in at.session_state  # the traceback is kept for the log, not shown


def test_a_damaged_memory_fails_only_the_ask_page(tmp_path, monkeypatch):
    home = tmp_path / "damaged"
    home.mkdir()
    (home / "memory.sqlite3").write_bytes(b"not a database either " * 80)
    monkeypatch.setenv("KTP_HOME", str(home))
    at = run_app()  # the framework page does not need the memory
    at.switch_page("app_pages/ask.py").run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert "\n" not in error and "Traceback" not in error
    assert error.startswith("A database is damaged") and "`ktp doctor`" in error
    at.switch_page("app_pages/search.py").run()
    assert not at.error and FAILURE_KEY not in at.session_state
