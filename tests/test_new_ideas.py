"""What is new in his thinking (simulator/new_ideas.py, `ktp new-ideas`, the What's new page).

A tiny corpus built with the real encoder and index: two things he has lately talked about that
the tiny framework (small things first, check what you can, the build loop) says nothing of
(sailing, baking bread), one recent passage the framework covers (it holds an item's quote),
and what must be left out: an old passage, someone else's retweet, a copy of one of his
tweets, a very short tweet, an undated README."""
import datetime as dt
import html
import json

import numpy as np
import pytest
import streamlit as st
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from conftest import HIM, REPO, TINY_FRAMEWORK, write_files
from corpus.home import DataHome
from corpus.model import Document
from corpus.store import CorpusStore
from simulator.new_ideas import cluster, new_ideas, theme_count
from test_app import assert_no_failure
from ui.cli import cli

SAILING = [
    "Took the sailboat out on the bay this morning and the wind was perfect for sailing.",
    "Sailing teaches patience: you trim the sails, read the wind, and wait for the boat to heel.",
    "Bought new sails for the boat, the old ones tore after a windy season out on the bay.",
]
BREAD = [
    "Baked sourdough bread again, the crust came out dark and crackly from the hot oven.",
    "My sourdough starter finally bubbles, and the bread dough rose twice as fast this week.",
    "Kneading bread dough by hand for ten minutes makes the loaf so much better in the oven.",
]


def tweet(n: int, text: str, date: str, **kw) -> Document:
    return Document(id=f"tweet:{n}", kind="tweet", title="t", date=date,
                    author=kw.pop("author", HIM), url=f"https://x.com/karpathy/status/{n}",
                    text=text, **kw)


DOCS = [
    *(tweet(5000 + i, t, f"2025-{6 + i:02d}-01T10:00:00Z") for i, t in enumerate(SAILING)),
    *(tweet(6000 + i, t, f"2025-{9 + i:02d}-15T10:00:00Z") for i, t in enumerate(BREAD)),
    Document(id="blog:small", kind="blog", title="Small post", date="2026-03-01", author=HIM,
             url="http://karpathy.github.io/2026/03/01/small/",
             text="I always begin with the smallest thing that works.\n\nThen I build it by "
                  "hand first, and only later automate it."),
    tweet(4000, "Sailing on the bay in the old wooden boat, the wind kept turning all day long.",
          "2019-05-05T10:00:00Z"),
    tweet(7000, "Sourdough bread is the only bread worth baking in a hot oven, fight me on it.",
          "2025-12-01T10:00:00Z", author="@baker", meta={"is_retweet": True}),
    Document(id="repo:karpathy/sails", kind="readme", title="sails", date="2025-07-02",
             author=HIM, url="https://github.com/karpathy/sails", text=SAILING[0]),
    tweet(8000, "sailing today, lol", "2025-11-11T10:00:00Z"),
    Document(id="repo:karpathy/loaf", kind="readme", title="loaf", date=None, author=HIM,
             url="https://github.com/karpathy/loaf",
             text="A loaf of sourdough bread baked by a script, from the starter to the oven."),
]


@pytest.fixture(scope="module")
def new_world(tmp_path_factory):
    """(home, framework folder) with the corpus above, an index and a graph."""
    from graph.embedder import MiniLMEmbedder
    from graph.pipeline import build_index, open_world

    root = tmp_path_factory.mktemp("new")
    folder = write_files(root / "fw", TINY_FRAMEWORK)
    home = DataHome(root / "home").ensure()
    with CorpusStore(home.corpus_db) as store:
        store.add_many(DOCS)
        build_index(home, store, MiniLMEmbedder())
    open_world(home, folder).store.close()  # the graph, with the quote links
    return home, folder


@pytest.fixture
def env(new_world, monkeypatch):
    home, folder = new_world
    monkeypatch.setenv("KTP_HOME", str(home.root))
    monkeypatch.setenv("KTP_FRAMEWORK", str(folder))
    monkeypatch.delenv("KTP_LLM", raising=False)
    return home


