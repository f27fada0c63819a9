"""The Chroma vector index with the real MiniLM embedder: incremental sync, filters, refusing a
second embedder, safe rebuilds, and server mode against a real `chroma run` on 127.0.0.1; exact
answers (where HNSW at Chroma's defaults is not), filters equal to filtering the exact ranking,
the exact-search table kept in step, and a build with nothing new that never opens Chroma."""
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from corpus.home import DataHome
from corpus.model import Document
from graph.embedder import MiniLMEmbedder
from graph.vector_index import VectorIndex, VectorIndexError
from servers import free_port

DOCS = [
    Document(id="tweet:1", kind="tweet", title="t", date="2023-02-01T10:00:00Z",
             text="AI agents will take about a decade to become really reliable.",
             meta={"likes": 900}),
    Document(id="tweet:2", kind="tweet", title="t", date="2025-03-01T10:00:00Z",
             text="Tokenization is the source of so many strange model behaviours.",
             meta={"likes": 50}),
    Document(id="tweet:3", kind="tweet", title="t", date="2025-04-01T10:00:00Z",
             text="Agents are a decade away, great thread worth reading.",
             meta={"is_retweet": True}),
    Document(id="blog:soup", kind="blog", title="Soup", date="2024-01-01",
             text="Leek and potato soup needs very little: leeks, potatoes, butter, stock."),
]


@pytest.fixture(scope="module")
def embedder():
    return MiniLMEmbedder()


@pytest.fixture
def filled(store):
    store.add_many(DOCS)
    return store


def ids(hits):
    return [h.doc_id for h in hits]


def test_sync_embeds_only_what_changed(filled, embedder, tmp_path):
    index = VectorIndex.open(DataHome(tmp_path), embedder)
    assert index.sync(filled) == {"embedded": 4, "copied": 0, "removed": 0, "relabelled": 0,
                                  "unchanged": 0, "total": 4, "copy_finding": {
                                      "recomputed": True, "decided": 4, "from_scratch": True}}
    assert index.sync(filled)["embedded"] == 0
    filled.add(Document(id="blog:soup", kind="blog", title="Soup", date="2024-01-01",
                        text="A new recipe: tomato soup with basil."))
    # Copies are looked for among the new passage alone (no others come after it).
    assert index.sync(filled) == {"embedded": 1, "copied": 0, "removed": 0, "relabelled": 0,
                                  "unchanged": 3, "total": 4, "copy_finding": {
                                      "recomputed": True, "decided": 1, "from_scratch": False}}
    filled.remove("tweet:2")
    assert index.sync(filled)["removed"] == 1 and index.count() == 3


def test_a_speaker_learnt_later_relabels_without_embedding_again(filled, embedder, tmp_path):
    from dataclasses import replace

    index = VectorIndex.open(DataHome(tmp_path), embedder)
    index.sync(filled)
    query = embedder.embed(["agents take a decade"])[0]
    assert index.query(query, 5, his=True) == []  # nobody is known to be him yet
    filled.add(replace(filled.get("tweet:1"), author="Andrej Karpathy", hash=""))
    result = index.sync(filled)
    assert (result["embedded"], result["relabelled"]) == (0, 1)
    assert ids(index.query(query, 5, his=True)) == ["tweet:1"]
    assert "tweet:1" not in ids(index.query(query, 5, his=False))


def test_queries_rank_by_meaning_and_filter(filled, embedder, tmp_path):
    index = VectorIndex.open(DataHome(tmp_path), embedder)
    index.sync(filled)
    question = embedder.embed(["How long until AI agents work?"])[0]
    assert ids(index.query(question, k=4))[:2] in (["tweet:1", "tweet:3"], ["tweet:3", "tweet:1"])
    assert ids(index.query(question, k=4, own_only=True))[0] == "tweet:1"
    assert "tweet:3" not in ids(index.query(question, k=4, own_only=True))
    assert set(ids(index.query(question, k=4, since="2025-01-01"))) == {"tweet:2", "tweet:3"}
    assert ids(index.query(question, k=4, kind="blog")) == ["blog:soup"]
    assert set(ids(index.query(question, k=4, until="2023-12-31"))) == {"tweet:1"}


def test_an_index_refuses_vectors_from_another_embedder(filled, embedder, tmp_path):
    VectorIndex.open(DataHome(tmp_path), embedder).sync(filled)

    class Other:
        name, dim = "another-model", 384

    with pytest.raises(VectorIndexError, match="ktp build --reindex"):
        VectorIndex.open(DataHome(tmp_path), Other())


