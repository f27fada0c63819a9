"""The MiniLM encoder as an ONNX graph, built in memory from the safetensors weights, for
onnxruntime: the same computation as `graph.embedder`'s numpy forward pass, but with exact Erf,
fused kernels and both cores on the element-wise work (which is what limits numpy on 256-token
chunks). The layers are written in onnxruntime's fused transformer operators (Attention,
BiasGelu, SkipLayerNormalization): int8, that embeds about 1.25x as many real passages a
second as the same layers in standard operators, with the same vectors (bench/encoder_fusion.py).

Inputs: input_ids int64 [batch, tokens], attention_mask float32 [batch, tokens].
Output: hidden float32 [batch, tokens, 384]; pooling and normalisation stay in numpy.
"""
from __future__ import annotations

import os

import numpy as np

HEADS, HEAD_DIM, HIDDEN, LAYERS = 12, 32, 384, 6
MS = "com.microsoft"  # onnxruntime's own operators (contrib ops)
EPS = 1e-12


def build_model(w: dict[str, np.ndarray], fused: bool = True) -> bytes:
    """A serialized ONNX model. `w`: the tensors, Linear weights already transposed (in, out).
    `fused`: the layers in onnxruntime's fused transformer operators (the fast graph), else in
    standard ONNX operators (the same computation written out, kept as the reference)."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []

    def const(name: str, value) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(kind: str, inputs: list[str], out: str, **attrs) -> str:
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    for name, array in w.items():  # (fused, Q, K and V go in as one packed tensor instead)
        if name != "embeddings.position_ids" and not (fused and ".attention.self." in name):
            const(name, array.astype(np.float32))

    def linear(x: str, name: str, out: str) -> str:
        return op("Add", [op("MatMul", [x, name + ".weight"], out + "_mm"), name + ".bias"], out)

    def norm(x: str, name: str, out: str) -> str:
        return op("LayerNormalization", [x, name + ".weight", name + ".bias"], out,
                  axis=-1, epsilon=1e-12)

    # embeddings: word + position (first T rows) + token type 0
    length = op("Gather", [op("Shape", ["input_ids"], "ids_shape"), const("one", np.int64(1))],
                "length")
    positions = op("Slice", ["embeddings.position_embeddings.weight",
                             const("zero_1d", np.array([0], np.int64)),
                             op("Unsqueeze", [length, const("axis0", np.array([0], np.int64))],
                                "length_1d")], "positions")
    x = op("Add", [op("Add", [op("Gather", ["embeddings.word_embeddings.weight", "input_ids"],
                                 "words"), positions], "wp"),
                   const("type0", w["embeddings.token_type_embeddings.weight"][0])], "emb")
    x = norm(x, "embeddings.LayerNorm", "x0")
    if fused:
        x = _fused_layers(w, x, op, const)
    else:
        x = _plain_layers(x, op, const, linear, norm)
    graph = helper.make_graph(
        nodes, "minilm",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.FLOAT, ["batch", "tokens"])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "tokens", HIDDEN])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid(MS, 1)])
    model.ir_version = 8
    return model.SerializeToString()


def session(model: bytes, threads: int | None = None):
    """One thread per core: on this 2-core machine two threads embed 1.75x as many passages a
    second as one, and turning onnxruntime's spinning off changes neither that nor the numpy
    work after it (bench/encoder_threads.py)."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")  # onnxruntime phones home otherwise
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _fused_layers(w: dict[str, np.ndarray], x: str, op, const) -> str:
    """The six layers in onnxruntime's fused operators, which its transformer optimizer would
    produce from an exported BERT but cannot find in this hand-built graph (its patterns are
    the PyTorch exporter's): per layer one Attention (Q, K and V as one packed product, the
    heads split and merged inside the kernel, no Transpose or Reshape), a BiasGelu (exact erf
    GELU with the bias add, one pass over the largest activation instead of six), and two
    SkipLayerNormalization (dense bias + residual + LayerNorm in one pass). The attention mask
    is the raw 0/1 mask as int32; padded keys get -10000 before the softmax (exp underflows
    to 0 as with -1e9). Dynamic int8 quantization turns Attention into QAttention and every
    MatMul into an integer product, as before."""
    mask = op("Cast", ["attention_mask"], "mask_i32", to=6)  # TensorProto.INT32
    for n in range(LAYERS):
        p, t = f"encoder.layer.{n}.", f"l{n}_"
        a = p + "attention.self."
        qkv_w = const(t + "qkv.weight", np.concatenate(
            [w[a + m + ".weight"] for m in ("query", "key", "value")], axis=1))
        qkv_b = const(t + "qkv.bias", np.concatenate(
            [w[a + m + ".bias"] for m in ("query", "key", "value")]))
        context = op("Attention", [x, qkv_w, qkv_b, mask], t + "context", domain=MS,
                     num_heads=HEADS)
        attended = op("MatMul", [context, p + "attention.output.dense.weight"], t + "attn_mm")
        x = op("SkipLayerNormalization", [attended, x, p + "attention.output.LayerNorm.weight",
                                          p + "attention.output.LayerNorm.bias",
                                          p + "attention.output.dense.bias"], t + "x1",
               domain=MS, epsilon=EPS)
        h = op("MatMul", [x, p + "intermediate.dense.weight"], t + "inter_mm")
        gelu = op("BiasGelu", [h, p + "intermediate.dense.bias"], t + "gelu", domain=MS)
        out = op("MatMul", [gelu, p + "output.dense.weight"], t + "out_mm")
        x = op("SkipLayerNormalization", [out, x, p + "output.LayerNorm.weight",
                                          p + "output.LayerNorm.bias", p + "output.dense.bias"],
               "hidden" if n == LAYERS - 1 else t + "x2", domain=MS, epsilon=EPS)
    return x


