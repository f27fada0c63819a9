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
    return MiniLMEmbedder(variant="fp32")


@pytest.mark.parametrize("backend", ["onnx", "numpy"])
def test_vectors_match_the_reference_implementation(backend, onnx_embedder):
    embedder = onnx_embedder if backend == "onnx" else MiniLMEmbedder(backend="numpy")
    vectors = embedder.embed(REFERENCE["sentences"])
    assert vectors.shape == (6, 384) and vectors.dtype == np.float32
    # includes the empty string, unicode and punctuation, and a text over 256 tokens (truncated)
    assert np.abs(vectors - np.array(REFERENCE["vectors"])).max() < 1e-4


def test_the_int8_encoder_is_close_to_the_reference_and_is_the_default(tmp_path, monkeypatch):
    """Parity: every reference sentence within cosine 0.98 of sentence-transformers' vector
    (the empty text, which has no words to weigh, within 0.95)."""
    from graph import minilm_cache

    monkeypatch.setattr(minilm_cache, "_MEMORY", {})  # as in a fresh process
    int8 = load_embedder(None, cache_dir=tmp_path)
    assert int8.name == "all-MiniLM-L6-v2-int8" and load_embedder("minilm").name == int8.name
    assert load_embedder("minilm-fp32").name == "all-MiniLM-L6-v2"
    vectors = int8.embed(REFERENCE["sentences"])
    cosines = (vectors * np.array(REFERENCE["vectors"])).sum(1)
    words = [bool(t.strip()) for t in REFERENCE["sentences"]]
    assert cosines[words].min() >= 0.98 and cosines.min() >= 0.95, cosines
    assert [p.name.split("-")[1] for p in tmp_path.glob("minilm-*.onnx")] == ["int8"]


def test_the_compiled_graph_is_kept_on_disk_and_loaded_once_per_process(tmp_path, monkeypatch):
    from graph import minilm_cache

    monkeypatch.setattr(minilm_cache, "_MEMORY", {})
    built = []
    real = minilm_cache._build
    monkeypatch.setattr(minilm_cache, "_build", lambda *a: built.append(a[1]) or real(*a))
    first = MiniLMEmbedder(variant="int8", cache_dir=tmp_path).embed(["one sentence"])
    again = MiniLMEmbedder(variant="int8", cache_dir=tmp_path).embed(["one sentence"])
    assert built == ["int8"] and np.array_equal(first, again)  # the second came from memory
    monkeypatch.setattr(minilm_cache, "_MEMORY", {})  # a new process: from the file
    from_disk = MiniLMEmbedder(variant="int8", cache_dir=tmp_path).embed(["one sentence"])
    assert built == ["int8"] and np.array_equal(first, from_disk)


def test_a_quantized_graph_that_drifts_is_refused(tmp_path):
    from tokenizers import Tokenizer

    from graph.embedder import bundled_model_dir, linear_weights, read_safetensors
    from graph.minilm_cache import ParityError, check_parity
    from graph.minilm_onnx import build_model

    folder = bundled_model_dir()
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    w = linear_weights(read_safetensors(folder / "model.safetensors"))
    fp32 = build_model(w)
    w["encoder.layer.0.attention.self.query.weight"] *= 3  # a graph whose vectors drift
    with pytest.raises(ParityError, match="too far from fp32"):
        check_parity(fp32, build_model(w), tokenizer)


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
