"""Hybrid retrieval end to end on a small corpus, with the real embedder and index: what each
retriever finds, fusion, graph expansion through evidence links, dedupe, filters, deep links."""
import json

import pytest
from click.testing import CliRunner

from corpus.home import DataHome
from corpus.store import CorpusStore
from simulator.evidence import text_fragment
from simulator.retrieval import open_retriever
from ui.cli import cli

from conftest import DOCS


@pytest.fixture
def world(small_world):
    return small_world


def docs(evidence):
    return [e.doc_id for e in evidence]


def test_keyword_finds_words_and_vector_finds_meaning(world):
    _, _, r = world
    assert docs(r.retrieve("leeks potatoes", k=1, modes=("keyword",))) == ["blog:soup"]
    assert docs(r.retrieve("a recipe for a vegetable dinner", k=1, modes=("vector",))) == \
        ["blog:soup"]


def test_fusion_labels_how_each_passage_was_found(world):
    _, _, r = world
    [top] = r.retrieve("smallest thing that works", k=1)
    assert top.doc_id == "blog:small" and {"keyword", "vector"} <= set(top.why)


def test_quotes_are_located_verbatim_and_count_as_support(world):
    _, w, _ = world
    found = w.graph.list_edges(("FOUND_IN",))
    spans = {e.source: (e.target, e.props["start"], e.props["end"]) for e in found}
    text = DOCS[0].text
    t, start, end = spans["axiom:small#q1"]
    assert t == "blog:small#0" and text[start:end] == "the smallest thing that works"
    assert spans["axiom:verify#q1"][0] == "tweet:42#0"
    passages, sources = w.graph.support_counts("axiom:small")
    assert passages >= 1 and sources >= 1


def test_a_question_about_an_axiom_brings_its_evidence_through_the_graph(world):
    _, _, r = world
    evidence = r.retrieve("Should machines do the work that can be verified?", k=5)
    by_doc = {e.doc_id: e for e in evidence}
    assert "tweet:42" in by_doc and "axiom:verify" in by_doc["tweet:42"].supports
    assert "graph" in by_doc["tweet:42"].why


def test_one_long_document_does_not_crowd_out_the_rest(world):
    _, _, r = world
    evidence = r.retrieve("the training loop and the loss", k=6)
    assert docs(evidence).count("blog:loops") == 2 and len(set(docs(evidence))) >= 3


def test_the_best_documents_are_searched_again_for_more_of_their_passages(world):
    _, _, r = world
    q = "the training loop and the loss"
    evidence = r.retrieve(q, k=6)
    loops = [e for e in evidence if e.doc_id == "blog:loops"]
    seen = {e.chunk_id for e in evidence}
    more = r.within_documents(q, loops, exclude=seen, k=3)
    assert len(more) == 3 and {e.doc_id for e in more} == {"blog:loops"}
    assert not seen & {e.chunk_id for e in more}
    assert all(e.why == ("same document",) and e.similarity for e in more)
    assert [e.similarity for e in more] == sorted((e.similarity for e in more), reverse=True)
    assert r.within_documents(q, loops, exclude=seen, k=3, speaker="others") == []


def test_filters_apply_to_every_retriever(world):
    _, _, r = world
    q = "verification and automation"
    assert "tweet:43" in docs(r.retrieve(q, k=8))
    assert "tweet:43" not in docs(r.retrieve(q, k=8, own_only=True))
    assert set(docs(r.retrieve(q, k=8, kind="tweet"))) <= {"tweet:42", "tweet:43"}
    assert all(e.date >= "2021" for e in r.retrieve(q, k=8, since="2021-01-01"))


def test_deep_links_land_on_the_words(world):
    _, _, r = world
    [tweet] = r.retrieve("check it automate it", k=1, kind="tweet")
    assert tweet.url == "https://x.com/karpathy/status/42"
    [talk] = r.retrieve("reinforcement learning reward", k=1, kind="transcript")
    assert talk.url == "https://www.youtube.com/watch?v=abcdefghijk&t=95s"
    [post] = r.retrieve("leeks potatoes", k=1)
    assert post.url == ("http://karpathy.github.io/2018/01/01/soup/#:~:text=Leek%20and%20"
                        "potato%20soup%20needs%20leeks%2C%20potatoes%2C%20butter%20and%20stock.")


def test_text_fragments_are_encoded_and_short():
    assert text_fragment("one two") == "#:~:text=one%20two"
    assert text_fragment("A-b, c d e f g h i j k l m") == \
        "#:~:text=A%2Db%2C%20c%20d%20e%20f,i%20j%20k%20l%20m"


def test_ktp_retrieve_json_rows(world, monkeypatch):
    home, _, _ = world
    monkeypatch.setenv("KTP_HOME", str(home.root))
    monkeypatch.setenv("KTP_FRAMEWORK", str(home.root.parent / "fw"))
    result = CliRunner().invoke(cli, ["retrieve", "smallest thing that works", "-k", "2",
                                      "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert set(rows[0]) >= {"chunk_id", "doc_id", "kind", "title", "date", "url", "origin",
                            "text", "score", "why"}
    assert rows[0]["doc_id"] == "blog:small"
    semantic = CliRunner().invoke(cli, ["search", "vegetable dinner", "--semantic", "--json"])
    assert json.loads(semantic.output)[0]["doc_id"] == "blog:soup"


def test_open_retriever_without_an_index_still_answers_by_keywords(tmp_path):
    home = DataHome(tmp_path / "h").ensure()
    with CorpusStore(home.corpus_db) as store:
        store.add(DOCS[4])
    r = open_retriever(home)
    assert r.index is None and docs(r.retrieve("leeks", k=1)) == ["blog:soup"]


def test_a_build_keeps_the_item_vectors_a_retriever_starts_with(world):
    """The build embeds the framework's items to link passages to them and keeps those
    vectors in the home's cache: a retriever starting after it embeds none of them."""
    from simulator.retrieval import HybridRetriever

    home, w, retriever = world

    class Counting:  # the real embedder, counting the texts it is given
        def __init__(self, inner):
            self.inner, self.texts = inner, 0

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def embed(self, texts):
            self.texts += len(texts)
            return self.inner.embed(texts)

    counting = Counting(retriever.embedder)
    started = HybridRetriever(w.store, counting, retriever.index, w.graph, w.framework,
                              cache_dir=home.root / "cache")
    assert len(started._items) == 3 and counting.texts == 0
