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


def graph_chart_rows(at: AppTest) -> list[dict]:
    """The rows of every dataset of the Graph page's chart (nodes, lines, labels, words)."""
    import pyarrow as pa

    chart = at.get("vega_lite_chart")[0].proto
    return [row for d in chart.datasets
            for row in pa.ipc.open_stream(d.data.data).read_all().to_pylist()]


def test_the_graph_explorer_focuses_on_a_node():
    at = page("app_pages/graph_explorer.py")
    at.selectbox(key="graph_focus").set_value("axiom:small").run()
    assert [s.value for s in at.subheader] == ["Small things first"]
    pills = {p.label: p.options for p in at.pills}
    assert any(o.startswith("The build loop") for o in pills["Generates (1)"])  # in words
    assert not any("GENERATES" in label for label in pills)


def test_graph_links_in_read_from_the_node_the_right_way_round():
    """axiom:small GENERATES model:loop: from the model the link reads "generated by"."""
    at = page("app_pages/graph_explorer.py")
    at.selectbox(key="graph_focus").set_value("model:loop").run()
    pills = {p.label: p.options for p in at.pills}
    assert any(o.startswith("Small things first") for o in pills["Generated by (1)"])
    assert "Generates (1)" not in pills
    rows = graph_chart_rows(at)  # the picture says it from the source, with an arrow to it
    assert {r["link"] for r in rows if "link" in r} == {
        "Small things first — generates → The build loop"}
    assert {r["text"] for r in rows if "text" in r and "x" in r and "label" not in r} >= {
        "generates"}


def test_finding_a_node_ranks_his_ideas_before_his_sources_and_focuses_it():
    at = page("app_pages/graph_explorer.py")
    at.text_input(key="graph_find").input("small").run()  # an axiom, a post and a source
    assert at.selectbox(key="graph_focus").value == "axiom:small"
    assert [s.value for s in at.subheader] == ["Small things first"]
    others = next(p for p in at.pills if p.label == "Other matches")
    assert any("Small post" in o for o in others.options)


def test_clicking_a_linked_node_makes_it_the_focus_everywhere():
    at = page("app_pages/graph_explorer.py")
    at.selectbox(key="graph_focus").set_value("axiom:small").run()
    link = next(p for p in at.pills if p.label == "Generates (1)")
    link.set_value("model:loop").run()
    assert at.selectbox(key="graph_focus").value == "model:loop"
    assert [s.value for s in at.subheader] == ["The build loop"]
    nodes = [r for r in graph_chart_rows(at) if "id" in r]  # the nodes and their labels
    assert {r["id"] for r in nodes if r["focus"]} == {"model:loop"}


def test_the_graph_draws_eras_and_labels_the_framework():
    at = page("app_pages/graph_explorer.py")
    rows = graph_chart_rows(at)
    nodes = {r["id"]: r for r in rows if "id" in r}
    assert nodes["era:early"]["kind"] == "Era"  # drawn, though nothing links to it
    assert any(r.get("label", "").endswith("Early years") for r in rows)  # "2019–2020\n…"
    labels = {r["id"]: r["label"] for r in rows if "id" in r}
    assert labels["axiom:small"] == "Small things first" and labels["model:loop"]
    spec = at.get("vega_lite_chart")[0].proto.spec
    assert "#D55E00" in spec and "#0072B2" in spec  # Okabe–Ito


def test_an_era_leads_to_the_ideas_he_voiced_then():
    at = page("app_pages/graph_explorer.py")
    at.selectbox(key="graph_focus").set_value("era:early").run()
    assert any(c.value.startswith("Era · 2019–2020 · ") for c in at.caption)
    voiced = next(p for p in at.pills if p.label.startswith("His ideas voiced then"))
    assert voiced.options[0].startswith("Small things first")  # its quote is from 2020
    voiced.set_value("axiom:small").run()
    assert [s.value for s in at.subheader] == ["Small things first"]


def test_a_clicked_item_shows_its_evidence_with_badge_date_and_link():
    at = page("app_pages/graph_explorer.py")
    at.selectbox(key="graph_focus").set_value("axiom:small").run()
    evidence = next(e for e in at.expander if e.label.startswith("The evidence: "))
    shown = [m.value for m in evidence.markdown] + [c.value for c in evidence.caption]
    assert any("smallest thing that works" in v for v in shown)
    assert any("his words" in v and esc("2020-01-01") in v and "](http://karpathy.github.io/" in v
               for v in shown)  # a quote: whose, when, and the link to it
    assert any("his post" in v or "his words" in v for v in shown[1:])
    assert not any("/tmp/" in v or "fw/" in v for v in shown)  # no local paths


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


