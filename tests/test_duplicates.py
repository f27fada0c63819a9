"""One canonical passage per text (corpus/duplicates.py), through the real store, the real
MiniLM index and the hybrid retriever: a copy is never embedded, never takes a second place in
vector search, keyword search or retrieval, stands in for its canonical where the filters
leave that one out, and stays right when copies arrive or canonicals leave later."""
import numpy as np
import pytest

from corpus.duplicates import find_copies, update_copies
from corpus.home import DataHome
from corpus.model import Chunk, Document
from graph.embedder import MiniLMEmbedder
from graph.pipeline import build_index
from graph.vector_index import VectorIndex
from simulator.retrieval import HybridRetriever

LECTURE = ("So the loss function tells us how well the network is doing, and backpropagation "
           "gives us the gradient of that loss with respect to every single weight in the net.")
LECTURE_TOO = ("Now we nudge every weight a tiny bit in the direction opposite to its gradient, "
               "and we repeat that step until the loss stops going down, which is training.")
MORE = ("Overfit a single batch first, then regularise: if the network cannot even memorise "
        "ten examples, something upstream is broken and no amount of tuning will fix it.")
SOUP = "Leek and potato soup needs very little: leeks, potatoes, butter and a good stock."


class Recording(MiniLMEmbedder):
    """The real encoder, keeping every text it was asked to encode."""

    def __init__(self):
        super().__init__()
        self.seen: list[str] = []

    def embed_spans(self, texts, *args, **kwargs):  # embed() goes through it too
        self.seen += list(texts)
        return super().embed_spans(texts, *args, **kwargs)


@pytest.fixture(scope="module")
def embedder():
    return Recording()


def caption(store, doc_id="yt:captions", text=LECTURE):
    """A timed caption passage (its chunk knows its second): the better locator."""
    doc = Document(id=doc_id, kind="transcript", title="Lecture", text=text,
                   author=store.subject, date="2022-08-16")
    store.add(doc, [Chunk(id=f"{doc_id}#0", doc_id=doc_id, n=0, start=0, end=len(text),
                          text=text, start_time=754.0)])


def transcript(store, text=LECTURE):
    """The same words in an untimed transcript of the whole course, another kind of source."""
    store.add(Document(id="doc:course", kind="doc", title="The course, as text", text=text,
                       author=store.subject, date="2023-01-01"))


def rest(store):
    store.add(Document(id="blog:soup", kind="blog", title="Soup", text=SOUP,
                       author=store.subject, date="2024-01-01"))


def near(text):
    """The text as another source writes it: other case and punctuation, its last word
    changed."""
    return text.replace("So the", "so, the").rsplit(" ", 1)[0].upper() + " NETWORK."


def test_the_canonical_is_the_best_locator():
    timed = {"id": "yt:a#0", "text": LECTURE, "kind": "transcript", "start_time": 12.0}
    untimed = {"id": "doc:a#3", "text": near(LECTURE), "kind": "doc", "start_time": None}
    thread = {"id": "thread:9#0", "text": LECTURE_TOO, "kind": "thread", "start_time": None}
    tweet = {"id": "tweet:9", "text": LECTURE_TOO + " ", "kind": "tweet", "start_time": None}
    copies = find_copies([untimed, tweet, timed, thread])
    assert {c: canon for c, (canon, _) in copies.items()} == {
        "doc:a#3": "yt:a#0", "tweet:9": "thread:9#0"}


def test_short_or_different_passages_are_not_copies():
    short = [{"id": f"tweet:{n}", "text": "Yes, exactly this.", "kind": "tweet"}
             for n in range(3)]
    assert find_copies(short + [{"id": "blog:a#0", "text": LECTURE, "kind": "blog"},
                                {"id": "blog:b#0", "text": LECTURE_TOO, "kind": "blog"}]) == {}


def test_a_passage_covered_by_two_canonicals_is_a_copy_of_the_larger_share():
    """The long transcript is cut elsewhere than the captions: its passage straddles two."""
    first = {"id": "yt:a#0", "text": LECTURE + " " + SOUP, "kind": "transcript",
             "start_time": 1.0}
    second = {"id": "yt:a#1", "text": LECTURE_TOO + " " + MORE, "kind": "transcript",
              "start_time": 9.0}
    words = first["text"].split(), second["text"].split()
    straddling = " ".join(words[0][6:] + words[1][:30])  # 40 words of one, 30 of the next
    copies = find_copies([first, second, {"id": "doc:t#0", "text": straddling, "kind": "doc"}])
    assert copies["doc:t#0"][0] == "yt:a#0" and copies["doc:t#0"][1] >= 0.9
    partly = straddling + " and then something he never said in the captions at all, ever."
    assert "doc:t#1" not in find_copies([first, second, {"id": "doc:t#1", "text": partly,
                                                          "kind": "doc"}])


def test_a_copy_is_not_embedded_and_takes_the_canonicals_vector(store, embedder, tmp_path):
    caption(store)
    transcript(store, near(LECTURE))
    rest(store)
    embedder.seen.clear()
    index = VectorIndex.open(DataHome(tmp_path), embedder)
    result = index.sync(store)
    assert (result["embedded"], result["copied"], result["total"]) == (2, 1, 3)
    assert not any("The course" in t or "SO, THE" in t for t in embedder.seen)
    assert store.copies() == {"doc:course#0": "yt:captions#0"}
    table = index._exact()
    a, b = table.row_of("yt:captions#0"), table.row_of("doc:course#0")
    assert np.array_equal(table.vectors[a], table.vectors[b])
    got = index.collection.get(ids=["doc:course#0"], include=["embeddings", "metadatas"])
    assert got["metadatas"][0]["copy_of"] == "yt:captions#0"
    assert np.allclose(got["embeddings"][0], table.vectors[a], atol=1e-6)
    # Not the same text: no span vectors of the canonical (their offsets would not fit).
    assert index.span_vectors("doc:course#0") == {}
    assert index.span_vectors("yt:captions#0")
    assert index.sync(store)["embedded"] == 0  # and nothing to do next time


