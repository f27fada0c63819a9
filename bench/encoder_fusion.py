"""The fused encoder graph against the same layers in standard ONNX operators, both int8, on
the same real passages in the same process.

    uv run python bench/encoder_fusion.py --home H [--passages 192] [--rounds 3]

The graphs (graph/minilm_onnx.py, `fused=True` and `fused=False`, each quantized as the build
quantizes it) run in alternating rounds, so a busy machine slows them alike; the figure is the
median round of each and their ratio. Fidelity, for both, against the plain fp32 graph (the
reference, at sentence-transformers' vectors): the cosine of every passage's vector (mean and
lowest) and how many of each passage's 10 nearest passages are the reference's 10 nearest.
Also the cosine between the two int8 graphs (an index embedded partly with each).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from corpus.home import DataHome
from corpus.store import CorpusStore
from graph.embedder import bundled_model_dir, linear_weights, pooled_vectors, read_safetensors
from graph.minilm_cache import quantize
from graph.minilm_onnx import build_model, session


def sample(home: DataHome, n: int) -> list[str]:
    """A spread of the corpus's passages, as the index embeds them (title, then text)."""
    from graph.vector_index import _chunk_rows

    with CorpusStore(home.corpus_db) as store:
        rows = sorted(_chunk_rows(store).values(), key=lambda r: r["id"])
    rows = [r for r in rows if "copy_of" not in r]
    return [r["text"] for r in rows[::max(1, len(rows) // n)][:n]]


def batches(texts: list[str], size: int = 32):
    """Sorted by token count and padded to the longest of each batch, as the build does."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(bundled_model_dir() / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=256)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    texts = sorted(texts, key=lambda t: len(tokenizer.encode(t).ids))
    out = []
    for start in range(0, len(texts), size):
        encodings = tokenizer.encode_batch(texts[start:start + size])
        out.append((np.array([e.ids for e in encodings], dtype=np.int64),
                    np.array([e.attention_mask for e in encodings], dtype=np.float32)))
    return out


def embed(model, feeds) -> np.ndarray:
    return np.concatenate([pooled_vectors(model.run(["hidden"], {"input_ids": ids,
                                                                 "attention_mask": mask})[0],
                                          mask) for ids, mask in feeds])


def nearest(vectors: np.ndarray) -> np.ndarray:
    return np.argsort(-(vectors @ vectors.T), axis=1)[:, 1:11]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--passages", type=int, default=192)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    feeds = batches(sample(DataHome.resolve(args.home), args.passages))
    count = sum(len(ids) for ids, _ in feeds)
    w = linear_weights(read_safetensors(bundled_model_dir() / "model.safetensors"))
    reference = embed(session(build_model(w, fused=False)), feeds)
    graphs = {"plain int8": session(quantize(build_model(w, fused=False))),
              "fused int8": session(quantize(build_model(w)))}
    times: dict[str, list[float]] = {name: [] for name in graphs}
    vectors = {}
    for _ in range(args.rounds):
        for name, model in graphs.items():
            start = time.perf_counter()
            vectors[name] = embed(model, feeds)
            times[name].append(time.perf_counter() - start)
    near = nearest(reference)
    print(f"{count} real passages, median of {args.rounds} alternating rounds")
    for name in graphs:
        cos = (vectors[name] * reference).sum(1)
        shared = np.mean([len(set(a) & set(b)) for a, b in zip(near, nearest(vectors[name]))])
        print(f"  {name}  {count / statistics.median(times[name]):6.1f} passages/s   to fp32: "
              f"cosine mean {cos.mean():.4f}, lowest {cos.min():.4f}; top-10 shared "
              f"{shared:.1f} of 10")
    ratio = statistics.median(times["plain int8"]) / statistics.median(times["fused int8"])
    between = (vectors["plain int8"] * vectors["fused int8"]).sum(1)
    print(f"fused is {ratio:.2f}x plain; the two int8 graphs' vectors: cosine mean "
          f"{between.mean():.4f}, lowest {between.min():.4f}")


if __name__ == "__main__":
    main()
