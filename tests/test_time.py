"""Time: passages dated, date filters and undated material, `ktp timeline`, `ktp ask --as-of`,
questions about change. A tiny dated corpus built with the real encoder, index and graph; the
CLI through click's runner; the Ask page through AppTest; a property test over random cut
dates, and the same on a real built home when KTP_TEST_REAL_HOME names one."""
import datetime as dt
import html
import json
import os
import random
from pathlib import Path

import pytest
import streamlit as st
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from conftest import HIM, REPO, TINY_FRAMEWORK, thread_across_new_year, write_files
from corpus.home import DataHome
from corpus.model import Document
from corpus.store import CorpusStore
from simulator.answer import answer
from simulator.dating import AsOf, era_of, passage_date
from simulator.prompt import CHANGE_NOTE, build_prompt
from simulator.reading import is_change_question
from simulator.timeline import timeline
from ui.cli import cli

ERAS = """
    eras:
      - id: era:early
        title: Early years
        start: 2019-01
        end: 2020-12
        summary: The early years.
        description: When the small things were built.
      - id: era:late
        title: Later years
        start: 2021-01
        end:
        summary: The later years.
        description: Everything since.
    """
THREAD_A = "Byte-level tokenizers still split long numbers into strange pieces."
THREAD_B = "By now I think tokenizers should be learned end to end with the model."
DOCS = [
    Document(id="blog:tok", kind="blog", title="Tokens", date="2019-03-01", author=HIM,
             url="http://karpathy.github.io/2019/03/01/tok/",
             text="Tokenizers are a necessary evil in every language model we train. "
                  "I would love to delete the tokenizer stage one day."),
    Document(id="tweet:1001", kind="tweet", title="t", date="2019-07-01T12:00:00Z", author=HIM,
             url="https://x.com/karpathy/status/1001",
             text="The tokenizer is where most of the weirdness of language models comes from."),
    Document(id="tweet:3001", kind="tweet", title="rt", date="2023-05-05T10:00:00Z",
             author="@other", url="https://x.com/other/status/3001", meta={"is_retweet": True},
             text="Tokenizers are the worst part of every single model out there."),
    Document(id="repo:karpathy/tok", kind="readme", title="tok", date=None, author=HIM,
             url="https://github.com/karpathy/tok",
             text="This repo trains a small tokenizer in a few lines of plain Python code."),
    Document(id="blog:soup", kind="blog", title="Soup", date="2023-02-02", author=HIM,
             url="http://karpathy.github.io/2023/02/02/soup/",
             text="Leek and potato soup needs leeks, potatoes, butter and a good stock."),
]
THREAD, THREAD_CHUNKS = thread_across_new_year(THREAD_A, THREAD_B)


@pytest.fixture(scope="module")
def dated_world(tmp_path_factory):
    """(home, framework folder, retriever) over the dated corpus above."""
    from graph.embedder import MiniLMEmbedder
    from graph.pipeline import build_index, open_index, open_world
    from simulator.retrieval import HybridRetriever

    root = tmp_path_factory.mktemp("dated")
    folder = write_files(root / "fw", {**TINY_FRAMEWORK, "eras.yaml": ERAS})
    home = DataHome(root / "home").ensure()
    embedder = MiniLMEmbedder()
    with CorpusStore(home.corpus_db) as store:
        store.add_many(DOCS)
        store.add(THREAD, THREAD_CHUNKS)
        build_index(home, store, embedder)
    world = open_world(home, folder)
    index, _ = open_index(home, embedder)
    return home, folder, HybridRetriever(world.store, embedder, index, world.graph,
                                         world.framework)


@pytest.fixture
def env(dated_world, monkeypatch):
    home, folder, _ = dated_world
    monkeypatch.setenv("KTP_HOME", str(home.root))
    monkeypatch.setenv("KTP_FRAMEWORK", str(folder))
    monkeypatch.delenv("KTP_LLM", raising=False)
    return home