def test_a_failed_rebuild_leaves_the_good_index_live(filled, embedder, tmp_path):
    index = VectorIndex.open(DataHome(tmp_path), embedder)
    index.sync(filled)
    live = index.collection.name

    class Failing:
        name, dim, calls = embedder.name, 384, 0

        def embed(self, texts):
            raise RuntimeError("out of memory halfway")

    broken = VectorIndex.open(DataHome(tmp_path), Failing())
    with pytest.raises(RuntimeError):
        broken.rebuild(filled)
    reopened = VectorIndex.open(DataHome(tmp_path), embedder)
    assert reopened.collection.name == live and reopened.count() == 4
    assert [c.name for c in reopened.client.list_collections()] == [live]
    assert reopened.rebuild(filled)["embedded"] == 4
    assert [c.name for c in reopened.client.list_collections()] == [reopened.collection.name]


def test_a_chroma_server_when_configured(filled, embedder, tmp_path, monkeypatch):
    chroma = Path(sys.executable).parent / "chroma"
    port = free_port()
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    server = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "server-data"),
                               "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        monkeypatch.setenv("KTP_CHROMA_URL", f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while True:
            try:
                index = VectorIndex.open(DataHome(tmp_path / "home"), embedder)
                break
            except VectorIndexError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        assert index.sync(filled)["embedded"] == 4
        question = embedder.embed(["tokenizers and odd behaviour"])[0]
        assert ids(index.query(question, k=1)) == ["tweet:2"]
        assert not (tmp_path / "home" / "chroma").exists()  # nothing embedded was used
        assert len(list((tmp_path / "home" / "vectors").iterdir())) == 1  # its exact table
        exact = index.query(question, k=3, own_only=True)
        monkeypatch.setattr(index, "_exact", lambda: None)  # the server's HNSW and filters
        assert [h.chunk_id for h in index.query(question, k=3, own_only=True)] == \
            [h.chunk_id for h in exact]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_no_server_at_the_configured_url_says_what_to_do(embedder, tmp_path):
    with pytest.raises(VectorIndexError, match="chroma run --path DIR --port N"):
        VectorIndex.open(DataHome(tmp_path), embedder, url=f"http://127.0.0.1:{free_port()}")


def test_reindexing_with_another_embedder_replaces_the_index_only_when_done(
        filled, embedder, tmp_path):
    from graph.pipeline import build_index

    build_index(DataHome(tmp_path), filled, embedder)

    class Shorter:
        name, dim = "another-model", 3

        def embed(self, texts):
            import numpy as np
            return np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32)

    build_index(DataHome(tmp_path), filled, Shorter(), reindex=True)
    index = VectorIndex.open(DataHome(tmp_path), Shorter())
    assert index.count() == 4 and len(index.client.list_collections()) == 1
    with pytest.raises(VectorIndexError):
        VectorIndex.open(DataHome(tmp_path), embedder)  # now the other way round


# ---- exactness, filters, the exact-search table -------------------------------------------------
class RandomVectors:
    """A stand-in embedder: every text gets a random unit vector of its own (seeded by the
    text). Random vectors in 384 dimensions are the hard case for an HNSW graph."""
    name, dim = "random-384", 384

    def __init__(self):
        self.embedded = 0

    def embed(self, texts):
        self.embedded += len(texts)
        return np.stack([random_vector(t) for t in texts])


def random_vector(text: str, dim: int = 384) -> np.ndarray:
    rng = np.random.default_rng(int(hashlib.sha1(text.encode()).hexdigest()[:12], 16))
    v = rng.normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def many_documents(n: int) -> list[Document]:
    """n one-passage documents of two kinds over ten years, some retweets, some his."""
    return [Document(id=f"{'tweet' if i % 3 else 'blog'}:{i}", kind="tweet" if i % 3 else "blog",
                     title=f"t{i}", date=f"{2015 + i % 10}-0{1 + i % 9}-1{i % 10}",
                     text=f"passage number {i} about topic {i % 17}",
                     author="Andrej Karpathy" if i % 4 == 0 else "someone else",
                     meta={"is_retweet": i % 5 == 0}) for i in range(n)]


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """2,000 passages with random vectors, synced into an index (built once for the module)."""
    from corpus.store import CorpusStore
    from graph.vector_index import _chunk_rows

    root = tmp_path_factory.mktemp("big")
    store = CorpusStore(root / "corpus.sqlite3", subject="Andrej Karpathy")
    store.add_many(many_documents(2000))
    index = VectorIndex.open(DataHome(root / "home"), RandomVectors())
    index.sync(store)
    rows = _chunk_rows(store)
    ids = sorted(rows)
    vectors = np.stack([random_vector(rows[c]["text"]) for c in ids])
    yield index, ids, vectors, [rows[c]["meta"] for c in ids]
    store.close()