def rendered(at: AppTest) -> list[str]:
    """The Markdown of everything Streamlit renders as Markdown: text, captions, headings,
    alerts, and the labels of expanders and widgets."""
    values = [e.value for kind in ("markdown", "caption", "title", "header", "subheader", "info",
                                   "warning", "success", "error")
              for e in getattr(at, kind)]
    values += [e.label for kind in ("expander", "text_input", "selectbox", "button", "radio")
               for e in getattr(at, kind)]
    return values


def assert_inert(at: AppTest, beacon: str) -> list[str]:
    """No hostile fragment survives as markup anywhere on the page; returns what was rendered."""
    values = rendered(at)
    for value in values:
        value = re.sub(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)", "", value)  # code spans are literal
        for raw in ("<img", "<script", "![", "javascript:", "`![", "&lt;", "$x^2$", "**b**",
                    ":red[", "@example"):
            assert raw not in value, (raw, value)
        # the beacon's address appears only escaped, or as the target of a well-formed link
        assert beacon not in re.sub(r"\]\(https?://[^\s()\"'<>\\]*\)", "]", value), value
    return values


def test_hostile_source_strings_are_rendered_escaped_on_every_page(hostile_world, monkeypatch):
    from pathlib import Path

    from conftest import HOSTILE_QUESTION, hostile
    from ui.markup import md_code, md_message, plain_text

    home, beacon, ids = hostile_world
    b = beacon.url
    monkeypatch.setenv("KTP_HOME", str(home.root))
    monkeypatch.setenv("KTP_FRAMEWORK", str(home.root.parent / "fw"))
    st.cache_resource.clear()

    at = page("app_pages/framework.py")
    shown = assert_inert(at, b)
    assert any(v.startswith("#### 1. Small things first " + esc(f"![f]({b}/fw-title.png)"))
               for v in shown)
    assert any(esc(hostile(b, "tweet-title")) in v for v in shown)  # an evidence passage's title
    assert any(esc(hostile(b, "blog-text"))[:200] in v for v in shown)

    at.switch_page("app_pages/search.py").run()
    at.text_input(key="search_q").input("smallest").run()
    assert any(esc(hostile(b, "tweet-text")) in v for v in assert_inert(at, b))
    at.segmented_control(key="search_scope").set_value("Everything").run()
    at.text_input(key="search_q").input('"do you start"').run()
    speaker = "Host ![s](" + b + "/speaker.png) <img src=" + b + "/speaker-img.png>"
    assert any(esc(f"{speaker}, host") in v for v in assert_inert(at, b))

    at.switch_page("app_pages/ask.py").run()
    at.chat_input[0].set_value(HOSTILE_QUESTION).run()
    assert_no_failure(at)
    shown = assert_inert(at, b)
    cards = [e.label for e in at.expander if e.label.startswith(esc("[S"))]
    assert any(esc(f"[S1] {hostile(b, 'tweet-title')}") in label for label in cards), cards
    tweet_text = home_text(home, ids["tweet"])
    assert esc(plain_text(tweet_text)) in shown
    assert any(v == "from " + esc(Path("/tmp/" + hostile(b, "origin").replace("/", "_")
                                       + ".js").name) for v in shown)

    at.switch_page("app_pages/graph_explorer.py").run()
    at.selectbox(key="graph_focus").set_value(ids["tweet"]).run()
    shown = assert_inert(at, b)
    assert f"Document · {md_code(ids['tweet'])}" in shown
    assert esc(hostile(b, "tweet-title")) in [s.value for s in at.subheader]

    at.switch_page("app_pages/corpus.py").run()
    shown = assert_inert(at, b)
    assert "Inputs: " + esc(hostile(b, "run-source")) in shown
    assert any(v.endswith(": " + md_message(hostile(b, "skip-reason"))) for v in shown)


def home_text(home, doc_id: str) -> str:
    from corpus.store import CorpusStore

    with CorpusStore(home.corpus_db) as store:
        return store.get(doc_id).text


