"""The pages over a built world (AppTest): search with highlights and filters, asking with
verified citations, the graph explorer's focus, the corpus page adding a URL, and evidence
behind each framework card."""
import re

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from conftest import REPO
from test_app import assert_no_failure
from ui.markup import esc
from web_server import SiteServer

APP = str(REPO / "ui" / "app.py")


@pytest.fixture(autouse=True)
def built_world(small_world, monkeypatch):
    home, _, _ = small_world
    monkeypatch.setenv("KTP_HOME", str(home.root))
    monkeypatch.setenv("KTP_FRAMEWORK", str(home.root.parent / "fw"))
    monkeypatch.delenv("KTP_LLM", raising=False)
    st.cache_resource.clear()
    yield home
    st.cache_resource.clear()


def page(path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.switch_page(path).run()
    assert_no_failure(at)
    return at


def test_search_highlights_a_phrase_and_filters_retweets():
    at = page("app_pages/search.py")
    at.text_input(key="search_q").input('"check it"').run()
    assert any(":orange-background[**check it**]" in m.value for m in at.markdown)
    at.text_input(key="search_q").input("automation").run()
    assert not any(esc("retweet of @someone") in c.value for c in at.caption)
    at.checkbox(key="search_rts").check().run()
    assert any(esc("retweet of @someone") in c.value for c in at.caption)


def test_search_labels_whose_words_each_result_is():
    at = page("app_pages/search.py")
    at.segmented_control(key="search_scope").set_value("Everything").run()
    at.text_input(key="search_q").input("reward").run()
    captions = [c.value for c in at.caption]
    assert any("Host Person, host" in c for c in captions)
    assert any("**his words**" in c for c in captions)
    at.radio(key="search_whose").set_value("His words only").run()
    captions = [c.value for c in at.caption]
    assert not any("Host Person" in c for c in captions)
    assert any("**his words**" in c for c in captions)


def test_search_by_meaning_and_everything():
    at = page("app_pages/search.py")
    at.segmented_control(key="search_scope").set_value("Everything").run()
    at.toggle(key="search_semantic").set_value(True).run()
    at.text_input(key="search_q").input("a vegetable dinner").run()
    assert_no_failure(at)
    assert "Leek" in next(m.value for m in at.markdown if "otato" in m.value)


def test_ask_shows_a_verified_answer_with_evidence_cards():
    at = page("app_pages/ask.py")
    at.chat_input[0].set_value("How should I start building something new?").run()
    assert_no_failure(at)
    assert any(c.value.startswith("Citations:") and "verified in his words" in c.value
               for c in at.caption)
    cards = [e.label for e in at.expander if e.label.startswith(esc("[S"))]
    assert cards and all(" · his " in label for label in cards)  # his words only
    assert any("quote verified in his words" in label for label in cards)
    assert any(e.label.startswith("The full prompt") for e in at.expander)
    assert any("[S1](#source-1)" in m.value for m in at.markdown)  # a marker links its card
    assert not any("--llm" in m.value for m in at.markdown)
    assert not any(c.value.startswith("from ") and "/" in c.value  # no local folders shown
                   for c in at.caption)


def test_a_follow_up_on_the_ask_page_keeps_the_thread_in_one_conversation(built_world):
    from simulator.memory import Memory

    before = len(Memory(built_world.memory_db).conversations())
    at = page("app_pages/ask.py")
    at.chat_input[0].set_value("How should I automate what can be checked?").run()
    at.chat_input[0].set_value("Can you give an example of that from his tweets?").run()
    assert_no_failure(at)
    assert any(c.value.startswith("Read as a follow-up") for c in at.caption)
    conversations = Memory(built_world.memory_db).conversations()
    assert len(conversations) == before + 1 and conversations[-1][2] == 4


def test_choosing_a_provider_fills_in_a_sensible_model():
    at = page("app_pages/ask.py")
    at.sidebar.selectbox(key="ask_provider").set_value("OpenAI").run()
    assert at.sidebar.text_input(key="ask_model").value == "gpt-4o-mini"
    at.sidebar.selectbox(key="ask_provider").set_value("Ollama (local)").run()
    assert at.sidebar.text_input(key="ask_model").value == "llama3.1"


def test_the_graph_explorer_focuses_on_a_node():
    at = page("app_pages/graph_explorer.py")
    at.selectbox(key="graph_focus").set_value("axiom:small").run()
    assert [s.value for s in at.subheader] == ["Small things first"]
    assert any("GENERATES" in m.value for m in at.markdown)


def test_the_corpus_page_ingests_a_url_and_lists_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("KTP_HOME", str(tmp_path / "fresh-home"))  # leave the shared world be
    with SiteServer({"/post/": ("text/html", "<html><head><title>A post</title></head><body>"
                                             "<article><h1>A post</h1><p>Fresh words about "
                                             "small models.</p></article></body></html>")}) as web:
        at = page("app_pages/corpus.py")
        at.text_area(key="corpus_urls").input(web.url + "/post/").run()
        at.button(key="corpus_ingest").click().run()
    assert_no_failure(at)
    assert any(s.value.startswith("loaded 1") for s in at.success)
    assert any(e.label.endswith("loaded 1, unchanged 0, replaced 0, skipped 0")
               for e in at.expander)  # the run is listed


def test_a_framework_card_opens_its_evidence():
    at = page("app_pages/framework.py")
    labels = [e.label for e in at.expander if e.label.startswith("The evidence")]
    assert labels and labels[0].endswith("passages")
    assert any("smallest thing that works" in m.value for m in at.markdown)


def test_hostile_source_text_renders_as_text(tmp_path, monkeypatch):
    from corpus.model import Document
    from corpus.store import CorpusStore

    home = tmp_path / "hostile-home"
    with CorpusStore(home / "corpus.sqlite3") as store:
        store.add(Document(id="tweet:7", kind="tweet", title="t", date="2024-01-01",
                           url="https://x.com/karpathy/status/7", text=(
                               "payload <script>alert(1)</script> <img src=x onerror=alert(2)> "
                               "**bold** [click](javascript:alert(3)) $x^2$ # heading")))
    monkeypatch.setenv("KTP_HOME", str(home))
    at = page("app_pages/search.py")
    at.text_input(key="search_q").input("payload").run()
    [shown] = [m.value for m in at.markdown if "payload" in m.value]
    text = shown.replace(":orange-background[**payload**]", "")  # the match, highlighted
    assert not re.search(r"[<>$*\[\]`]", text)  # no markup character survives as itself
    assert esc("<script>alert(1)</script>") in shown and esc("**bold**") in shown


def test_ask_with_an_llm_chosen_in_the_sidebar():
    from llm_server import ChatServer
    from test_llm import faithful

    with ChatServer(faithful) as server:
        at = page("app_pages/ask.py")
        at.sidebar.selectbox(key="ask_provider").set_value("OpenAI-compatible server").run()
        at.sidebar.text_input(key="ask_model").input("test-model").run()
        at.sidebar.text_input(key="ask_base").input(server.url).run()
        at.chat_input[0].set_value("How should I start building something new?").run()
        assert server.requests and server.requests[-1]["body"]["model"] == "test-model"
    assert_no_failure(at)
    assert any("He put it this way" in m.value for m in at.markdown)
    assert any(i.value.startswith("Extrapolated from his framework") for i in at.info)
    assert any(c.value.startswith("Citations:") and "verified" in c.value for c in at.caption)
