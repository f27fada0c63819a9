"""The embedded graph store: a networkx MultiDiGraph saved as sorted, stable JSON.

    graph = NetworkxGraph(home.graph_json)   # the GraphBackend (graph/backend.py)

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
    """The graph file itself: writing rows to it, reading it back as a networkx graph."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def save(self, rows, fingerprint: str) -> None:
        """Write `rows` (a GraphRows) as the graph file, with the fingerprint of its inputs."""
        nodes = [{"id": n.id, "kind": n.kind, **n.props} for n in rows.sorted_nodes()]
        edges = [{"source": e.source, "target": e.target, "kind": e.kind, **e.props}
                 for e in rows.sorted_edges()]
        payload = {"format": FORMAT, "fingerprint": fingerprint, "nodes": nodes, "edges": edges}
        text = json.dumps(payload, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path)  # never leave a half-written graph in place of a good one
        self._write_head(fingerprint, rows.counts(), side_maps(
            (e.source, e.kind, e.target, e.props) for e in rows.sorted_edges()))

    def remember(self, graph, fingerprint: str) -> None:
        """Write the head of a graph just loaded from this file (a file saved before heads
        existed, or copied, which changes its time), so the next start need not read it."""
        try:
            self._write_head(fingerprint, graph_counts(graph), side_maps(
                (u, k, v, d) for u, v, k, d in graph.edges(keys=True, data=True)))
        except OSError:
            pass  # a read-only home: the graph is read in full next time, nothing lost

    @property
    def head_path(self) -> Path:
        """A small file beside the graph: its fingerprint, counts, and the size and time of the
        graph file they describe."""
        return self.path.with_name(self.path.stem + ".head.json")

    @property
    def supports_path(self) -> Path:
        """Beside the head: which framework items each passage backs, and each item's passages,
        so that retrieval, which asks only those, need not read the graph (nor import
        networkx, 0.5 s) on a cold start."""
        return self.path.with_name(self.path.stem + ".supports.json")

    def _write_head(self, fingerprint: str, counts: dict, maps: dict | None = None) -> None:
        stat = self.path.stat()
        stamp = {"format": FORMAT, "fingerprint": fingerprint, "size": stat.st_size,
                 "mtime_ns": stat.st_mtime_ns}
        if maps is not None:  # first, so a head never vouches for older maps
            _write_json(self.supports_path, {**stamp, **maps})
        _write_json(self.head_path, {**stamp, "counts": counts})

    def saved_maps(self, head: dict) -> dict:
        """The side maps ("supports": passage -> items; "item_passages": item -> passages)
        written with the graph `head` describes, read in one go; {} when missing or stale (a
        map written before it existed is simply absent)."""
        try:
            saved = json.loads(self.supports_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(saved, dict) or any(saved.get(k) != head.get(k) for k in
                                              ("format", "fingerprint", "size", "mtime_ns")):
            return {}
        return saved

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


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def side_maps(edges) -> dict[str, dict[str, list[str]]]:
    """From (source, kind, target, props) edges: "supports", passage -> the framework items it
    backs (an item's EVIDENCED_BY link to it, or the item's quote (SUPPORTED_BY) FOUND_IN
    it); and "item_passages", item -> its passages in `NetworkxGraph.item_passages`' order."""
    edges = list(edges)
    quotes_of: dict[str, set[str]] = {}  # item -> its quotes
    quoted_by: dict[str, set[str]] = {}  # quote -> its items
    found_in: dict[str, set[str]] = {}  # quote -> the passages holding it
    linked: dict[str, list[tuple[float, str]]] = {}  # item -> (-similarity, passage)
    for source, kind, target, props in edges:
        if kind == "SUPPORTED_BY":
            quotes_of.setdefault(source, set()).add(target)
            quoted_by.setdefault(target, set()).add(source)
        elif kind == "FOUND_IN":
            found_in.setdefault(source, set()).add(target)
        elif kind == "EVIDENCED_BY":
            linked.setdefault(source, []).append((-(props or {}).get("similarity", 0.0),
                                                  target))
    found: dict[str, set[str]] = {}
    for item, pairs in linked.items():
        for _, passage in pairs:
            found.setdefault(passage, set()).add(item)
    for quote, passages in found_in.items():
        for passage in passages:
            found.setdefault(passage, set()).update(quoted_by.get(quote, ()))
    supports = {p: sorted(items) for p, items in sorted(found.items()) if items}
    item_passages = {}
    for item in sorted(set(quotes_of) | set(linked)):
        quoted = sorted((q, p) for q in quotes_of.get(item, ()) for p in found_in.get(q, ()))
        ranked = [p for _, p in quoted] + [p for _, p in sorted(linked.get(item, []))]
        item_passages[item] = list(dict.fromkeys(ranked))
    return {"supports": supports, "item_passages": item_passages}


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
    """Counts of a networkx graph, or of any graph store (which knows its own)."""
    if hasattr(type(graph), "counts"):  # a store: the class, since instances pass names on
        return graph.counts()
    nodes = Counter(d["kind"] for _, d in graph.nodes(data=True))
    edges = Counter(k for _, _, k in graph.edges(keys=True))
    return {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges(),
            "nodes_by_kind": dict(sorted(nodes.items())),
            "edges_by_kind": dict(sorted(edges.items()))}


LOADS = 0  # graph files read in full by this process (tests check that a no-op reads none)


class GraphFileError(KtpError, RuntimeError):
    """The saved graph changed or broke after it was found good; the message says the fix."""


class NetworkxGraph:
    """The embedded graph store (see graph/backend.py for what each method answers).

    The file is read only when a question needs it: a start that only prints counts or
    checks the fingerprint answers from the head (at 100k passages the file is 36 MB and
    reading it took most of a no-op build)."""

    name = "networkx"

    def __init__(self, path: Path | None = None, graph=None):
        """`path`: the graph file in the data home; or `graph`, a networkx graph in memory."""
        self.store = NetworkxGraphStore(path) if path is not None else None
        self.where = str(path) if path is not None else "memory"
        self._graph, self._fingerprint, self._head = graph, None, None
        self._maps: dict[str, dict | bool] = {}  # side maps read; False: none in step
        self._saved: dict | None = None  # the side-map file, read once
        self._lock = threading.Lock()

    @classmethod
    def from_rows(cls, rows) -> "NetworkxGraph":
        return cls(graph=to_networkx(rows))

    # ---- keeping it in step -------------------------------------------------------------
    def fingerprint(self) -> str | None:
        if self._fingerprint is not None or self.store is None:
            return self._fingerprint
        head = self.store.head()
        if head is not None:
            self._head, self._fingerprint = head, head["fingerprint"]
            return self._fingerprint
        graph, saved = self.store.load()  # no usable head: read the file itself, once
        if graph is not None:
            self.store.remember(graph, saved)
            self._graph, self._fingerprint = graph, saved
        return self._fingerprint

    def sync(self, rows, fingerprint: str) -> dict:
        if self.store is not None:
            self.store.save(rows, fingerprint)
        self._graph, self._fingerprint, self._head = to_networkx(rows), fingerprint, None
        counts = rows.counts()
        return {"nodes_written": counts["nodes"], "edges_written": counts["edges"]}

    def counts(self) -> dict:
        if self._graph is None and self.fingerprint() is not None and self._head is not None:
            return dict(self._head["counts"])
        return graph_counts(self.networkx())

    def networkx(self):
        """The networkx MultiDiGraph itself, read from the file on first use."""
        if self._graph is None:
            with self._lock:
                if self._graph is None:
                    self._graph = self._read()
                    if False in self._maps.values() and self._fingerprint is not None:
                        # a side map was missing (a file from before it existed): write
                        # it now, so the next start need not read the graph for it
                        self.store.remember(self._graph, self._fingerprint)
        return self._graph

    def _read(self):
        import networkx as nx

        if self.store is None:
            return nx.MultiDiGraph()
        graph, saved = self.store.load()
        if graph is None:
            if self._fingerprint is None and not self.store.path.exists():
                return nx.MultiDiGraph()  # never built: an empty graph
            raise GraphFileError(f"{self.store.path} changed or broke after it was read",
                                 fix="run `ktp build` to make the graph again")
        return graph

    def _side_map(self, name: str) -> dict | None:
        """A side map of the saved graph, when the graph itself is not read yet and the map
        is in step with it; else None (ask the graph)."""
        if self._graph is not None or self.fingerprint() is None or self._head is None:
            return None
        if name not in self._maps:
            if self._saved is None:
                self._saved = self.store.saved_maps(self._head)
            found = self._saved.get(name)
            self._maps[name] = found if isinstance(found, dict) else False
        return None if self._maps[name] is False else self._maps[name]

    # ---- the product's questions --------------------------------------------------------
    def item_passages(self, item_id: str) -> list[str]:
        if (mapped := self._side_map("item_passages")) is not None:
            return list(mapped.get(item_id, ()))
        g = self.networkx()
        if item_id not in g:
            return []
        quoted = sorted((q, p) for q in _out(g, item_id, "SUPPORTED_BY")
                        for p in _out(g, q, "FOUND_IN"))
        linked = sorted((-d.get("similarity", 0.0), p) for _, p, k, d in
                        g.out_edges(item_id, keys=True, data=True) if k == "EVIDENCED_BY")
        return list(dict.fromkeys([p for _, p in quoted] + [p for _, p in linked]))

    def supports(self, passage_id: str) -> tuple[str, ...]:
        if (mapped := self._side_map("supports")) is not None:
            return tuple(mapped.get(passage_id, ()))
        g = self.networkx()
        if passage_id not in g:
            return ()
        items = set()
        for src, _, key in g.in_edges(passage_id, keys=True):
            if key == "EVIDENCED_BY":
                items.add(src)
            elif key == "FOUND_IN":
                items |= {i for i, _, k in g.in_edges(src, keys=True) if k == "SUPPORTED_BY"}
        return tuple(sorted(items))

    def support_counts(self, item_id: str) -> tuple[int, int]:
        g = self.networkx()
        if item_id not in g:
            return 0, 0
        passages = set(_out(g, item_id, "EVIDENCED_BY"))
        for quote in _out(g, item_id, "SUPPORTED_BY"):
            passages |= set(_out(g, quote, "FOUND_IN"))
        return len(passages), len({g.nodes[p].get("doc") for p in passages})

    def node(self, node_id: str):
        g = self.networkx()
        return _node(node_id, g.nodes[node_id]) if node_id in g else None

    def list_nodes(self, kinds=None) -> list:
        g = self.networkx()
        return [_node(n, d) for n, d in sorted(g.nodes(data=True))
                if kinds is None or d["kind"] in kinds]

    def list_edges(self, kinds=None) -> list:
        from graph.rows import Edge

        g = self.networkx()
        return sorted((Edge(u, k, v, dict(d)) for u, v, k, d in
                       g.edges(keys=True, data=True) if kinds is None or k in kinds),
                      key=lambda e: e.key)

    def neighbours(self, node_id: str) -> list[tuple[str, str, str]]:
        g = self.networkx()
        if node_id not in g:
            return []
        return sorted([(k, "out", v) for _, v, k in g.out_edges(node_id, keys=True)]
                      + [(k, "in", u) for u, _, k in g.in_edges(node_id, keys=True)])

    def neighbourhood(self, node_id: str, hops: int = 1):
        from graph.rows import Edge

        g = self.networkx()
        if node_id not in g:
            return [], []
        near, frontier = {node_id}, {node_id}
        for _ in range(hops):
            frontier = {o for n in frontier for o in
                        list(g.successors(n)) + list(g.predecessors(n))} - near
            near |= frontier
        nodes = [_node(n, g.nodes[n]) for n in sorted(near)]
        edges = sorted((Edge(u, k, v, dict(d)) for u, v, k, d in
                        g.subgraph(near).edges(keys=True, data=True)), key=lambda e: e.key)
        return nodes, edges

    # ---- the old shape, for a page not moved to the questions above yet -----------------
    # ui/app_pages/graph_explorer.py still walks networkx (graph.nodes(data=True),
    # to_undirected, subgraph, ...): those names go to the graph itself until it moves.
    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.networkx(), name)

    def __contains__(self, node_id) -> bool:
        return node_id in self.networkx()

    def __iter__(self):
        return iter(self.networkx())

    def __len__(self) -> int:
        return len(self.networkx())


def _out(g, node: str, kind: str) -> list[str]:
    return [t for _, t, k in g.out_edges(node, keys=True) if k == kind]


def _node(node_id: str, data: dict):
    from graph.rows import Node

    props = {k: v for k, v in data.items() if k != "kind"}
    return Node(node_id, data["kind"], props)


def to_networkx(rows):
    """A networkx MultiDiGraph of `rows`, each edge keyed by its kind."""
    import networkx as nx

    g = nx.MultiDiGraph()
    for node in rows.sorted_nodes():
        g.add_node(node.id, kind=node.kind, **node.props)
    for edge in rows.sorted_edges():
        g.add_edge(edge.source, edge.target, key=edge.kind, **edge.props)
    return g
