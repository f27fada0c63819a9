"""The local MiniLM embedder against reference vectors computed once with sentence-transformers
(torch, in a throwaway environment): tests/fixtures/minilm_reference.json records the versions."""
import json
from pathlib import Path

import numpy as np
import pytest

from graph.embedder import EmbedderError, MiniLMEmbedder, load_embedder

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "minilm_reference.json").read_text())


@pytest.fixture(scope="module")
def onnx_embedder():
    return MiniLMEmbedder()


@pytest.mark.parametrize("backend", ["onnx", "numpy"])
def test_vectors_match_the_reference_implementation(backend, onnx_embedder):
    embedder = onnx_embedder if backend == "onnx" else MiniLMEmbedder(backend="numpy")
    vectors = embedder.embed(REFERENCE["sentences"])
    assert vectors.shape == (6, 384) and vectors.dtype == np.float32
    # includes the empty string, unicode and punctuation, and a text over 256 tokens (truncated)
    assert np.abs(vectors - np.array(REFERENCE["vectors"])).max() < 1e-4


def test_padding_and_batching_do_not_change_a_vector(onnx_embedder):
    texts = ["short", "a somewhat longer sentence about tiny language models and data"] * 3
    batched = onnx_embedder.embed(texts)
    alone = np.vstack([onnx_embedder.embed([t]) for t in texts])
    assert np.abs(batched - alone).max() < 1e-5
    assert np.allclose(np.linalg.norm(batched, axis=1), 1, atol=1e-5)


def test_meaning_is_closer_than_unrelated_text(onnx_embedder):
    a, b, c = onnx_embedder.embed(["Agents will take about ten years to really work.",
                                   "It will be a decade before AI agents are reliable.",
                                   "My favourite soup has leeks and potatoes in it."])
    assert a @ b > 0.5 > a @ c


def test_a_wrong_embedder_choice_says_how_to_fix_it():
    with pytest.raises(EmbedderError, match="use minilm, hf:<model name>"):
        load_embedder("nonsense:thing")
    try:
        import llama_index.embeddings.huggingface  # noqa: F401
    except ImportError:
        with pytest.raises(EmbedderError, match="install it with"):
            load_embedder("hf:some/model")


def test_any_llama_index_embedding_model_can_be_used_but_not_mixed(tmp_path, store):
    from llama_index.core.embeddings import MockEmbedding

    from corpus.home import DataHome
    from corpus.model import Document
    from graph.embedder import LlamaIndexEmbedder
    from graph.vector_index import VectorIndex, VectorIndexError

    other = LlamaIndexEmbedder(MockEmbedding(embed_dim=8), "mock:8")
    assert other.dim == 8
    vectors = other.embed(["one", "two"])
    assert vectors.shape == (2, 8) and np.allclose(np.linalg.norm(vectors, axis=1), 1)
    store.add(Document(id="doc:a", kind="doc", title="A", text="some words"))
    VectorIndex.open(DataHome(tmp_path), other).sync(store)
    with pytest.raises(VectorIndexError, match="built with the embedder 'mock:8'"):
        VectorIndex.open(DataHome(tmp_path), MiniLMEmbedder())
