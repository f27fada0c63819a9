"""The framework in time (simulator/framework_time.py): first and last seen, support per year,
each era's most supported items and his lines from it; the Framework page's chart and Eras tab.

The world is built by the real pipeline (store, graph, quote linking); the graph is made before
any vector index exists, so its evidence is the quotes alone and can be worked out by hand.
The index is built afterwards, for the era quotes only (chosen by meaning, as a timeline's)."""
import html

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from conftest import HIM, REPO, TINY_FRAMEWORK, thread_across_new_year, write_files
from corpus.home import DataHome
from corpus.model import Document
from corpus.store import CorpusStore
from simulator.framework_time import era_quotes, eras_in_time, framework_in_time
from test_app import assert_no_failure

AXIOMS = """
    axioms:
      - id: axiom:small
        number: 1
        title: Small things first
        summary: Start with the smallest version.
        description: Build the smallest working thing before anything bigger.
        quotes:
          - text: "the smallest thing that works"
            source: {title: Small post, date: 2020-01-01, url: "http://karpathy.github.io/2020/01/01/small/"}
          - text: "small is where I start again every single time"
            source: {title: Thread, date: 2023-01-01, url: "https://x.com/karpathy/status/2002"}
          - text: "a line the corpus does not hold at all"
            source: {title: An old talk, date: 2018-06-01, url: "https://example.org/talk"}
      - id: axiom:verify
        number: 2
        title: Check what you can
        summary: Automate what can be checked.
        description: Work that can be verified can be handed to machines.
        quotes:
          - text: "if you can check it you can automate it"
            source: {title: Tweet, date: 2021-05-05, url: "https://x.com/karpathy/status/42"}
          - text: "checking the output is the whole game here"
            source: {title: check, date: 2021-01-01, url: "https://github.com/karpathy/check"}
    """
ERAS = """
    eras:
      - id: era:early
        title: Building small things
        start: 2019-01
        end: 2020-12
        summary: The smallest working things, built by hand first.
        description: When the small things were built.
      - id: era:late
        title: Checking and automating
        start: 2021-01
        end:
        summary: Checking what works, then automating it.
        description: Everything since.
    """
THREAD_A = "Byte-level tokenizers still split long numbers into strange pieces."
THREAD_B = "Honestly, small is where I start again every single time."
DOCS = [
    Document(id="blog:small", kind="blog", title="Small post", date="2020-01-01", author=HIM,
             url="http://karpathy.github.io/2020/01/01/small/",
             text="I always begin with the smallest thing that works.\n\nThen I build it by "
                  "hand first, and only later automate it."),
    Document(id="tweet:42", kind="tweet", title="t", date="2021-05-05T10:00:00Z", author=HIM,
             url="https://x.com/karpathy/status/42",
             text="if you can check it you can automate it"),
    Document(id="repo:karpathy/check", kind="readme", title="check", date=None, author=HIM,
             url="https://github.com/karpathy/check",
             text="A tiny checker. Honestly, checking the output is the whole game here."),
]
THREAD, THREAD_CHUNKS = thread_across_new_year(THREAD_A, THREAD_B)


@pytest.fixture(scope="module")
def timed_world(tmp_path_factory):
    """(home, framework folder, world, retriever): the graph from the quotes alone, then an
    index (the retriever's, for the era quotes)."""
    from graph.embedder import MiniLMEmbedder
    from graph.pipeline import build_index, open_index, open_world
    from simulator.retrieval import HybridRetriever

    root = tmp_path_factory.mktemp("timed")
    folder = write_files(root / "fw", {**TINY_FRAMEWORK, "axioms.yaml": AXIOMS,
                                       "eras.yaml": ERAS})
    home = DataHome(root / "home").ensure()
    with CorpusStore(home.corpus_db) as store:
        store.add_many(DOCS)
        store.add(THREAD, THREAD_CHUNKS)
    world = open_world(home, folder)  # no index yet: evidence = the quotes found
    embedder = MiniLMEmbedder()
    build_index(home, world.store, embedder)
    return home, folder, world, HybridRetriever(world.store, embedder, open_index(home)[0],
                                                world.graph, world.framework)


