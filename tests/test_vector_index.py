"""The Chroma vector index with the real MiniLM embedder: incremental sync, filters, refusing a
second embedder, safe rebuilds, and server mode against a real `chroma run` on 127.0.0.1."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
    assert index.sync(filled) == {"embedded": 4, "removed": 0, "relabelled": 0,
                                  "unchanged": 0, "total": 4}
    assert index.sync(filled)["embedded"] == 0
    filled.add(Document(id="blog:soup", kind="blog", title="Soup", date="2024-01-01",
                        text="A new recipe: tomato soup with basil."))
    assert index.sync(filled) == {"embedded": 1, "removed": 0, "relabelled": 0,
                                  "unchanged": 3, "total": 4}
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
