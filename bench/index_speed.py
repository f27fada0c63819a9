"""Embedding and index speed, with same-run references.

    uv run --group bench python bench/index_speed.py --home /tmp/ktp-eval [--chunks 600]

1. Embedding throughput on real passages (~250 tokens): the ONNX backend against the numpy
   forward pass of the same model (the reference), chunks per second and the ratio.
2. Index build and query latency on the same passages: our Chroma index against llama-index's
   plain VectorStoreIndex (in-memory, top-10 cosine) with the same embedder, as a peer.
3. `ktp build` on the home again with nothing changed (the no-op rebuild).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from corpus.home import DataHome
from corpus.store import CorpusStore
from graph.embedder import MiniLMEmbedder
from graph.vector_index import VectorIndex, _chunk_rows

HERE = Path(__file__).resolve().parent


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(t * 1000 for t in times)
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def llama_index_peer(texts: list[str], ids: list[str], embedder, questions: list[str]):
    from llama_index.core import VectorStoreIndex
    from llama_index.core.embeddings import BaseEmbedding
    from llama_index.core.schema import TextNode

    class Same(BaseEmbedding):  # our MiniLM behind llama-index's interface
        def _get_text_embedding(self, text):
            return embedder.embed([text])[0].tolist()

        def _get_text_embeddings(self, batch):
            return embedder.embed(batch).tolist()

        def _get_query_embedding(self, query):
            return self._get_text_embedding(query)

        async def _aget_query_embedding(self, query):
            return self._get_text_embedding(query)

    model = Same(embed_batch_size=64)
    nodes = [TextNode(text=t, id_=i) for t, i in zip(texts, ids)]
    index, build = timed(lambda: VectorStoreIndex(nodes, embed_model=model))
    retriever = index.as_retriever(similarity_top_k=10)
    times = [timed(lambda q=q: retriever.retrieve(q))[1] for q in questions]
    return build, percentiles(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, help="a home with realdata ingested and built")
    parser.add_argument("--chunks", type=int, default=600)
    args = parser.parse_args()
    home = DataHome.resolve(args.home)
    with CorpusStore(home.corpus_db) as store:
        rows = store.db.execute("SELECT c.id, d.title, c.text, d.kind FROM chunks c JOIN "
                                "documents d ON d.id = c.doc_id WHERE d.kind IN "
                                "('blog', 'transcript', 'readme') ORDER BY c.id").fetchall()
    step = max(1, len(rows) // args.chunks)
    rows = rows[::step][:args.chunks]
    ids, texts = [r[0] for r in rows], [f"{r[1]}\n{r[2]}" for r in rows]
    questions = [q["question"] for q in
                 yaml.safe_load((HERE / "eval_questions.yaml").read_text())["questions"]]

    onnx = MiniLMEmbedder()
    numpy_ref = MiniLMEmbedder(backend="numpy")
    sample = texts[:96]
    _, t_ref = timed(lambda: numpy_ref.embed(sample))
    _, t_onnx = timed(lambda: onnx.embed(sample))
    print(f"embedding {len(sample)} real passages (~250 tokens)")
    print(f"  numpy forward (reference) {len(sample) / t_ref:7.1f} chunks/s")
    print(f"  onnxruntime               {len(sample) / t_onnx:7.1f} chunks/s   "
          f"{t_ref / t_onnx:4.1f}x the reference")

    with tempfile.TemporaryDirectory() as tmp:
        tmp_home = DataHome(Path(tmp))
        with CorpusStore(tmp_home.corpus_db) as store:
            store.db.execute("BEGIN")
            copy = CorpusStore(home.corpus_db)
            for doc_id in dict.fromkeys(i.split("#")[0] for i in ids):
                store._add(copy.get(doc_id), copy.chunks(doc_id))
            store.db.execute("COMMIT")
            index = VectorIndex.open(tmp_home, onnx)
            stats, build = timed(lambda: index.sync(store))
            times = [timed(lambda q=q: index.query(onnx.embed([q])[0], 10))[1] for q in questions]
            ours = percentiles(times)
            same = list(_chunk_rows(store).values())  # exactly the passages we indexed
    peer_build, peer = llama_index_peer([r["text"] for r in same], [r["id"] for r in same],
                                        onnx, questions)
    print(f"index of {stats['total']} passages, {len(questions)} queries (embed + top 10)")
    print(f"  ours (Chroma)             build {build:6.1f} s   query p50 {ours[0]:5.1f} ms, "
          f"p95 {ours[1]:5.1f} ms")
    print(f"  llama-index VectorStore   build {peer_build:6.1f} s   query p50 {peer[0]:5.1f} ms, "
          f"p95 {peer[1]:5.1f} ms")

    ktp = [sys.executable, "-m", "ui.cli", "--home", str(home.root), "build"]
    _, noop = timed(lambda: subprocess.run(ktp, check=True, stdout=subprocess.DEVNULL))
    print(f"ktp build with nothing changed: {noop:.1f} s")


if __name__ == "__main__":
    main()
