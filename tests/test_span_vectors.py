"""Span vectors: the build gives every quotable stretch of a passage a vector from the passage's
own encoding pass, keeps them across syncs, makes them again when missing or made under other
rules, and the framework reading scores with them instead of embedding every candidate."""
import json

import numpy as np
import pytest

import corpus.quotable
import graph.span_vectors
from corpus.home import DataHome
from corpus.model import Document
from corpus.quotable import quotable_spans
from graph.embedder import MiniLMEmbedder
from graph.pipeline import build_index
from graph.vector_index import VectorIndex
from simulator.evidence import Evidence
from simulator.quotes import RESCORED, QuotePool

TALK = ("Most of my time at work went into the data. I spent about a third of it on datasets, "
        "a third on evaluations and a third on everything else. The soup at the cafeteria was "
        "excellent, especially the leek and potato one on Fridays. Good evaluations are very "
        "hard to build, because a benchmark has to be both realistic and cheap to run.")


@pytest.fixture(scope="module")
def embedder():
    return MiniLMEmbedder()


@pytest.fixture
def indexed(store, embedder, tmp_path):
    store.add(Document(id="blog:work", kind="blog", title="Notes on work", date="2024-01-01",
                       text=TALK, author="Andrej Karpathy"))
    home = DataHome(tmp_path)
    index = VectorIndex.open(home, embedder)
    index.sync(store)
    return home, index


def test_every_quotable_sentence_gets_a_vector_of_its_own_words(indexed, embedder):
    home, index = indexed
    made = index.span_vectors("blog:work#0")
    assert set(made) == {(s, e) for s, e, _ in quotable_spans(TALK)}
    # Each sentence's vector, read in its passage, is still closest to that sentence on its own.
    sentences = {(s, e): TALK[s:e] for s, e in made if TALK[s:e].count(". ") == 0}
    alone = dict(zip(sentences, embedder.embed(list(sentences.values()))))
    for span, vector in made.items():
        if span in alone:
            closest = max(alone, key=lambda other: float(alone[other] @ vector))
            assert closest == span, TALK[span[0]:span[1]]
    assert json.loads(index.pointer.read_text())["spans"] == corpus.quotable.RULES


def test_an_unchanged_passage_keeps_its_span_vectors_and_a_new_one_gets_its_own(
        indexed, store):
    home, index = indexed
    before = index.span_vectors("blog:work#0")
    store.add(Document(id="tweet:9", kind="tweet", title="t", date="2025-01-01",
                       text="Tokenization is at the heart of much weirdness in language models.",
                       author="Andrej Karpathy"))
    assert index.sync(store)["embedded"] == 1
    after = index.span_vectors("blog:work#0")
    assert after.keys() == before.keys()
    assert all(np.array_equal(after[s], before[s]) for s in before)
    assert index.span_vectors("tweet:9#0")


def test_a_table_without_span_vectors_is_embedded_again_once(indexed, store, embedder):
    """An index built before span vectors existed: queries still answer (quotes are embedded
    when asked), and the next build makes them for every passage, then has nothing to do."""
    home, index = indexed
    folder = index.vectors_dir / json.loads(index.pointer.read_text())["vectors"]
    for name in graph.span_vectors.FILES:
        (folder / name).unlink()
    state = json.loads(index.pointer.read_text())
    del state["spans"]
    index.pointer.write_text(json.dumps(state))
    reopened = VectorIndex.open(home, embedder)
    assert reopened.span_vectors("blog:work#0") is None
    assert reopened.query(embedder.embed(["evaluations"])[0], 1)
    assert build_index(home, store, embedder)["embedded"] == 1
    assert VectorIndex.open(home, embedder).span_vectors("blog:work#0")
    assert build_index(home, store, embedder)["embedded"] == 0


def test_span_vectors_of_older_rules_count_as_missing(indexed, store, embedder, monkeypatch):
    home, index = indexed
    import graph.vector_index

    for module in (graph.span_vectors, graph.vector_index):  # the rules changed in a new release
        monkeypatch.setattr(module, "RULES", corpus.quotable.RULES + 1)
    reopened = VectorIndex.open(home, embedder)
    assert reopened.span_vectors("blog:work#0") is None
    assert reopened.sync(store)["embedded"] == 1
    assert reopened.span_vectors("blog:work#0")


class CountingEmbedder:
    def __init__(self, inner):
        self.inner, self.texts = inner, 0

    def __call__(self, texts):
        self.texts += len(texts)
        return self.inner.embed(texts)


def _evidence(text: str, n: int) -> Evidence:
    return Evidence(chunk_id=f"blog:long#{n}", doc_id="blog:long", kind="blog", title="Long",
                    date="2024-01-01", url=None, origin="long.md", text=text, score=1.0,
                    why=("vector",), his_words=True, badge="his post")