def find(home, folder, since=None):
    from graph.pipeline import open_world

    world = open_world(home, folder)
    try:
        return new_ideas(home, world.framework, world.store, world.graph, since)
    finally:
        world.store.close()


def test_two_new_themes_with_their_own_words_and_what_is_left_out(new_world):
    """Newest dated passage of his: blog:small, 2026-03-01; so since = 2025-03-02 (365 days up
    to it). Recent and his and long enough: the six sailing and bread tweets and blog:small#0;
    blog:small#0 holds axiom:small's quote, so it is covered (1). The 2019 sailing tweet is
    older, the bread retweet is not his, the sails README is a copy of the first sailing tweet,
    "sailing today, lol" has 3 words (short: 1), and the loaf README is undated (1). The six
    left make two themes (6 passages: the two-theme floor), sailing and bread, each named by
    words in at least two of its passages."""
    home, folder = new_world
    found = find(home, folder)
    assert (found.since, found.newest) == ("2025-03-02", "2026-03-01")
    assert (found.recent, found.covered, found.uncovered) == (7, 1, 6)
    assert (found.copies_left_out, found.short_left_out, found.undated_left_out) == (1, 1, 1)
    themes = {frozenset(t.passages): t for t in found.themes}
    sailing = frozenset(f"tweet:{5000 + i}#0" for i in range(3))
    bread = frozenset(f"tweet:{6000 + i}#0" for i in range(3))
    assert set(themes) == {sailing, bread}
    assert {"bay", "boat", "wind"} & set(themes[sailing].words)
    assert {"bread", "dough", "sourdough", "oven"} & set(themes[bread].words)
    assert (themes[sailing].start, themes[sailing].end) == ("2025-06-01", "2025-08-01")
    for theme in found.themes:
        assert len(theme.words) <= 4 and theme.quotes
        text = " ".join(SAILING + BREAD).lower()
        assert all(w in text for w in theme.words)  # his words, not invented ones


def test_every_quote_is_his_verbatim_dated_and_linked(new_world):
    home, folder = new_world
    with CorpusStore(home.corpus_db) as store:
        for theme in find(home, folder).themes:
            for q in theme.quotes:
                row = store.chunk_rows([q.chunk_id])[q.chunk_id]
                assert row["his_words"] and q.chunk_id in theme.passages
                for piece in q.quote.split(" … "):
                    assert piece.strip(" …") in row["text"]
                assert q.url == row["url"] and q.date[:10] >= "2025-03-02"


def test_the_same_corpus_gives_the_same_themes_every_run(new_world):
    home, folder = new_world
    assert find(home, folder).as_json() == find(home, folder).as_json()
    rng = np.random.default_rng(7)  # two blobs, shuffled: the seeded clustering finds them
    x = np.concatenate([rng.normal(0, 0.1, (20, 8)) + np.eye(8)[0],
                        rng.normal(0, 0.1, (20, 8)) + np.eye(8)[1]])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = cluster(x, 2)
    assert np.array_equal(labels, cluster(x, 2))
    assert len(set(labels[:20])) == 1 and len(set(labels[20:])) == 1 and labels[0] != labels[20]
    assert [theme_count(n) for n in (0, 3, 4, 50, 51, 1000)] == [0, 1, 2, 2, 3, 8]