def ktp(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr
    return result


# ---- 1. every passage dated -------------------------------------------------------------------
def test_a_thread_passage_has_its_own_tweets_time_and_undated_is_none(dated_world):
    _, _, r = dated_world
    rows = r.store.chunk_rows(["thread:2001#0", "thread:2001#1", "repo:karpathy/tok#0"])
    assert passage_date(rows["thread:2001#0"]) == "2022-12-31T23:00:00Z"
    assert passage_date(rows["thread:2001#1"]) == "2023-01-01T01:00:00Z"
    assert passage_date(rows["repo:karpathy/tok#0"]) is None
    era = era_of("2019-07-01", r.framework.of_kind("era"))
    assert era.id == "era:early" and era_of(None, r.framework.of_kind("era")) is None


def test_date_filters_leave_undated_out_count_them_and_keep_them_when_asked(dated_world):
    _, _, r = dated_world
    found = r.retrieve("tokenizer code", 10, since="2019-01-01", speaker="his")
    assert "repo:karpathy/tok#0" not in {e.chunk_id for e in found}
    assert r.undated_left_out == 1
    kept = r.retrieve("tokenizer code", 10, since="2019-01-01", speaker="his",
                      include_undated=True)
    assert "repo:karpathy/tok#0" in {e.chunk_id for e in kept} and r.undated_left_out == 0
    assert all(e.date is None or e.date[:10] >= "2019-01-01" for e in kept)
    # The thread's second tweet is a 2023 passage, whatever the thread's own date says.
    late = {e.chunk_id: e for e in r.retrieve("tokenizers end to end", 10, until="2022-12-31",
                                              speaker="his")}
    assert "thread:2001#1" not in late


def test_the_cli_says_how_many_undated_passages_the_dates_left_out(env):
    result = ktp("retrieve", "tokenizer code", "--since", "2019")
    assert "1 undated passage that matches was left out" in result.stderr
    assert "--include-undated" in result.stderr
    result = ktp("retrieve", "tokenizer code", "--since", "2019", "--include-undated")
    assert "repo:karpathy/tok" in result.stdout or "tok " in result.stdout
    assert "left out" not in result.stderr
    result = ktp("search", "tokenizer", "--since", "2019")
    assert "1 undated passage that matches was left out" in result.stderr
    rows = json.loads(ktp("search", "tokenizer", "--since", "2019", "--include-undated",
                          "--json").stdout)
    assert "repo:karpathy/tok" in {r["doc_id"] for r in rows}


# ---- 2. the timeline --------------------------------------------------------------------------
def test_textbook_timeline_of_a_tiny_dated_corpus(dated_world):
    """The corpus and what `ktp timeline tokenizers` must make of it:

    his passages on tokenizers: blog:tok (2019-03-01), tweet:1001 (2019-07-01), the thread's
    first tweet (2022-12-31) and its second (2023-01-01, a passage of its own year although
    the thread is dated 2022), and an undated README. Not counted: a retweet of @other
    (2023, not his words) and the soup post (another topic).

      period  count  documents  era          quotes
      2019    2      2          era:early    one from blog:tok, one from tweet:1001
      2020    0      0          era:early*   -
      2021    0      0          -            -
      2022    1      1          era:late     the thread's first tweet, linked to tweet 2001
      2023    1      1          era:late     the thread's second tweet, linked to tweet 2002
      undated_left_out: 1 (the README)
    (* a silent year has no passages, so no era of its own: None.)
    By era: Early years 2 passages, Later years 2 passages.
    """
    _, _, r = dated_world
    tl = timeline(r, r.framework, "tokenizers", by="year")
    got = {p.period: p for p in tl.periods}
    assert list(got) == ["2019", "2020", "2021", "2022", "2023"]
    assert [(p.count, p.documents, p.era) for p in tl.periods] == [
        (2, 2, "era:early"), (0, 0, None), (0, 0, None), (1, 1, "era:late"), (1, 1, "era:late")]
    assert {q.doc_id for q in got["2019"].quotes} == {"blog:tok", "tweet:1001"}
    assert [(q.quote, q.chunk_id, q.url) for q in got["2022"].quotes] == [
        (THREAD_A, "thread:2001#0", "https://x.com/karpathy/status/2001")]
    assert [(q.quote, q.chunk_id, q.url) for q in got["2023"].quotes] == [
        (THREAD_B, "thread:2001#1", "https://x.com/karpathy/status/2002")]
    assert tl.undated_left_out == 1
    for p in tl.periods:  # verbatim, his, and inside its period
        for q in p.quotes:
            text = r.store.chunk_rows([q.chunk_id])[q.chunk_id]["text"]
            assert q.quote in text and p.start <= q.date[:10] <= p.end
    blog = next(q for q in got["2019"].quotes if q.doc_id == "blog:tok")
    assert blog.url.startswith("http://karpathy.github.io/2019/03/01/tok/#:~:text=")
    by_era = timeline(r, r.framework, "tokenizers", by="era")
    assert [(p.period, p.count, p.start, p.end) for p in by_era.periods] == [
        ("Early years", 2, "2019-01-01", "2020-12-31"), ("Later years", 2, "2021-01-01", None)]


def test_timeline_json_has_the_shape_the_issue_gives(env):
    data = json.loads(ktp("timeline", "tokenizers", "--json").stdout)
    assert set(data) == {"topic", "by", "periods", "undated_left_out"}
    assert data["topic"] == "tokenizers" and data["by"] == "year"
    period = data["periods"][0]
    assert {"period", "start", "end", "era", "count", "quotes"} <= set(period)
    assert {"quote", "doc_id", "chunk_id", "date", "url"} <= set(period["quotes"][0])
    text = ktp("timeline", "tokenizers").stdout
    assert "2020–2021  ·  nothing of his on it" in text
    assert "Left out: 1 undated passage of his that bears on it" in text
    assert "“" + THREAD_B + "”" in text


def test_timeline_of_a_framework_item_and_of_a_wrong_id(env):
    data = json.loads(ktp("timeline", "axiom:small", "--by", "era", "--json").stdout)
    assert data["topic"] == "axiom:small" and data["by"] == "era"
    result = CliRunner().invoke(cli, ["timeline", "axiom:nope"])
    assert result.exit_code == 1 and "no framework item 'axiom:nope'" in result.output
    assert "model:decade-of-agents" in result.output  # the fix names the form


# ---- 3. as of a date, and questions about change ----------------------------------------------
def test_as_of_answers_only_from_what_was_dated_by_then(dated_world):
    _, _, r = dated_world
    result = answer("What does he think about tokenizers?", r, r.framework, as_of="2020-12-31")
    assert result.text.startswith("**As of 2020-12-31**")
    assert result.newest == "2019-07-01" and "newest source used is from 2019-07-01" in \
        result.text
    assert result.evidence and all(e.date and e.date[:10] <= "2020-12-31"
                                   for e in result.evidence)
    assert result.undated_left_out == 1 and "1 undated passage" in result.text
    assert result.all_verified


def test_as_of_never_returns_a_later_or_undated_passage_random_cuts(dated_world):
    _, _, r = dated_world
    check_cuts(AsOf, r, ["tokenizers", "language models", "what he trains", "soup"], seed=7)


def check_cuts(make, retriever, questions, seed: int, n: int = 25) -> None:
    rng = random.Random(seed)
    for _ in range(n):
        cut = (dt.date(2011, 1, 1) + dt.timedelta(days=rng.randrange(16 * 365))).isoformat()
        wrapped = make(retriever, cut)
        for e in wrapped.retrieve(rng.choice(questions), 10, speaker="his"):
            assert e.date and e.date[:10] <= cut, (cut, e.chunk_id, e.date)
        for e in wrapped.retrieve(rng.choice(questions), 10, speaker="his",
                                  include_undated=True):  # as of a date, never undated
            assert e.date and e.date[:10] <= cut


@pytest.mark.skipif(not os.environ.get("KTP_TEST_REAL_HOME"),
                    reason="set KTP_TEST_REAL_HOME to a data home built from ../shared/realdata")
def test_as_of_on_the_real_data_random_cuts():
    from simulator.retrieval import open_retriever

    home = DataHome.resolve(os.environ["KTP_TEST_REAL_HOME"]).require()
    check_cuts(AsOf, open_retriever(home), ["agents", "how to train a neural net",
                                            "reinforcement learning", "tokenization",
                                            "software 2.0", "education"], seed=11, n=40)


def test_ask_as_of_on_the_cli(env):
    result = ktp("ask", "What does he think about tokenizers?", "--as-of", "2020", "--no-memory")
    assert result.stdout.startswith("**As of 2020-12-31**")
    data = json.loads(ktp("ask", "What does he think about tokenizers?", "--as-of", "2020",
                          "--no-memory", "--json").stdout)
    assert data["as_of"] == "2020-12-31" and data["newest_source"] == "2019-07-01"
    bad = CliRunner().invoke(cli, ["ask", "tokenizers?", "--as-of", "2020-13"])
    assert bad.exit_code == 2 and "no month 13" in bad.output


@pytest.mark.parametrize("question, change", [
    ("Has his view on RL changed?", True),
    ("What did he think about agents in 2017 vs 2025?", True),
    ("How did his thinking on education evolve?", True),
    ("Does he still think tokenizers are evil?", True),
    ("What is software 2.0?", False),
    ("How should I train a small model?", False),
])
def test_change_questions_are_recognised(question, change):
    assert is_change_question(question) is change


def test_a_change_question_reads_his_words_by_era_oldest_first(dated_world):
    _, _, r = dated_world
    result = answer("Has his view on tokenizers changed over the years?", r, r.framework)
    text = result.text
    assert "**His words on this, by era** (oldest first)" in text
    early, late = text.index("*Early years (2019-01 to 2020-12)*"), \
        text.index("*Later years (2021-01 to now)*")
    assert early < late
    quoted = [line for line in text.splitlines() if line.startswith("- “")]
    dates = [line.rsplit(", ", 1)[1].rstrip(")") for line in quoted]
    assert dates == sorted(dates) and dates[0] < "2021" <= dates[-1]
    assert result.all_verified


def test_a_change_question_names_years_and_brings_each_years_passages(dated_world):
    _, _, r = dated_world
    result = answer("What did he think about tokenizers in 2019 vs 2023?", r, r.framework)
    years = {(e.date or "")[:4] for e in result.evidence}
    assert {"2019", "2023"} <= years


def test_the_prompt_for_a_change_question_gives_dated_sources_in_order(dated_world):
    _, _, r = dated_world
    evidence = sorted(r.retrieve("tokenizers", 6, speaker="his"), key=lambda e: e.date or "9")
    messages = build_prompt("Has his view on tokenizers changed?", evidence, change=True,
                            as_of="2023-12-31", eras=r.framework.of_kind("era"),
                            subject=HIM)
    user = messages[-1]["content"]
    assert CHANGE_NOTE in user and "Answer as of 2023-12-31" in user
    assert 'era="Early years"' in user and 'era="Later years"' in user
    dates = [line.split('date="')[1][:10] for line in user.splitlines()
             if line.startswith("<source ")]
    assert dates == sorted(dates)


def test_the_ask_page_answers_as_of_a_date(env):
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO / "ui" / "app.py"), default_timeout=90).run()
    at.switch_page("app_pages/ask.py").run()
    at.sidebar.text_input(key="ask_as_of").input("2020").run()
    at.chat_input[0].set_value("What does he think about tokenizers?").run()
    shown = [html.unescape(m.value) for m in at.markdown]  # the page escapes source text
    assert any("As of 2020-12-31" in m and "2019-07-01" in m for m in shown)
    cards = [c for c in (html.unescape(e.label) for e in at.expander) if c.startswith("[S")]
    assert cards and not any("2023" in c or "undated" in c for c in cards)
    at.sidebar.text_input(key="ask_as_of").input("2020-13").run()
    assert any("no month 13" in html.unescape(e.value) for e in at.error)
    st.cache_resource.clear()


