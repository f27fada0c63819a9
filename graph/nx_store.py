"""The embedded graph store: a networkx MultiDiGraph saved as sorted, stable JSON.

The file records a fingerprint of its inputs (framework files + corpus contents), so that
`ensure_graph` rebuilds only when something it was built from has changed. Saving sorts nodes,
edges and keys, so two builds from the same inputs are byte-identical and diff cleanly.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import Counter
from pathlib import Path

from corpus.errors import KtpError

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
        self._write_head(fingerprint, graph_counts(graph))

    def remember(self, graph, fingerprint: str) -> None:
        """Write the head of a graph just loaded from this file (a file saved before heads
        existed, or copied, which changes its time), so the next start need not read it."""
        try:
            self._write_head(fingerprint, graph_counts(graph))
        except OSError:
            pass  # a read-only home: the graph is read in full next time, nothing lost

    @property
    def head_path(self) -> Path:
        """A small file beside the graph: its fingerprint, counts, and the size and time of the
        graph file they describe."""
        return self.path.with_name(self.path.stem + ".head.json")

    def _write_head(self, fingerprint: str, counts: dict) -> None:
        stat = self.path.stat()
        head = {"format": FORMAT, "fingerprint": fingerprint, "counts": counts,
                "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        tmp = self.head_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(head, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.head_path)

    def head(self) -> dict | None:
        """The saved graph's fingerprint and counts without reading the graph, or None when the
        head is missing or describes another file (the graph written or edited since)."""
        try:
            head = json.loads(self.head_path.read_text(encoding="utf-8"))
            stat = self.path.stat()
        except (OSError, ValueError):
            return None
        if not isinstance(head, dict) or head.get("format") != FORMAT or \
                (head.get("size"), head.get("mtime_ns")) != (stat.st_size, stat.st_mtime_ns) \
                or not isinstance(head.get("fingerprint"), str) or \
                not isinstance(head.get("counts"), dict):
            return None
        return head

    def deferred(self, head: dict):
        """The saved graph, read from its file only when first used (`head()` gave `head`)."""
        return deferred_graph(self.path, head["counts"])

    def load(self):
        """(graph, fingerprint), or (None, None) when there is no usable saved graph (missing,
        unreadable, of an older format or of the wrong shape): it is derived, so it is built
        again. `problem()` says what is wrong with it."""
        import networkx as nx

        global LOADS
        LOADS += 1
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
    deferred = getattr(graph, "__dict__", {}).get("_deferred")
    if deferred is not None:  # not read yet: the counts recorded with it
        return dict(deferred[1])
    nodes = Counter(d["kind"] for _, d in graph.nodes(data=True))
    edges = Counter(k for _, _, k in graph.edges(keys=True))
    return {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges(),
            "nodes_by_kind": dict(sorted(nodes.items())),
            "edges_by_kind": dict(sorted(edges.items()))}


LOADS = 0  # graph files read in full by this process (tests check that a no-op reads none)
_BECOMING = threading.Lock()


class GraphFileError(KtpError, RuntimeError):
    """The saved graph changed or broke after it was found good; the message says the fix."""


def deferred_graph(path: Path, counts: dict) -> "DeferredGraph":
    return DeferredGraph(path, counts)


class DeferredGraph:
    """The saved networkx MultiDiGraph before anything has used it. The first attribute or
    operation reads the file, and this very object becomes that graph (its class switched to
    MultiDiGraph), so whoever holds it holds the real graph from then on. A start that only
    prints counts (`graph_counts` answers from the head) never reads the file or imports
    networkx: at 100k passages the file is 36 MB and reading it took most of a no-op build."""

    def __init__(self, path: Path, counts: dict):
        self.__dict__.update(_deferred=(Path(path), dict(counts)))

    def _become(self) -> None:
        with _BECOMING:
            deferred = self.__dict__.get("_deferred")
            if deferred is None:  # another thread got here first
                return
            graph, _ = NetworkxGraphStore(deferred[0]).load()
            if graph is None:
                raise GraphFileError(f"{deferred[0]} changed or broke after it was read",
                                     fix="run `ktp build` to make the graph again")
            self.__dict__.update(graph.__dict__)
            del self.__dict__["_deferred"]
            self.__class__ = type(graph)

    def __getattr__(self, name: str):  # only for names this class does not have
        if name == "_deferred":
            raise AttributeError(name)
        self._become()
        return getattr(self, name)

    def __len__(self) -> int:
        self._become()
        return len(self)

    def __iter__(self):
        self._become()
        return iter(self)

    def __contains__(self, node) -> bool:
        self._become()
        return node in self

    def __getitem__(self, node):
        self._become()
        return self[node]

    def __str__(self) -> str:
        self._become()
        return str(self)