def _plain_layers(x, op, const, linear, norm) -> str:
    """The six layers in standard ONNX operators: the computation written out (the reference)."""
    # additive mask: 0 for real tokens, -1e9 for padding, shaped [batch, 1, 1, tokens]
    bias = op("Mul", [op("Sub", [const("f1", np.float32(1)), "attention_mask"], "inv_mask"),
                      const("neg", np.float32(-1e9))], "mask_bias_2d")
    bias = op("Unsqueeze", [bias, const("axes12", np.array([1, 2], np.int64))], "mask_bias")
    split = const("split_shape", np.array([0, 0, HEADS, HEAD_DIM], np.int64))
    merge = const("merge_shape", np.array([0, 0, HIDDEN], np.int64))
    scale = const("scale", np.float32(1 / np.sqrt(HEAD_DIM)))
    for n in range(LAYERS):
        p, t = f"encoder.layer.{n}.", f"l{n}_"
        heads = {m: op("Reshape", [linear(x, p + f"attention.self.{m}", t + m), split],
                       t + m + "_h") for m in ("query", "key", "value")}
        q = op("Transpose", [heads["query"]], t + "q", perm=[0, 2, 1, 3])
        k = op("Transpose", [heads["key"]], t + "k", perm=[0, 2, 3, 1])
        v = op("Transpose", [heads["value"]], t + "v", perm=[0, 2, 1, 3])
        scores = op("Add", [op("Mul", [op("MatMul", [q, k], t + "qk"), scale], t + "qk_s"),
                            bias], t + "scores")
        probs = op("Softmax", [scores], t + "probs", axis=-1)
        context = op("Reshape", [op("Transpose", [op("MatMul", [probs, v], t + "pv")],
                                    t + "pv_t", perm=[0, 2, 1, 3]), merge], t + "context")
        attended = linear(context, p + "attention.output.dense", t + "attn")
        x = norm(op("Add", [attended, x], t + "res1"), p + "attention.output.LayerNorm",
                 t + "x1")
        h = linear(x, p + "intermediate.dense", t + "inter")
        erf = op("Erf", [op("Mul", [h, const(t + "rsqrt2", np.float32(1 / np.sqrt(2)))],
                            t + "h_s")], t + "erf")
        gelu = op("Mul", [op("Mul", [h, const(t + "half", np.float32(0.5))], t + "h_half"),
                          op("Add", [erf, const(t + "f1b", np.float32(1))], t + "erf1")],
                  t + "gelu")
        out = linear(gelu, p + "output.dense", t + "out")
        x = norm(op("Add", [out, x], t + "res2"), p + "output.LayerNorm",
                 "hidden" if n == LAYERS - 1 else t + "x2")
    return x