def test_since_reaches_back_and_a_bad_date_is_refused(env):
    result = CliRunner().invoke(cli, ["new-ideas", "--since", "2019", "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["since"] == "2019-01-01" and data["since_rule"] == "given: --since 2019"
    assert "tweet:4000#0" in {p for t in data["themes"] for p in t["passages"]}
    bad = CliRunner().invoke(cli, ["new-ideas", "--since", "2025-13"])
    assert bad.exit_code == 2 and "--since" in bad.output


def test_the_cli_prints_themes_and_json_has_the_documented_shape(env):
    result = CliRunner().invoke(cli, ["new-ideas"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "New in his words since 2025-03-02: 6 of 7 recent passages" in result.output
    assert "https://x.com/karpathy/status/50" in result.output
    data = json.loads(CliRunner().invoke(cli, ["new-ideas", "--json"]).output)
    assert set(data) == {"since", "newest", "since_rule", "threshold", "recent", "covered",
                         "uncovered", "copies_left_out", "short_left_out", "undated_left_out",
                         "themes"}
    assert set(data["themes"][0]) == {"theme", "words", "count", "documents", "start", "end",
                                      "passages", "quotes"}
    assert set(data["themes"][0]["quotes"][0]) == {"quote", "doc_id", "chunk_id", "date", "url",
                                                   "title"}


def test_without_an_index_it_says_to_build(tmp_path, monkeypatch):
    home = DataHome(tmp_path / "bare").ensure()
    with CorpusStore(home.corpus_db) as store:
        store.add_many(DOCS[:2])
    monkeypatch.setenv("KTP_HOME", str(home.root))
    result = CliRunner().invoke(cli, ["new-ideas"])
    assert result.exit_code == 1 and "ktp build" in result.output


def test_the_whats_new_page_shows_the_themes_with_quotes(env):
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(REPO / "ui" / "app.py"), default_timeout=90).run()
        at.switch_page("app_pages/new_ideas.py").run()
        assert_no_failure(at)
        texts = [html.unescape(m.value) for m in at.markdown]
        assert any("6 of his 7 passages since 2025-03-02" in t for t in texts)
        assert sum(t.startswith("#### ") for t in texts) == 2
        assert any(t.startswith("> “") and "sourdough" in t.lower() for t in texts)
        at.date_input(key="new_since").set_value(dt.date(2019, 1, 1)).run()
        assert_no_failure(at)
        texts = [html.unescape(m.value) for m in at.markdown]
        assert any("since 2019-01-01" in t for t in texts)
    finally:
        st.cache_resource.clear()


def test_the_search_page_says_how_many_undated_matches_the_dates_left_out(env):
    """The loaf README is undated: a search with dates leaves it out and says so (the CLI's
    rule, tests/test_time.py), by keywords and by meaning; without dates it is there."""
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(REPO / "ui" / "app.py"), default_timeout=90).run()
        at.switch_page("app_pages/search.py").run()
        at.segmented_control(key="search_scope").set_value("Everything").run()
        at.text_input(key="search_q").input("sourdough").run()
        note = "1 undated passage that matches was left out by the dates"
        assert not any(note in c.value for c in at.caption)
        assert any("undated" in c.value for c in at.caption)  # the README, shown undated
        at.date_input(key="search_since").set_value(dt.date(2025, 1, 1)).run()
        assert_no_failure(at)
        assert any(note in c.value for c in at.caption)
        at.toggle(key="search_semantic").set_value(True).run()
        assert_no_failure(at)
        assert any("undated passage" in c.value and "left out by the dates" in c.value
                   for c in at.caption)
    finally:
        st.cache_resource.clear()


def test_readme_documents_new_ideas_and_its_json():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for needle in ("ktp new-ideas [--since D] [--json]", '"copies_left_out"', '"themes"',
                   "The framework in time", "What's new"):
        assert needle in readme


def test_the_whats_new_page_on_an_empty_home_and_without_an_index(tmp_path, monkeypatch):
    monkeypatch.setenv("KTP_HOME", str(tmp_path / "empty"))
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(REPO / "ui" / "app.py"), default_timeout=90).run()
        at.switch_page("app_pages/new_ideas.py").run()
        assert_no_failure(at)
        assert any("ktp ingest" in i.value for i in at.info)
        home = DataHome(tmp_path / "bare").ensure()
        with CorpusStore(home.corpus_db) as store:
            store.add_many(DOCS[:2])
        monkeypatch.setenv("KTP_HOME", str(home.root))
        st.cache_resource.clear()
        at = AppTest.from_file(str(REPO / "ui" / "app.py"), default_timeout=90).run()
        at.switch_page("app_pages/new_ideas.py").run()
        assert_no_failure(at)
        assert any("ktp build" in w.value for w in at.warning)
    finally:
        st.cache_resource.clear()
