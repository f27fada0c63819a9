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


def lecture_twice(store, embedder, tmp_path):
    """The lecture as captions and as a near-copy transcript, beside the other passages,
    indexed; and a question on it, embedded."""
    caption(store)
    transcript(store, near(LECTURE))
    rest(store)
    index = VectorIndex.open(DataHome(tmp_path), embedder)
    index.sync(store)
    return index, embedder.embed(["how does backpropagation compute the gradient of the loss"])[0]


def test_a_copy_takes_no_second_place_in_any_result(store, embedder, tmp_path):
    index, question = lecture_twice(store, embedder, tmp_path)
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
    assert {k: v for k, v in update_copies(store).items() if k in ("copies", "passages",
            "recomputed")} == {"copies": 1, "passages": 2, "recomputed": True}
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


# ---- finding copies again after a change: only what the change reaches ---------------------
WORDS = ("loss gradient weight batch step model data train net layer token the a of to and in "
         "is it on").split()


def random_passages(rng, doc_id: str, kind: str, timed: bool, earlier: list[str]) -> list[str]:
    """One to three passages of words from a small vocabulary (so passages share shingles by
    chance, as real text does), some a near copy of an earlier passage or two of them joined."""
    out = []
    for _ in range(int(rng.integers(1, 4))):
        roll = rng.random()
        if earlier and roll < 0.2:  # the same words
            words = str(rng.choice(earlier)).split()
        elif earlier and roll < 0.4:  # a near copy: its last word changed
            words = str(rng.choice(earlier)).split()
            words[-1] = str(rng.choice(WORDS))
        elif len(earlier) > 1 and roll < 0.55:  # straddling two earlier passages
            a, b = rng.choice(earlier, size=2, replace=False)
            a, b = str(a).split(), str(b).split()
            words = a[len(a) // 2:] + b[:len(b) // 2]
        else:
            words = [str(w) for w in rng.choice(WORDS, size=int(rng.integers(6, 40)))]
        out.append(" ".join(words))
    return out


def add_random(store, rng, n: int, earlier: list[str]) -> None:
    kinds = ["transcript", "thread", "tweet", "blog", "doc"]
    doc_id = f"doc:{n}"
    kind = str(rng.choice(kinds))
    timed = kind == "transcript" and rng.random() < 0.7
    texts = random_passages(rng, doc_id, kind, timed, earlier)
    earlier += texts
    whole, chunks, at = "\n\n".join(texts), [], 0
    for i, text in enumerate(texts):
        chunks.append(Chunk(id=f"{doc_id}#{i}", doc_id=doc_id, n=i, start=at,
                            end=at + len(text), text=text,
                            start_time=float(i * 10) if timed else None,
                            speaker=store.subject if rng.random() < 0.7 else "someone"))
        at += len(text) + 2
    store.add(Document(id=doc_id, kind=kind, title=f"t{n}", text=whole,
                       author=store.subject, date="2024-01-01"), chunks)


def from_scratch_copies(store) -> dict:
    return find_copies(store.passages_for_copies())


@pytest.mark.parametrize("common", [40, 3])
@pytest.mark.parametrize("seed", range(4))
def test_copies_found_again_after_a_change_are_those_found_from_scratch(store, seed, common,
                                                                           monkeypatch):
    """Documents arrive, leave and change in random order; after each change the copies found
    from the kept signatures are exactly the copies found over the whole corpus. COMMON 3 makes
    shingles cross the "too common to compare" line as passages come and go."""
    import corpus.duplicates as dup

    monkeypatch.setattr(dup, "COMMON", common)
    rng = np.random.default_rng(seed)
    earlier: list[str] = []
    for n in range(25):
        add_random(store, rng, n, earlier)
    first = update_copies(store)
    assert first["from_scratch"] and first["decided"] == store.chunk_count()
    refreshed = 0
    for step in range(30):
        roll = rng.random()
        docs = [d["id"] for d in store.catalog()]
        if roll < 0.5 or len(docs) < 5:
            add_random(store, rng, 100 + step, earlier)
        elif roll < 0.8:
            store.remove(str(rng.choice(docs)))
        else:  # a document replaced by another version of itself
            victim = str(rng.choice(docs))
            store.remove(victim)
            add_random(store, rng, int(victim.split(":")[1]), earlier)
        result = update_copies(store)
        assert not result["from_scratch"]
        refreshed += result["decided"]
        expected = from_scratch_copies(store)
        found = dict(store.db.execute("SELECT chunk_id, canonical FROM chunk_copies"))
        assert found == {c: canon for c, (canon, _) in expected.items()}, f"step {step}"
        covered = dict(store.db.execute("SELECT chunk_id, covered FROM chunk_copies"))
        assert covered == {c: cover for c, (_, cover) in expected.items()}
    assert refreshed < 30 * store.chunk_count()  # it did not decide everything every time


def test_one_new_document_is_compared_alone_and_a_no_change_compares_nothing(store):
    caption(store)
    transcript(store, near(LECTURE))
    for n in range(30):
        store.add(Document(id=f"blog:{n}", kind="blog", title=f"Post {n}",
                           text=f"{MORE} Post number {n} of the series, about topic {n * 7}.",
                           author=store.subject, date="2024-01-01"))
    assert update_copies(store)["from_scratch"]
    assert update_copies(store)["decided"] == 0  # nothing changed: nothing read or compared
    rest(store)  # one new passage, sharing no words with the rest
    result = update_copies(store)
    assert (result["from_scratch"], result["decided"]) == (False, 1)
    store.add(Document(id="tweet:1", kind="tweet", title="", text=near(MORE) + " again",
                       author=store.subject, date="2024-02-01"))
    result = update_copies(store)
    # The new tweet comes before the blog posts in the order (a tweet locates better), so the
    # posts that share its words are decided again too; the caption and transcript are not.
    assert not result["from_scratch"] and 1 < result["decided"] <= 31
    assert store.copies() == {c: v[0] for c, v in from_scratch_copies(store).items()}


def test_damaged_signatures_are_found_again_from_scratch(store):
    from corpus.duplicates import signatures_path

    caption(store)
    transcript(store, near(LECTURE))
    update_copies(store)
    signatures_path(store).write_bytes(b"not a numpy file")
    rest(store)
    result = update_copies(store)
    assert result["from_scratch"] and store.copies() == {"doc:course#0": "yt:captions#0"}
    rest(store)
    store.add(Document(id="blog:more", kind="blog", title="More", text=MORE,
                       author=store.subject, date="2024-01-01"))
    assert not update_copies(store)["from_scratch"]  # written again, whole


def test_a_passage_whose_speaker_is_learnt_later_is_found_again_from_scratch(store):
    """Whose words a passage is moves it in the order: every decision after it may change."""
    caption(store)
    transcript(store, near(LECTURE))
    update_copies(store)
    store.db.execute("UPDATE chunks SET speaker = 'someone else' WHERE id = 'yt:captions#0'")
    rest(store)
    assert update_copies(store)["from_scratch"]
    assert store.copies() == {c: v[0] for c, v in from_scratch_copies(store).items()}


def test_past_the_exact_size_a_copy_still_leaves_k_passages(store, embedder, tmp_path,
                                                            monkeypatch):
    """Chroma answers past EXACT_MAX; the copy it finds beside its canonical is dropped, and
    the place it leaves goes to the next passage, not to nobody."""
    import graph.vector_index as vi

    index, question = lecture_twice(store, embedder, tmp_path)
    monkeypatch.setattr(vi, "EXACT_MAX", 0)
    assert [h.chunk_id for h in index.query(question, k=2)] == ["yt:captions#0", "blog:soup#0"]


def test_a_build_with_nothing_new_finds_no_copies_and_one_new_document_compares_itself(
        store, embedder, tmp_path):
    from corpus.duplicates import signatures_path

    home = DataHome(tmp_path)
    caption(store)
    transcript(store, near(LECTURE))
    first = build_index(home, store, embedder)
    assert first["copy_finding"] == {"recomputed": True, "decided": 2, "from_scratch": True}
    kept = signatures_path(store).stat().st_mtime_ns
    again = build_index(home, store, embedder)
    assert "copy_finding" not in again and again["embedded"] == 0  # the no-op looks at nothing
    assert signatures_path(store).stat().st_mtime_ns == kept
    rest(store)
    added = build_index(home, store, embedder)
    assert added["copy_finding"] == {"recomputed": True, "decided": 1, "from_scratch": False}
    assert added["embedded"] == 1
