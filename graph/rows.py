"""What a build emits: the graph as neutral node and edge rows, checked against the schema.

    rows = GraphRows()
    rows.add_node("axiom:small", "Axiom", title="Small things first")
    rows.add_edge("axiom:small", "model:loop", "GENERATES")

No store is involved: each backend (graph/nx_store.py, graph/neo4j_store.py) takes a finished
`GraphRows` and stores it. The build and the evidence linker also ask it a few questions while
they work (is this node here, what does it point at), which is all it answers.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from graph.schema import SchemaError, check_edge, check_node


@dataclass
class Node:
    id: str
    kind: str
    props: dict = field(default_factory=dict)  # title, date, ... (never id or kind)


@dataclass
class Edge:
    source: str
    kind: str
    target: str
    props: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.kind, self.target)


class GraphRows:
    def __init__(self):
        self.nodes: dict[str, Node] = {}
        self.edges: dict[tuple[str, str, str], Edge] = {}
        self._out: dict[str, list[tuple[str, str]]] = {}  # source -> [(kind, target)]

    def add_node(self, node_id: str, kind: str, **props) -> None:
        """A new node, or more properties for one already here (of the same kind)."""
        props = {k: v for k, v in props.items() if v is not None}
        check_node(node_id, kind, props)
        node = self.nodes.get(node_id)
        if node is None:
            self.nodes[node_id] = Node(node_id, kind, props)
        elif node.kind != kind:
            raise SchemaError(f"node {node_id!r} is both a {node.kind} and a {kind}",
                              fix="give one of them another id")
        else:
            node.props.update(props)

    def add_edge(self, source: str, target: str, kind: str, **props) -> None:
        """An edge between two nodes already added; the same edge again updates its props."""
        props = {k: v for k, v in props.items() if v is not None}
        check_edge(source, kind, target, props)
        for end in (source, target):
            if end not in self.nodes:
                raise SchemaError(f"edge {source!r} -{kind}-> {target!r}: no node {end!r}",
                                  fix="check the id (a framework link to an item that is "
                                      "not in the framework?)")
        key = (source, kind, target)
        if key in self.edges:
            self.edges[key].props.update(props)
            return
        self.edges[key] = Edge(source, kind, target, props)
        self._out.setdefault(source, []).append((kind, target))

    def __contains__(self, node_id: str) -> bool:
        return node_id in self.nodes

    def kind(self, node_id: str) -> str:
        return self.nodes[node_id].kind

    def set(self, node_id: str, **props) -> None:
        self.add_node(node_id, self.nodes[node_id].kind, **props)

    def out(self, node_id: str, kind: str) -> list[str]:
        """Targets of `node_id`'s edges of `kind`, in the order they were added."""
        return [t for k, t in self._out.get(node_id, ()) if k == kind]

    def sorted_nodes(self) -> list[Node]:
        return [self.nodes[n] for n in sorted(self.nodes)]

    def sorted_edges(self) -> list[Edge]:
        return [self.edges[k] for k in sorted(self.edges)]

    def counts(self) -> dict:
        nodes: dict[str, int] = {}
        edges: dict[str, int] = {}
        for node in self.nodes.values():
            nodes[node.kind] = nodes.get(node.kind, 0) + 1
        for edge in self.edges.values():
            edges[edge.kind] = edges.get(edge.kind, 0) + 1
        return {"nodes": len(self.nodes), "edges": len(self.edges),
                "nodes_by_kind": dict(sorted(nodes.items())),
                "edges_by_kind": dict(sorted(edges.items()))}