def test_a_copy_of_the_same_text_shares_its_span_vectors(store, embedder, tmp_path):
    caption(store, text=LECTURE)
    caption(store, "yt:reupload", text=LECTURE)
    index = VectorIndex.open(DataHome(tmp_path), embedder)
    assert index.sync(store)["copied"] == 1
    copy, canonical = next(iter(store.copies().items()))
    assert index.span_vectors(copy).keys() == index.span_vectors(canonical).keys()


def test_a_copy_takes_no_second_place_in_any_result(store, embedder, tmp_path):
    caption(store)
    transcript(store, near(LECTURE))
    rest(store)
    index = VectorIndex.open(DataHome(tmp_path), embedder)
    index.sync(store)
    question = embedder.embed(["how does backpropagation compute the gradient of the loss"])[0]
    hits = [h.chunk_id for h in index.query(question, k=10)]
    assert hits == ["yt:captions#0", "blog:soup#0"]
    assert [h.id for h in store.search("gradient loss")] == ["yt:captions#0"]
    evidence = HybridRetriever(store, embedder, index).retrieve(
        "How does backpropagation get the gradient of the loss?", k=5)
    assert [e.chunk_id for e in evidence] == ["yt:captions#0", "blog:soup#0"]
    # Where the filters leave the canonical out, the copy stands in for it.
    assert [h.chunk_id for h in index.query(question, k=10, kind="doc")] == ["doc:course#0"]
    assert [h.id for h in store.search("gradient loss", kind="doc")] == ["doc:course#0"]
    assert [e.chunk_id for e in HybridRetriever(store, embedder, index).retrieve(
        "the gradient of the loss", k=5, since="2023-01-01")][:1] == ["doc:course#0"]
    # Its document still lists it.
    assert [c.id for c in store.chunks("doc:course")] == ["doc:course#0"]


def test_a_copy_arriving_later_is_not_embedded(store, embedder, tmp_path):
    home = DataHome(tmp_path)
    caption(store)
    rest(store)
    assert build_index(home, store, embedder)["embedded"] == 2
    transcript(store, near(LECTURE))
    embedder.seen.clear()
    result = build_index(home, store, embedder)
    assert (result["embedded"], result["copied"]) == (0, 1) and embedder.seen == []
    assert build_index(home, store, embedder)["copied"] == 0  # a no-op build stays one


def test_a_copy_whose_canonical_leaves_is_embedded_as_itself(store, embedder, tmp_path):
    home = DataHome(tmp_path)
    caption(store)
    transcript(store, near(LECTURE))
    build_index(home, store, embedder)
    store.remove("yt:captions")
    assert store.copies() == {}  # at once: keyword search shows the copy again
    assert [h.id for h in store.search("gradient loss")] == ["doc:course#0"]
    embedder.seen.clear()
    result = build_index(home, store, embedder)
    assert (result["embedded"], result["copied"], result["removed"]) == (1, 0, 1)
    assert any("The course" in t for t in embedder.seen)
    index = VectorIndex.open(home, embedder)
    alone = embedder.embed(["The course, as text\n" + near(LECTURE)])[0]
    table = index._exact()
    row = table.vectors[table.row_of("doc:course#0")]
    assert float(row @ (alone / np.linalg.norm(alone))) > 0.999
    assert index.span_vectors("doc:course#0")  # its own, now


def test_a_canonical_that_changes_gives_its_copies_the_new_vector(store, embedder, tmp_path):
    home = DataHome(tmp_path)
    caption(store)
    transcript(store, near(LECTURE))
    build_index(home, store, embedder)
    edited = LECTURE.replace("every single weight in the net", "each weight of the network")
    caption(store, text=edited)
    transcript(store, near(edited))
    result = build_index(home, store, embedder)
    assert (result["embedded"], result["copied"]) == (1, 1)
    table = VectorIndex.open(home, embedder)._exact()
    assert np.array_equal(table.vectors[table.row_of("yt:captions#0")],
                          table.vectors[table.row_of("doc:course#0")])


def test_update_copies_recomputes_only_when_the_corpus_changed(store):
    caption(store)
    transcript(store, near(LECTURE))
    assert update_copies(store) == {"copies": 1, "passages": 2, "recomputed": True}
    assert update_copies(store)["recomputed"] is False
    rest(store)
    assert update_copies(store)["recomputed"] is True


def test_a_rebuild_embeds_the_canonicals_only(store, embedder, tmp_path):
    home = DataHome(tmp_path)
    caption(store)
    transcript(store, near(LECTURE))
    rest(store)
    build_index(home, store, embedder)
    embedder.seen.clear()
    result = build_index(home, store, embedder, reindex=True)
    assert (result["embedded"], result["copied"], result["total"]) == (2, 1, 3)
    assert len(embedder.seen) == 2
    index = VectorIndex.open(home, embedder)
    assert index.count() == 3
    question = embedder.embed(["the gradient of the loss"])[0]
    assert [h.chunk_id for h in index.query(question, k=3)][:1] == ["yt:captions#0"]
    assert "doc:course#0" not in [h.chunk_id for h in index.query(question, k=3)]