def test_the_reading_scores_with_span_vectors_and_embeds_only_the_best_alone(embedder):
    sentences = [f"Point number {i} is about a different topic entirely, like {w}."
                 for i, w in enumerate("rivers mountains soup trains cats violins chess "
                                       "tides bees maps ink clocks lamps salt wool".split())]
    sentences.append("Good evaluations are hard to build because benchmarks must be realistic.")
    text = " ".join(sentences)
    evidence = [_evidence(text, 0)]
    spans = [(s, e) for s, e, _ in quotable_spans(text)]
    assert len(spans) > 20  # more than the pool would embed when asked
    vectors, pooled = embedder.embed_spans([text], [spans])
    made = {s: v for s, v in zip(spans, pooled[0]) if v is not None}
    question = "Why are good evaluations hard to build?"

    counting = CountingEmbedder(embedder)
    pool = QuotePool(question, evidence, counting, embedder.embed([question])[0],
                     span_vectors=lambda cid: made if cid == "blog:long#0" else None)
    assert len(pool.candidates) == len(spans)  # every candidate scored, none cut beforehand
    assert counting.texts <= 2 * RESCORED  # only the best re-read alone (pairs: two pieces)
    assert "Good evaluations are hard" in pool.best(1)[0].text

    without = CountingEmbedder(embedder)
    QuotePool(question, evidence, without, embedder.embed([question])[0])
    assert without.texts > counting.texts


def test_damaged_span_files_cost_only_the_span_vectors(indexed, store, embedder):
    home, index = indexed
    folder = index.vectors_dir / json.loads(index.pointer.read_text())["vectors"]
    (folder / "spans.json").write_text('{"rules": 1, "chunks": ["blog:work#0"]', encoding="utf-8")
    reopened = VectorIndex.open(home, embedder)
    assert reopened.span_vectors("blog:work#0") is None
    assert reopened.query(embedder.embed(["evaluations"])[0], 1)[0].doc_id == "blog:work"
    assert reopened.sync(store)["embedded"] == 1
    assert reopened.span_vectors("blog:work#0")


def test_a_build_notices_span_files_gone_though_the_pointer_names_them(indexed, store, embedder):
    home, index = indexed
    folder = index.vectors_dir / json.loads(index.pointer.read_text())["vectors"]
    (folder / "spans_at.npy").unlink()
    assert build_index(home, store, embedder)["embedded"] == 1
    assert VectorIndex.open(home, embedder).span_vectors("blog:work#0")
    assert build_index(home, store, embedder)["embedded"] == 0


def test_sentence_search_ranks_a_passage_by_its_best_stretch():
    """Passage a is about something else as a whole but holds one stretch that matches; b is
    closer as a whole with no stretch as close. By sentence a ranks first, and each hit still
    carries its passage's own cosine; the rows filter and copies hold as in `search`."""
    from graph.exact_search import VectorTable
    from graph.span_vectors import SpanVectors

    def unit(*xs):
        v = np.array(xs, dtype=np.float32)
        return v / np.linalg.norm(v)

    q = unit(1, 0, 0)
    metas = [{"doc_id": d, "kind": "blog", "ts": 0, "own": True, "his": True} for d in "abcd"]
    metas[3]["copy_of"] = "a#0"
    spans = SpanVectors.from_parts({
        "a#0": ([(0, 10), (11, 20)], np.stack([unit(0, 1, 0), unit(0.95, 0.05, 0)])),
        "b#0": ([(0, 10)], np.stack([unit(0.6, 0.8, 0)])),
        "c#0": ([], np.zeros((0, 3))),  # no stretch: never a sentence hit
        "d#0": ([(0, 10), (11, 20)], np.stack([unit(0, 1, 0), unit(0.95, 0.05, 0)])),
    })
    table = VectorTable(["a#0", "b#0", "c#0", "d#0"],
                        [unit(0.2, 1, 0), unit(0.7, 0.7, 0), unit(1, 0, 0), unit(0.2, 1, 0)],
                        metas, spans)
    assert [h[0] for h in table.search(q, 2)] == ["c#0", "b#0"]
    found = table.search_sentences(q, 5)
    assert [h[0] for h in found] == ["a#0", "b#0"]  # the copy d#0 takes no place
    assert found[0][2] == pytest.approx(0.9986, abs=1e-3)  # its best stretch
    assert found[0][3] == pytest.approx(float(table.vectors[0] @ q))  # its own cosine
    only_b = np.array([False, True, True, False])
    assert [h[0] for h in table.search_sentences(q, 5, only_b)] == ["b#0"]

