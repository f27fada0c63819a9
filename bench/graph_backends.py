"""The two graph stores side by side: Neo4j's bulk load and no-op sync, the graph step of
retrieval (item -> passages) on Neo4j and networkx in the same run, and retrieval results with
either store on the evaluation questions.

    .venv/bin/python bench/graph_backends.py --home /tmp/ktp-rd3      # real data + 100k synthetic
    .venv/bin/python bench/graph_backends.py --passages 0 --home /tmp/ktp-rd3   # real data only
    KTP_NEO4J_URI=bolt://… .venv/bin/python bench/graph_backends.py   # a server of your own

Without KTP_NEO4J_URI it starts the tests' Neo4j Community server (tests/neo4j_server/, needs
Java 17 and Maven) on 127.0.0.1; the database it uses is emptied first, so never point it at a
database you keep. `--home` is a built data home (read, never written: its graph is rebuilt
in memory); without it, or without ../shared/realdata's home, the real-data part is skipped.

The synthetic graph: the packaged framework, N passages in N/10 documents (PART_OF), each
document DURING an era, and each axiom and mental model EVIDENCED_BY 8 random passages, as
`ktp build` links them.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from corpus.framework_loader import load_framework  # noqa: E402
from graph.build import build_graph  # noqa: E402
from graph.nx_store import NetworkxGraph  # noqa: E402
from graph.rows import GraphRows  # noqa: E402


def server():
    """(settings, stop) for KTP_NEO4J_URI, or for the tests' server started here."""
    from graph.neo4j_store import Neo4jSettings, settings_from_env

    if os.environ.get("KTP_NEO4J_URI"):
        settings = settings_from_env()
        del os.environ["KTP_NEO4J_URI"]  # the data home's own graph stays the networkx one
        return settings, lambda: None
    import neo4j_server

    problem = neo4j_server.problem()
    if problem:
        sys.exit(f"no Neo4j: {problem}, and KTP_NEO4J_URI is not set")
    started = neo4j_server.Neo4jServer.start(Path(tempfile.mkdtemp(prefix="ktp-neo4j-")),
                                             "bench-password")
    return Neo4jSettings(started.uri, "neo4j", "bench-password"), started.stop


def synthetic(passages: int, seed: int = 7) -> GraphRows:
    framework = load_framework()
    docs = [{"id": f"tweet:{i}", "kind": "tweet", "title": f"Synthetic post {i}",
             "date": f"{2010 + i % 15}-{1 + i % 12:02d}-01", "url": f"https://x.com/s/{i}"}
            for i in range(max(1, passages // 10))]
    rows = build_graph(framework, docs)
    rng = random.Random(seed)
    ids = []
    for i in range(passages):
        doc = docs[i % len(docs)]["id"]
        pid = f"{doc}#{i // len(docs)}"
        rows.add_node(pid, "Passage", title=f"Passage {i}", doc=doc, speaker="Andrej Karpathy",
                      text=f"Synthetic passage {i} about training loops and small models. " * 4)
        rows.add_edge(pid, doc, "PART_OF")
        ids.append(pid)
    for item in framework.of_kind("axiom") + framework.of_kind("model"):
        for pid in rng.sample(ids, min(8, len(ids))):
            rows.add_edge(item.id, pid, "EVIDENCED_BY", similarity=round(rng.uniform(.45, .8), 4))
    return rows


def real_rows(home_path: Path):
    """The real data home's graph as rows, built the way `ktp build` builds it."""
    from corpus.home import DataHome
    from graph.evidence_links import link_evidence
    from graph.pipeline import open_index, open_world

    home = DataHome(home_path)
    world = open_world(home)  # networkx: already in step, nothing written
    rows = build_graph(world.framework, world.store.catalog())
    index, embedder = open_index(home)
    link_evidence(rows, world.framework, world.store, index, embedder)
    return world, rows, index, embedder


def load(graph, rows: GraphRows, label: str) -> None:
    graph.erase()
    started = time.perf_counter()
    done = graph.sync(rows, f"{label}-1")
    took = time.perf_counter() - started
    counts = rows.counts()
    print(f"{label:10} bulk load   {counts['nodes']:>7} nodes, {counts['edges']:>7} rels in "
          f"{took:6.1f} s: {counts['nodes'] / took:>7.0f} nodes/s, {counts['edges'] / took:>7.0f} "
          f"rels/s (written {done['nodes_written']} + {done['edges_written']})")
    started = time.perf_counter()
    same = graph.fingerprint() == f"{label}-1"
    check = time.perf_counter() - started
    started = time.perf_counter()
    again = graph.sync(rows, f"{label}-1")
    diffed = time.perf_counter() - started
    print(f"{label:10} no-op sync  fingerprint check {check * 1000:.1f} ms (in step: {same}); "
          f"full compare, nothing to write {diffed:.2f} s ({again['nodes_written']} written)")


def item_latency(graphs: dict, items: list[str], rounds: int = 20) -> None:
    for name, graph in graphs.items():
        for item in items:  # warm: the networkx file read, the server's query plans
            graph.item_passages(item)
        times = []
        for _ in range(rounds):
            for item in items:
                started = time.perf_counter()
                graph.item_passages(item)
                times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[int(len(times) * 0.95)]
        print(f"  item -> passages on {name:8} p50 {statistics.median(times):6.2f} ms, "
              f"p95 {p95:6.2f} ms ({len(times)} calls)")


def same_retrieval(world, graph, index, embedder) -> None:
    import yaml

    from simulator.retrieval import HybridRetriever

    questions = yaml.safe_load((REPO / "bench" / "eval_questions.yaml").read_text())["questions"]
    ours = HybridRetriever(world.store, embedder, index, graph, world.framework)
    theirs = HybridRetriever(world.store, embedder, index, world.graph, world.framework)
    differ = [q["id"] for q in questions
              if ours.retrieve(q["question"], k=8) != theirs.retrieve(q["question"], k=8)]
    print(f"  retrieval on {len(questions)} eval questions: "
          f"{len(questions) - len(differ)} identical with Neo4j and networkx"
          + (f"; differ: {', '.join(differ)}" if differ else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, help="a built data home (real data)")
    parser.add_argument("--passages", type=int, default=100_000,
                        help="passages in the synthetic graph (0: none)")
    args = parser.parse_args()
    from graph.neo4j_store import Neo4jGraph

    settings, stop = server()
    graph = Neo4jGraph(settings)
    try:
        print(f"Neo4j at {settings.uri}: {graph.driver().get_server_info().agent}")
        if args.home and (args.home / "graph.json").exists():
            world, rows, index, embedder = real_rows(args.home)
            load(graph, rows, "real data")
            items = [i.id for i in world.framework.of_kind("axiom") +
                     world.framework.of_kind("model")]
            item_latency({"neo4j": graph, "networkx": NetworkxGraph.from_rows(rows)}, items)
            same_retrieval(world, graph, index, embedder)
        else:
            print("real data: skipped (no --home with a built graph)")
        if args.passages:
            rows = synthetic(args.passages)
            load(graph, rows, f"{args.passages // 1000}k")
            items = [n.id for n in rows.sorted_nodes() if n.kind in ("Axiom", "MentalModel")]
            item_latency({"neo4j": graph, "networkx": NetworkxGraph.from_rows(rows)}, items)
        graph.erase()
    finally:
        graph.close()
        stop()


if __name__ == "__main__":
    main()