def test_textbook_framework_in_time(timed_world):
    """Worked by hand from the fixture:

    axiom:small has three quotes. "the smallest thing that works" is found in blog:small#0
    (2020-01-01); "small is where I start again…" in thread:2001#1, the thread's second tweet,
    dated by its own time 2023-01-01 (the thread itself says 2022-12-31); "a line the corpus does
    not hold" is in no passage, so it counts by its source's date, 2018-06-01. So: first seen
    2018-06-01, last seen 2023-01-01, per year {2018: 1, 2019: 0, 2020: 1, 2021: 0, 2022: 0,
    2023: 1}, undated 0.

    axiom:verify: "if you can check it…" is tweet:42#0 (2021-05-05); "checking the output…" is
    in the README repo:karpathy/check#0, which has no date: undated 1. Per year {2021: 1}.

    model:loop: "build it by hand first" is in blog:small#0 too: {2020: 1}.
    tension:small-vs-verify has no quotes and no links: nothing seen, per year {}.

    Eras: era:early (2019-01 to 2020-12) holds blog:small#0, which backs axiom:small and
    model:loop (1 each; the 2018 quote is no passage, and before the era anyway): ranked by
    count then id, [axiom:small 1, model:loop 1]. era:late (2021-01 on) holds thread:2001#1
    (axiom:small) and tweet:42#0 (axiom:verify): [axiom:small 1, axiom:verify 1]; the undated
    README is in no era.
    """
    _, _, world, _ = timed_world
    times = framework_in_time(world.framework, world.graph, world.store)
    small = times["axiom:small"]
    assert (small.first_seen, small.last_seen) == ("2018-06-01", "2023-01-01")
    assert small.per_year == {"2018": 1, "2019": 0, "2020": 1, "2021": 0, "2022": 0, "2023": 1}
    assert small.undated == 0 and small.dated == 3
    verify = times["axiom:verify"]
    assert verify.per_year == {"2021": 1} and verify.undated == 1
    assert (verify.first_seen, verify.last_seen) == ("2021-05-05", "2021-05-05")
    assert times["model:loop"].per_year == {"2020": 1}
    tension = times["tension:small-vs-verify"]
    assert tension.first_seen is None and tension.per_year == {} and tension.undated == 0
    assert small.as_json() == {"item": "axiom:small", "first_seen": "2018-06-01",
                               "last_seen": "2023-01-01", "per_year": small.per_year,
                               "dated": 3, "undated": 0}
    eras = {e.era_id: e for e in eras_in_time(world.framework, times)}
    assert eras["era:early"].items == (("axiom:small", 1), ("model:loop", 1))
    assert eras["era:late"].items == (("axiom:small", 1), ("axiom:verify", 1))
    assert eras["era:early"].end == "2020-12-31" and eras["era:late"].end is None


def test_era_quotes_are_his_verbatim_words_dated_inside_the_era(timed_world, tmp_path):
    _, _, world, retriever = timed_world
    times = framework_in_time(world.framework, world.graph, world.store)
    eras = eras_in_time(world.framework, times)
    quotes = era_quotes(retriever, world.framework, eras, tmp_path, "inputs")
    assert set(quotes) == {"era:early", "era:late"}
    assert quotes["era:early"], "the early era's passage says something on building small"
    for era in eras:
        for q in quotes[era.era_id]:
            row = world.store.chunk_rows([q.chunk_id])[q.chunk_id]
            assert q.quote in row["text"] and row["his_words"]
            assert era.start <= q.date[:10] and (era.end is None or q.date[:10] <= era.end)
            assert q.url and q.url.startswith("http")
    assert list(tmp_path.glob("era-quotes-*.json")), "kept for the next start"
    assert era_quotes(None, world.framework, eras, tmp_path, "inputs") == quotes  # from disk


def era_lines(at) -> list[str]:
    """The quotes in the Eras tab (the last tab): the eras of this fixture have no quotes of
    their own, so these are the lines chosen from the corpus."""
    return [html.unescape(m.value) for m in at.tabs[-1].markdown if m.value.startswith("> “")]


def test_the_framework_page_charts_each_card_and_the_eras_tab_shows_items_and_quotes(
        timed_world, monkeypatch):
    home, folder, _, _ = timed_world
    monkeypatch.setenv("KTP_HOME", str(home.root))
    monkeypatch.setenv("KTP_FRAMEWORK", str(folder))
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(REPO / "ui" / "app.py"), default_timeout=90).run()
        assert_no_failure(at)
        captions = [html.unescape(c.value) for c in at.caption]
        assert any("first seen 2018-06-01 · last seen 2023-01-01" in c for c in captions)
        assert any("1 undated (in no year)" in c for c in captions)  # axiom:verify's README
        charts = at.get("vega_lite_chart")  # axiom:small, axiom:verify, model:loop
        assert len(charts) == 3 and all('"bar"' in c.proto.spec for c in charts)
        texts = [html.unescape(m.value) for m in at.markdown]
        assert any(t.startswith("*Most supported in it:* Small things first (1 passage)")
                   for t in texts)
        assert any("The build loop (1 passage)" in t for t in texts)
        # His lines of each era need the encoder the first time: a button, then kept on disk.
        assert era_lines(at) == [] and at.button(key="era_quotes_go")
        at.button(key="era_quotes_go").click().run()
        assert_no_failure(at)
        assert any("smallest thing that works" in t for t in era_lines(at))
        st.cache_resource.clear()
        again = AppTest.from_file(str(REPO / "ui" / "app.py"), default_timeout=90).run()
        assert any("smallest thing that works" in t for t in era_lines(again))
        assert "era_quotes_go" not in [b.key for b in again.button]
    finally:
        st.cache_resource.clear()