def exact_top(ids, vectors, metas, q, k, keep=lambda m: True) -> list[str]:
    """The reference: rank every passage by cosine, then keep those that pass."""
    order = np.argsort(-(vectors @ q), kind="stable")
    return [ids[i] for i in order if keep(metas[i])][:k]


def queries(n: int = 20) -> np.ndarray:
    rng = np.random.default_rng(11)
    q = rng.normal(size=(n, 384)).astype(np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def test_queries_return_the_exact_top_k_where_hnsw_defaults_miss_some(big, tmp_path):
    import chromadb
    from chromadb.config import Settings

    index, ids, vectors, metas = big
    for q in queries():
        assert [h.chunk_id for h in index.query(q, k=10)] == exact_top(ids, vectors, metas, q, 10)
    hit = index.query(queries()[0], k=1)[0]
    assert hit.similarity == pytest.approx(float(vectors[ids.index(hit.chunk_id)] @ queries()[0]),
                                           abs=1e-5)
    # The same vectors in a collection at Chroma's default settings miss part of the top 10.
    client = chromadb.PersistentClient(path=str(tmp_path / "defaults"),
                                       settings=Settings(anonymized_telemetry=False))
    defaults = client.create_collection("defaults", embedding_function=None,
                                        configuration={"hnsw": {"space": "cosine"}})
    for start in range(0, len(ids), 1000):
        defaults.add(ids=ids[start:start + 1000], embeddings=vectors[start:start + 1000])
    missed = sum(len(set(exact_top(ids, vectors, metas, q, 10)) - set(
        defaults.query(query_embeddings=[q], n_results=10)["ids"][0])) for q in queries())
    assert missed > 0


FILTERS = [
    ({"kind": "blog"}, lambda m: m["kind"] == "blog"),
    ({"since": "2020-01-01"}, lambda m: m["ts"] >= 20200101),
    ({"until": "2017-12-31"}, lambda m: m["ts"] <= 20171231),
    ({"own_only": True}, lambda m: m["own"]),
    ({"his": True}, lambda m: m["his"]),
    ({"his": False}, lambda m: not m["his"]),
    ({"doc_ids": ["tweet:1", "blog:3", "tweet:500", "blog:1998", "nobody:0"]},
     lambda m: m["doc_id"] in {"tweet:1", "blog:3", "tweet:500", "blog:1998"}),
    ({"kind": "tweet", "since": "2016-01-01", "until": "2022-06-30", "own_only": True,
      "his": True}, lambda m: m["kind"] == "tweet" and 20160101 <= m["ts"] <= 20220630
     and m["own"] and m["his"]),
    ({"kind": "paper"}, lambda m: False),
]


@pytest.mark.parametrize("filters,keep", FILTERS, ids=[str(f) for f, _ in FILTERS])
def test_filters_give_the_exact_ranking_filtered(big, filters, keep):
    index, ids, vectors, metas = big
    for q in queries(5):
        got = [h.chunk_id for h in index.query(q, k=10, **filters)]
        assert got == exact_top(ids, vectors, metas, q, 10, keep)


def test_past_the_exact_size_chroma_answers_the_same(filled, embedder, tmp_path, monkeypatch):
    """Past EXACT_MAX passages Chroma answers (a filter that keeps few rows still exactly);
    on a corpus this small its HNSW search is exact, so both ways agree."""
    import graph.vector_index as vi

    index = VectorIndex.open(DataHome(tmp_path), embedder)
    index.sync(filled)
    question = embedder.embed(["How long until AI agents work?"])[0]
    asks = [{}, {"own_only": True}, {"since": "2025-01-01"}, {"kind": "blog"},
            {"until": "2023-12-31"}, {"doc_ids": ["tweet:2", "blog:soup"]}, {"his": False}]
    exact = [index.query(question, k=3, **a) for a in asks]
    monkeypatch.setattr(vi, "EXACT_MAX", 0)
    assert [index.query(question, k=3, **a) for a in asks] == exact
    monkeypatch.setattr(index, "_exact", lambda: None)  # no table: Chroma's own filters
    found = [index.query(question, k=3, **a) for a in asks]
    assert [[h.chunk_id for h in hits] for hits in found] == \
        [[h.chunk_id for h in hits] for hits in exact]


def test_the_table_follows_the_corpus_and_is_read_back_from_chroma_when_lost(store, tmp_path):
    import shutil

    store.add_many(many_documents(40))
    embedder = RandomVectors()
    home = DataHome(tmp_path / "home")
    index = VectorIndex.open(home, embedder)
    index.sync(store)
    q = queries(1)[0]
    before = index.query(q, k=5)
    store.remove(before[0].doc_id)
    store.add(Document(id="tweet:new", kind="tweet", title="t", text="a passage added later",
                       date="2024-01-01"))
    assert index.sync(store)["embedded"] == 1
    after = [h.chunk_id for h in index.query(q, k=40)]
    assert before[0].chunk_id not in after and "tweet:new#0" in after and len(after) == 40
    assert len(list((home.root / "vectors").iterdir())) == 1  # the old table is gone
    # An index from before tables existed (or with its table deleted): Chroma answers, and
    # the next sync writes the table from the vectors Chroma holds, embedding nothing.
    shutil.rmtree(home.root / "vectors")
    reopened = VectorIndex.open(home, embedder)
    assert [h.chunk_id for h in reopened.query(q, k=3)] == after[:3]
    embedder.embedded = 0
    assert reopened.sync(store)["embedded"] == 0 and embedder.embedded == 0
    assert [h.chunk_id for h in reopened.query(q, k=40)] == after
    assert reopened.rebuild(store)["embedded"] == 40
    assert len(list((home.root / "vectors").iterdir())) == 1


def test_collections_search_wider_than_chromas_defaults(filled, embedder, tmp_path):
    from graph.vector_index import HNSW

    index = VectorIndex.open(DataHome(tmp_path), embedder)
    config = index.collection.configuration_json["hnsw"]
    assert (config["max_neighbors"], config["ef_search"]) == (HNSW["max_neighbors"],
                                                             HNSW["ef_search"])
    index.collection.modify(configuration={"hnsw": {"ef_search": 100}})  # as made before
    index.sync(filled)
    widened = index.client.get_collection(index.collection.name).configuration_json["hnsw"]
    assert widened["ef_search"] == HNSW["ef_search"]


def test_a_build_with_nothing_new_does_not_open_the_index(store, tmp_path, monkeypatch):
    from graph.pipeline import build_index

    store.add_many(many_documents(30))
    embedder, home = RandomVectors(), DataHome(tmp_path / "home")
    assert build_index(home, store, embedder)["embedded"] == 30

    def never(*args, **kwargs):
        raise AssertionError("the index was opened")

    with monkeypatch.context() as m:
        m.setattr(VectorIndex, "open", never)
        assert build_index(home, store, embedder) == {
            "embedded": 0, "copied": 0, "removed": 0, "relabelled": 0, "unchanged": 30,
            "total": 30}
    store.add(Document(id="tweet:more", kind="tweet", title="t", text="one more passage"))
    assert build_index(home, store, embedder)["embedded"] == 1
    store.remove("tweet:more")  # removed: the count and fingerprint say so
    assert build_index(home, store, embedder)["removed"] == 1


def test_answering_from_an_index_in_step_never_imports_chroma(filled, embedder, tmp_path):
    """Chroma is for writing (and for past EXACT_MAX passages): a cold `ktp ask` over an index
    whose exact-search table is in step answers without importing it."""
    home = DataHome(tmp_path)
    VectorIndex.open(home, embedder).sync(filled)
    script = (
        "import sys\n"
        "from corpus.home import DataHome\n"
        "from graph.pipeline import open_index\n"
        "from pathlib import Path\n"
        f"index, embedder = open_index(DataHome(Path({str(tmp_path)!r})))\n"
        "hits = index.query(embedder.embed(['reliable agents'])[0], 2, his=None)\n"
        "assert hits and index.span_vectors(hits[0].chunk_id) is not None\n"
        "print('chromadb' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_a_sync_knows_what_the_index_holds_from_its_table(store, tmp_path):
    """After each sync the exact-search table holds every row's whole metadata, the same as
    Chroma's, so the next sync reads it there (Chroma's copy of 100k rows' metadata is 14 s);
    when the two disagree in size (a sync killed after writing Chroma), Chroma is read and a
    row only it holds is removed."""
    embedder = RandomVectors()
    home = DataHome(tmp_path / "home")
    store.add_many(many_documents(30))
    index = VectorIndex.open(home, embedder)
    index.sync(store)
    store.remove("tweet:3")
    store.add(Document(id="tweet:new", kind="tweet", title="t", text="a passage added later",
                       date="2024-01-01", meta={"likes": 7, "is_reply": True}))
    index.sync(store)
    table = index._exact()
    assert table.all_meta() == index._indexed_meta()
    # A row that reached Chroma but not the table, its document gone since.
    index.collection.upsert(ids=["tweet:ghost#0"], embeddings=[queries(1)[0].tolist()],
                            metadatas=[{"doc_id": "tweet:ghost", "kind": "tweet", "ts": 0,
                                        "h": "0" * 16, "own": True, "reply": False,
                                        "likes": 0, "his": False}])
    store.remove("tweet:4")
    result = index.sync(store)
    assert result["removed"] == 2 and index.count() == len(index._exact())
    assert "tweet:ghost#0" not in index._indexed_meta()
