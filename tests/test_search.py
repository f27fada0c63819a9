"""Keyword search: ranking, phrases, prefixes, exclusions, OR, filters, and safe parsing."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus.model import Document
from corpus.query import QueryError, parse_query

DOCS = [
    ("tweet:1", "tweet", "2023-01-10T08:00:00Z",
     "The hottest new programming language is English."),
    ("tweet:2", "tweet", "2024-06-01T12:00:00Z",
     "Agents agents agents: the decade of agents, not the year of agents."),
    ("tweet:3", "tweet", "2025-02-02T09:30:00Z",
     "There is a new kind of coding I call vibe coding, and agents help."),
    ("blog:recipe", "blog", "2019-04-25",
     "A recipe for training neural networks: become one with the data first."),
    ("blog:tok", "blog", "2024-02-20",
     "Tokenization is at the heart of much weirdness of large language models."),
]


@pytest.fixture
def filled(store):
    store.add_many(Document(id=i, kind=k, title=i, text=t, date=d) for i, k, d, t in DOCS)
    return store


def ids(hits):
    return [h.doc_id for h in hits]


def test_more_matches_rank_higher(filled):
    assert ids(filled.search("agents")) == ["tweet:2", "tweet:3"]


def test_ranking_alone_gives_the_same_order_without_snippets(filled):
    """Retrieval ranks only: without marks the hits and their order are the same, and the
    snippets and highlights (costly per hit) are left empty."""
    for query in ("agents", "agents OR data", "coding"):
        full, bare = filled.search(query), filled.search(query, marks=False)
        assert [(h.id, h.score) for h in bare] == [(h.id, h.score) for h in full]
        assert all(h.snippet == h.marked == "" for h in bare)
        assert all("\x02" in h.marked for h in full)


def test_stemming_matches_other_forms(filled):
    assert ids(filled.search("agent")) == ["tweet:2", "tweet:3"]
    assert "blog:recipe" in ids(filled.search("network"))


def test_phrases_must_match_in_order(filled):
    assert ids(filled.search('"programming language"')) == ["tweet:1"]
    assert ids(filled.search('"language programming"')) == []


def test_all_words_must_match(filled):
    assert ids(filled.search("agents coding")) == ["tweet:3"]


def test_prefix_and_exclusion(filled):
    assert set(ids(filled.search("token*"))) == {"blog:tok"}
    assert set(ids(filled.search("tokeniz*"))) == {"blog:tok"}  # not defeated by stemming
    assert ids(filled.search("agents -vibe")) == ["tweet:2"]


def test_or_matches_either_side(filled):
    assert set(ids(filled.search("english OR recipe"))) == {"tweet:1", "blog:recipe"}


def test_kind_and_date_filters(filled):
    assert set(ids(filled.search("new", kind="tweet"))) == {"tweet:1", "tweet:3"}
    assert ids(filled.search("agents", since="2025-01-01")) == ["tweet:3"]
    assert ids(filled.search("agents", until="2024-06-01")) == ["tweet:2"]  # inclusive day
    assert ids(filled.search("data OR tokenization", kind="blog", since="2020-01-01")) == \
        ["blog:tok"]


def test_rows_carry_the_documented_fields_and_a_highlighted_snippet(filled):
    hit = filled.search('"vibe coding"')[0]
    assert set(hit.as_row()) == {"id", "doc_id", "kind", "title", "date", "url", "text", "score",
                                 "author", "speaker", "his_words"}
    assert hit.score > 0
    assert "\x02vibe coding\x03" in hit.snippet


def test_punctuation_in_queries_is_never_fts_syntax(filled):
    for query in ['gpt-2', 'c++', 'node.js', 'AND', '"unclosed phrase', 'a:b', '(x', 'NEAR/2']:
        filled.search(query)  # must not raise sqlite3.OperationalError


def test_a_query_of_only_exclusions_is_refused_with_advice():
    with pytest.raises(QueryError, match="add at least one word"):
        parse_query("-agents -tesla")


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=40))
def test_any_text_either_parses_to_a_valid_query_or_says_why(filled, text):
    try:
        filled.search(text)  # never an sqlite3.OperationalError
    except QueryError:
        pass


def test_pages_sorting_likes_replies_and_one_passage_per_document(store):
    long_post = "agents " + "word " * 400 + "\n\n" + "agents again " + "word " * 400
    store.add_many([
        Document(id="tweet:1", kind="tweet", title="t", text="agents one", date="2023-01-01",
                 meta={"likes": 5}),
        Document(id="tweet:2", kind="tweet", title="t", text="agents two", date="2024-01-01",
                 meta={"likes": 50, "is_reply": True}),
        Document(id="blog:long", kind="blog", title="Long", text=long_post, date="2022-01-01")])
    assert len(store.chunks("blog:long")) > 1
    assert [h.doc_id for h in store.search("agents", one_per_doc=True)].count("blog:long") == 1
    assert [h.doc_id for h in store.search("agents", sort="date", one_per_doc=True)][:1] == \
        ["tweet:2"]
    assert [h.doc_id for h in store.search("agents", sort="likes", limit=1)] == ["tweet:2"]
    assert "tweet:2" not in [h.doc_id for h in store.search("agents", replies=False)]
    assert [h.doc_id for h in store.search("agents", min_likes=10)] == ["tweet:2"]
    first = store.search("agents", limit=1, one_per_doc=True)
    second = store.search("agents", limit=1, offset=1, one_per_doc=True)
    assert first[0].doc_id != second[0].doc_id
