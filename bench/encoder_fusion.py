"""The fused encoder graph against the same layers in standard ONNX operators, both int8, on
the same real passages in the same process.

    uv run python bench/encoder_fusion.py --home H [--passages 192] [--rounds 3]

The graphs (graph/minilm_onnx.py, `fused=True` and `fused=False`, each quantized as the build
quantizes it) run interleaved batch by batch, so a busy machine slows them alike; the figure is
the median round of each and their ratio. Fidelity, for both, against the plain fp32 graph (the
reference, at sentence-transformers' vectors): the cosine of every passage's vector (mean and
lowest) and how many of each passage's 10 nearest passages are the reference's 10 nearest.
Also the cosine between the two int8 graphs (an index embedded partly with each), and the
fused graph on batches made by character length (how the build batched before) against batches
made by token count.

Measured on the shared 2-core machine (load 3-5, 128 passages, 3 rounds): fused 1.18x plain
(1.11-1.26x over four runs); to fp32 both at cosine 0.992 mean, 0.976 lowest, 9.1 of 10 nearest
shared; the two int8 graphs at cosine 0.9987 mean, 0.992 lowest.
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


def batches(texts: list[str], by_tokens: bool = True, size: int = 32):
    """Sorted by token count (as the build does now; else by characters, as it did) and
    padded to the longest of each batch."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(bundled_model_dir() / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=256)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    texts = sorted(texts, key=lambda t: len(tokenizer.encode(t).ids) if by_tokens else len(t))
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
    texts = sample(DataHome.resolve(args.home), args.passages)
    feeds, by_chars = batches(texts), batches(texts, by_tokens=False)
    count = sum(len(ids) for ids, _ in feeds)
    padding = {name: 1 - sum(m.sum() for _, m in f) / sum(m.size for _, m in f)
               for name, f in (("tokens", feeds), ("characters", by_chars))}
    w = linear_weights(read_safetensors(bundled_model_dir() / "model.safetensors"))
    reference = embed(session(build_model(w, fused=False)), feeds)
    graphs = {"plain int8": session(quantize(build_model(w, fused=False))),
              "fused int8": session(quantize(build_model(w)))}
    # Interleaved batch by batch (each graph runs batch i, then the next batch), so that a
    # change in the machine's load falls on all alike; batch i by characters holds texts of
    # about the length of batch i by tokens (both are sorted).
    runs = {"plain int8": (graphs["plain int8"], feeds), "fused int8": (graphs["fused int8"], feeds),
            "by characters": (graphs["fused int8"], by_chars)}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        spent = dict.fromkeys(runs, 0.0)
        for i in range(len(feeds)):
            for name, (model, batches_of) in runs.items():
                start = time.perf_counter()
                embed(model, batches_of[i:i + 1])
                spent[name] += time.perf_counter() - start
        for name in runs:
            times[name].append(spent[name])
    vectors = {name: embed(model, feeds) for name, model in graphs.items()}
    near = nearest(reference)
    print(f"{count} real passages, median of {args.rounds} rounds, interleaved batch by batch")
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
    sorting = statistics.median(times["by characters"]) / statistics.median(times["fused int8"])
    print(f"batches by token count: {100 * padding['tokens']:.1f} % padding tokens, "
          f"{sorting:.2f}x batches by characters ({100 * padding['characters']:.1f} %)")


if __name__ == "__main__":
    main()