def ingest_uploads(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    at.file_uploader(key="corpus_upload").set_value([(n, b, "text/markdown") for n, b in files])
    at.run()
    at.button(key="corpus_ingest").click().run()
    assert_no_failure(at)
    return at


def staging_left(home) -> list:
    return sorted(p.name for p in home.glob("upload-*"))


def test_an_edited_upload_replaces_the_old_version(tmp_path, monkeypatch):
    home = tmp_path / "upload-home"
    monkeypatch.setenv("KTP_HOME", str(home))
    at = page("app_pages/corpus.py")
    ingest_uploads(at, [("notes.md", b"# Notes\n\nThe first draft talks about marmalade.\n")])
    assert [s.value for s in at.success] == [esc("loaded 1, unchanged 0, replaced 0, skipped 0")]
    ingest_uploads(at, [("notes.md", b"# Notes\n\nThe edited draft talks about kumquats.\n")])
    assert [s.value for s in at.success] == [esc("loaded 0, unchanged 0, replaced 1, skipped 0")]
    assert staging_left(home) == []  # every upload folder is gone

    at.switch_page("app_pages/search.py").run()
    at.segmented_control(key="search_scope").set_value("Everything").run()
    at.text_input(key="search_q").input("kumquats").run()
    assert any("kumquats" in m.value for m in at.markdown)
    at.text_input(key="search_q").input("marmalade").run()
    assert not any("marmalade" in m.value for m in at.markdown)
    assert any(i.value.startswith("No matches") for i in at.info)


def test_two_uploads_of_one_name_are_both_kept_and_the_page_says_what_ingest_did(tmp_path,
                                                                                 monkeypatch):
    home = tmp_path / "upload-home"
    monkeypatch.setenv("KTP_HOME", str(home))
    at = page("app_pages/corpus.py")
    ingest_uploads(at, [("README.md", b"# Alpha\n\nThe alpha project trains a tiny model.\n"),
                        ("README.md", b"# Beta\n\nThe beta project renders a tiny graph.\n")])
    assert [s.value for s in at.success] == [esc("loaded 2, unchanged 0, replaced 0, skipped 0")]
    from corpus.store import CorpusStore

    with CorpusStore(home / "corpus.sqlite3") as store:  # told apart by their headings
        assert {d.id for d in store.documents()} == {"doc:alpha-readme", "doc:beta-readme"}
    # Two of one name and one heading are one document: the second is explained.
    ingest_uploads(at, [("notes.md", b"# Same\n\nThe first.\n"),
                        ("notes.md", b"# Same\n\nThe second.\n")])
    [skip] = [w.value for w in at.warning]
    assert skip.startswith(esc("Skipped notes.md (file 2 of that name): its id 'doc:notes' "
                               "is already taken by notes.md;"))
    assert "/" not in skip  # no staging paths, only the names the user knows
    assert any(i.value.startswith(esc("Files of the same name are the same document"))
               for i in at.info)
    assert staging_left(home) == []


def test_unusable_upload_names_are_refused_in_the_page(tmp_path, monkeypatch):
    home = tmp_path / "upload-home"
    monkeypatch.setenv("KTP_HOME", str(home))
    at = page("app_pages/corpus.py")
    ingest_uploads(at, [("..", b"x"), ("../escape.md", b"# Out\n\nOutside.\n"),
                        (".hidden.md", b"# H\n\nHidden.\n"),
                        ("fine.md", b"# Fine\n\nA note that is fine.\n")])
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 3 and all(w.startswith(esc("Not uploaded: ")) for w in warnings)
    assert esc("'..': that is not a file name") in warnings[0]
    assert esc("may not contain / or \\") in warnings[1]
    assert [s.value for s in at.success] == [esc("loaded 1, unchanged 0, replaced 0, skipped 0")]
    assert not (tmp_path / "escape.md").exists() and not (home / "escape.md").exists()
    assert staging_left(home) == []


def test_a_failing_ingest_shows_one_line_and_removes_the_upload(tmp_path, monkeypatch):
    import ingest.run

    def broken(*args, **kwargs):
        raise RuntimeError("the disk went away\nTraceback (most recent call last): ...")

    home = tmp_path / "upload-home"
    monkeypatch.setenv("KTP_HOME", str(home))
    at = page("app_pages/corpus.py")
    monkeypatch.setattr(ingest.run, "ingest_paths", broken)  # a failure nothing else causes
    at.file_uploader(key="corpus_upload").set_value(("notes.md", b"# N\n\nText.\n", "text/plain"))
    at.run()
    at.button(key="corpus_ingest").click().run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert error.startswith(esc("Something went wrong in the ingest run (RuntimeError: the disk "
                                "went away). Reload the page"))
    assert "Traceback" not in error and "\n" not in error
    assert staging_left(home) == []


def test_staging_folders_left_by_a_crash_are_swept(tmp_path, monkeypatch):
    import os
    import time

    home = tmp_path / "upload-home"
    monkeypatch.setenv("KTP_HOME", str(home))
    page("app_pages/corpus.py")  # makes the data home
    old, fresh = home / "upload-old12345", home / "upload-new12345"
    for folder in (old, fresh):
        (folder / "1" / "upload").mkdir(parents=True)
        (folder / "1" / "upload" / "x.md").write_text("x")
    a_day_ago = time.time() - 86400
    os.utime(old, (a_day_ago, a_day_ago))
    page("app_pages/corpus.py")
    assert staging_left(home) == ["upload-new12345"]  # a run in progress keeps its files
