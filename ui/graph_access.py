"""The questions the Graph page asks of the knowledge graph, and nothing else.

The page never walks the graph itself: it asks for the kinds of node, the nodes of some kinds,
a node's neighbours (with the edge kind and its direction), the edges among a set of nodes, and
the neighbourhood around one node, all through the graph interface (`graph.backend`), so the
page reads the embedded networkx graph and Neo4j alike.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    """One edge seen from a node: `direction` is "out" (node -> other) or "in" (other -> node)."""
    kind: str
    other: str
    direction: str


def node(graph, node_id: str) -> dict | None:
    """The node's attributes (kind, title, summary, …), or None when it is not in the graph."""
    found = graph.node(node_id)
    return {"kind": found.kind, **found.props} if found is not None else None


def has(graph, node_id: str) -> bool:
    return graph.node(node_id) is not None


def node_kinds(graph) -> Counter:
    return Counter(graph.counts()["nodes_by_kind"])


def nodes_of_kinds(graph, kinds) -> dict[str, dict]:
    return {n.id: {"kind": n.kind, **n.props} for n in graph.list_nodes(tuple(sorted(kinds)))}


def neighbours(graph, node_id: str) -> list[Link]:
    """Every edge at the node, outgoing first (then by kind and the other end)."""
    links = [Link(kind, other, direction) for kind, direction, other in graph.neighbours(node_id)]
    return sorted(links, key=lambda lk: (lk.direction != "out", lk.kind, lk.other))


def edges_among(graph, node_ids) -> list[tuple[str, str, str]]:
    """(source, target, kind) of every edge whose two ends are both in `node_ids`, sorted."""
    wanted = set(node_ids)
    return sorted((e.source, e.target, e.kind) for e in graph.list_edges()
                  if e.source in wanted and e.target in wanted)


def around(graph, centre: str, hops: int, kinds) -> list[str]:
    """The nodes within `hops` steps of `centre` (either direction), walking only through nodes
    of `kinds`, so that everything returned is joined to the centre by what is drawn."""
    drawn = nodes_of_kinds(graph, kinds)
    seen, frontier = {centre}, [centre]
    for _ in range(hops):
        step = []
        for n in frontier:
            for link in neighbours(graph, n):
                if link.other not in seen and link.other in drawn:
                    seen.add(link.other)
                    step.append(link.other)
        frontier = step
    return sorted(seen)


def degree(graph, node_id: str) -> int:
    return len(graph.neighbours(node_id))
