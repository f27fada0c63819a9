"""The embedded graph store: a networkx MultiDiGraph saved as sorted, stable JSON.

The file records a fingerprint of its inputs (framework files + corpus contents), so that
`ensure_graph` rebuilds only when something it was built from has changed. Saving sorts nodes,
edges and keys, so two builds from the same inputs are byte-identical and diff cleanly.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path

FORMAT = 1  # bump when the graph's shape changes, so old files are rebuilt


class NetworkxGraphStore:
    def __init__(self, path: Path):
        self.path = Path(path)

    def save(self, graph, fingerprint: str) -> None:
        nodes = [{"id": n, **graph.nodes[n]} for n in sorted(graph.nodes)]
        edges = sorted(({"source": u, "target": v, "kind": k, **d}
                        for u, v, k, d in graph.edges(keys=True, data=True)),
                       key=lambda e: (e["source"], e["kind"], e["target"], json.dumps(e)))
        payload = {"format": FORMAT, "fingerprint": fingerprint, "nodes": nodes, "edges": edges}
        text = json.dumps(payload, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path)  # never leave a half-written graph in place of a good one

    def load(self):
        """(graph, fingerprint), or (None, None) when there is no usable saved graph (missing,
        unreadable, of an older format or of the wrong shape): it is derived, so it is built
        again. `problem()` says what is wrong with it."""
        import networkx as nx

        payload, problem = self._read()
        if problem:
            return None, None
        g = nx.MultiDiGraph()
        for node in payload["nodes"]:
            node = dict(node)
            g.add_node(node.pop("id"), **node)
        for edge in payload["edges"]:
            edge = dict(edge)
            g.add_edge(edge.pop("source"), edge.pop("target"), key=edge.pop("kind"), **edge)
        return g, payload["fingerprint"]

    def problem(self) -> str | None:
        """What makes the saved graph unusable, or None if it loads (or is simply not there)."""
        if not self.path.exists():
            return None
        return self._read()[1]

    def _read(self) -> tuple[dict | None, str | None]:
        try:
            payload = json.loads(self.path.read_text(encoding="utf-8"))
        except OSError as e:
            return None, f"cannot read it: {e.strerror}"
        except ValueError as e:
            return None, f"not JSON ({e})"
        return payload, shape_problem(payload)


def shape_problem(payload) -> str | None:
    """None if `payload` is a saved graph of this format, else what is wrong with it."""
    if not isinstance(payload, dict):
        return f"a JSON {type(payload).__name__}, not an object with nodes and edges"
    if payload.get("format") != FORMAT:
        return f"format {payload.get('format')!r}, this ktp writes {FORMAT}"
    if not isinstance(payload.get("fingerprint"), str):
        return "no fingerprint"
    nodes, edges = payload.get("nodes"), payload.get("edges")
    if not isinstance(nodes, list) or not all(isinstance(n, dict) and isinstance(
            n.get("id"), str) and "kind" in n for n in nodes):
        return "`nodes` is not a list of nodes with an id and a kind"
    ids = {n["id"] for n in nodes}
    if not isinstance(edges, list) or not all(
            isinstance(e, dict) and e.get("source") in ids and e.get("target") in ids
            and isinstance(e.get("kind"), str) for e in edges):
        return "`edges` is not a list of edges between its nodes, each with a kind"
    return None


def fingerprint(framework_folder: Path, corpus_fingerprint: str, *extra: str) -> str:
    h = hashlib.sha256(f"format {FORMAT}\ncorpus {corpus_fingerprint}\n".encode())
    for part in extra:
        h.update(part.encode() + b"\0")
    for path in sorted(Path(framework_folder).glob("*.yaml")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:32]


def graph_counts(graph) -> dict:
    nodes = Counter(d["kind"] for _, d in graph.nodes(data=True))
    edges = Counter(k for _, _, k in graph.edges(keys=True))
    return {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges(),
            "nodes_by_kind": dict(sorted(nodes.items())),
            "edges_by_kind": dict(sorted(edges.items()))}
