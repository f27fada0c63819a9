"""The MiniLM ONNX graphs, built once and kept: in this process, and on disk in the data home.

    model = compiled_model(model_dir, "int8")    # bytes of the ONNX model, ready for a session

Building the fp32 graph from the safetensors takes about a second and quantizing it to int8
a few more; a cold `ktp ask` should pay neither. The file is named by what it was made from
(the weights file's size and modification time, the graph builder's version, the variant), so
new weights or a new builder make a new file and a stale one is never used.

int8 is dynamic quantization with per-channel weight scales (onnxruntime `quantize_dynamic`):
about 1.5x faster on CPU, with vectors at cosine ~0.99 to fp32. Per-tensor scales are faster
still but drift (cosine down to 0.81), so they are not offered. A freshly quantized graph is
checked against fp32 on fixed sentences before it is kept (PARITY); if it fails, the int8
variant is refused with that reason rather than silently giving other vectors.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

from corpus.home import keep_quietly

BUILDER_VERSION = 2  # bump when graph.minilm_onnx.build_model changes what it builds (2: fused)
VARIANTS = ("fp32", "int8")
PARITY = 0.98  # the lowest cosine between an int8 and the fp32 vector of a check sentence
CHECK_SENTENCES = (
    "Neural networks are trained by gradient descent on a loss.",
    "Agents will take about a decade to really work.",
    "Soup with leeks and potatoes is good in winter.",
    "The tokenizer splits text into pieces before the model sees it.",
    "a",
)
_MEMORY: dict[tuple[str, str], bytes] = {}


class ParityError(RuntimeError):
    """The quantized graph does not give the fp32 graph's vectors closely enough."""


def compiled_model(model_dir: Path, variant: str, cache_dir: Path | None = None,
                   tokenizer=None) -> bytes:
    """The serialized ONNX model of `variant`, from memory, the disk cache, or built now."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown MiniLM variant {variant!r}; use one of {', '.join(VARIANTS)}")
    weights = Path(model_dir) / "model.safetensors"
    key = (str(weights), variant)
    if key in _MEMORY:
        return _MEMORY[key]
    path = _cache_file(weights, variant, cache_dir)
    model = _read(path)
    if model is None:
        model = _build(weights, variant, tokenizer)
        _write(path, model)
    _MEMORY[key] = model
    return model


def _build(weights: Path, variant: str, tokenizer) -> bytes:
    from graph.embedder import linear_weights, read_safetensors
    from graph.minilm_onnx import build_model

    fp32 = build_model(linear_weights(read_safetensors(weights)))
    _MEMORY[(str(weights), "fp32")] = fp32
    if variant == "fp32":
        return fp32
    int8 = quantize(fp32)
    if tokenizer is not None:
        check_parity(fp32, int8, tokenizer)
    return int8


def quantize(model: bytes) -> bytes:
    """Dynamic int8 quantization, per channel, of every MatMul's weights."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # it advises "pre-processing" on every call
    try:
        with tempfile.TemporaryDirectory(prefix="ktp-quantize-") as folder:
            source, target = Path(folder) / "fp32.onnx", Path(folder) / "int8.onnx"
            source.write_bytes(model)
            # onnx's shape inference does not know onnxruntime's fused operators, so the
            # tensors after them have no type for the quantizer: they are all float32 here
            quantize_dynamic(str(source), str(target), per_channel=True,
                             weight_type=QuantType.QInt8,
                             extra_options={"DefaultTensorType": 1})  # TensorProto.FLOAT
            return target.read_bytes()
    finally:
        logging.getLogger().setLevel(quiet)


def check_parity(fp32: bytes, int8: bytes, tokenizer) -> float:
    """The lowest cosine between the two graphs' vectors of CHECK_SENTENCES; ParityError
    below PARITY."""
    from graph.embedder import _padded, pooled_vectors
    from graph.minilm_onnx import session

    ids, mask = _padded([e.ids for e in tokenizer.encode_batch(list(CHECK_SENTENCES))])
    a, b = (pooled_vectors(session(m).run(["hidden"], {"input_ids": ids,
                                                        "attention_mask": mask})[0], mask)
            for m in (fp32, int8))
    lowest = float((a * b).sum(1).min())
    if lowest < PARITY:
        raise ParityError(f"the int8 encoder's vectors are too far from fp32's here (cosine "
                          f"{lowest:.3f} < {PARITY})")
    return lowest


def _cache_file(weights: Path, variant: str, cache_dir: Path | None) -> Path | None:
    folder = cache_dir or _default_cache_dir()
    if folder is None:
        return None
    try:
        stat = weights.stat()
    except OSError:
        return None
    made_from = f"{weights.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{BUILDER_VERSION}|{variant}"
    digest = hashlib.sha256(made_from.encode()).hexdigest()[:16]
    return Path(folder) / f"minilm-{variant}-{digest}.onnx"


def _default_cache_dir() -> Path | None:
    """`KTP_MODEL_CACHE`, else `models/` in the data home."""
    if os.environ.get("KTP_MODEL_CACHE"):
        return Path(os.environ["KTP_MODEL_CACHE"]).expanduser()
    try:
        from corpus.home import DataHome

        return DataHome.resolve(None).root / "models"
    except Exception:  # noqa: BLE001 - no usable data home: build in memory, keep nothing
        return None


def _read(path: Path | None) -> bytes | None:
    try:
        return path.read_bytes() if path and path.is_file() else None
    except OSError:
        return None


def _write(path: Path | None, model: bytes) -> None:
    if path is not None:
        keep_quietly(path, model)