def test_readme_shows_the_new_commands():
    readme = Path(REPO / "README.md").read_text(encoding="utf-8")
    for needle in ("ktp timeline", "--as-of", "--include-undated"):
        assert needle in readme


def test_with_an_llm_a_change_question_sends_sources_oldest_first_and_as_of(dated_world,
                                                                            monkeypatch):
    from llm_server import ChatServer
    from simulator.llm import load_llm

    _, _, r = dated_world
    with ChatServer(lambda messages: "In 2019 he called them a necessary evil [S1].") as server:
        monkeypatch.setenv("KTP_LLM_BASE_URL", server.url)
        result = answer("Has his view on tokenizers changed?", r, r.framework,
                        llm=load_llm("compat:test-model"), as_of="2023-12-31")
        sent = server.requests[-1]["body"]["messages"][-1]["content"]
    assert CHANGE_NOTE in sent and "Answer as of 2023-12-31" in sent
    dates = [line.split('date="')[1][:10] for line in sent.splitlines()
             if line.startswith("<source ")]
    assert dates == sorted(dates) and dates[-1] <= "2023-12-31"
    assert [(e.date or "")[:10] for e in result.evidence] == dates  # [Sn] as the model saw it
    assert result.text.startswith("**As of 2023-12-31**") and result.mode == "llm"


def test_chat_as_of_keeps_the_date_for_every_question(env):
    result = CliRunner().invoke(cli, ["chat", "--as-of", "2020"],
                                input="What does he think about tokenizers?\n\n")
    assert result.exit_code == 0, result.output
    assert "**As of 2020-12-31**" in result.output
