"""The fused encoder graph (onnxruntime's Attention, BiasGelu and SkipLayerNormalization)
computes what the same layers written in standard ONNX operators compute, padding included."""
import numpy as np
import pytest


@pytest.fixture(scope="module")
def parts():
    from tokenizers import Tokenizer

    from graph.embedder import bundled_model_dir, linear_weights, read_safetensors

    folder = bundled_model_dir()
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=256)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer, linear_weights(read_safetensors(folder / "model.safetensors"))


def _hidden(model: bytes, tokenizer, texts):
    from graph.minilm_onnx import session

    encodings = tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
    return session(model).run(["hidden"], {"input_ids": ids, "attention_mask": mask})[0], mask


def test_the_fused_graph_gives_the_plain_graphs_token_states(parts):
    from graph.minilm_onnx import build_model

    tokenizer, w = parts
    texts = ["a", "Tokenization is at the heart of much weirdness of LLMs. " * 3,
             "word " * 300]  # one padded to the longest, one truncated at 256 tokens
    fused, mask = _hidden(build_model(w), tokenizer, texts)
    plain, _ = _hidden(build_model(w, fused=False), tokenizer, texts)
    real = mask.astype(bool)  # the states of padding tokens are never read
    assert fused.shape == plain.shape == (3, 256, 384)
    assert np.abs(fused[real] - plain[real]).max() < 1e-3


def test_the_fused_graph_is_quantized_into_integer_kernels(parts):
    import onnx

    from graph.minilm_cache import quantize
    from graph.minilm_onnx import build_model

    _, w = parts
    ops = {n.op_type for n in onnx.load_from_string(quantize(build_model(w))).graph.node}
    assert {"QAttention", "MatMulInteger", "BiasGelu", "SkipLayerNormalization"} <= ops
    assert "Attention" not in ops and "MatMul" not in ops  # every product is in int8
