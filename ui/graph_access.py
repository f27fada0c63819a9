"""The questions the Graph page asks of the knowledge graph, and nothing else.

The page never walks the graph itself: it asks for the kinds of node, the nodes of some kinds,
a node's neighbours (with the edge kind and its direction), the edges among a set of nodes, and
the neighbourhood around one node. Today the graph is a networkx MultiDiGraph; kept to these
few functions, the page moves to the shared graph interface (and Neo4j) by changing them alone.
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
    data: dict


def node(graph, node_id: str) -> dict | None:
    """The node's attributes (kind, title, summary, …), or None when it is not in the graph."""
    return dict(graph.nodes[node_id]) if node_id in graph else None


def node_kinds(graph) -> Counter:
    return Counter(d["kind"] for _, d in graph.nodes(data=True))


def nodes_of_kinds(graph, kinds) -> dict[str, dict]:
    wanted = set(kinds)
    return {n: d for n, d in graph.nodes(data=True) if d["kind"] in wanted}


def neighbours(graph, node_id: str) -> list[Link]:
    if node_id not in graph:
        return []
    out = [Link(k, v, "out", d) for _, v, k, d in graph.out_edges(node_id, keys=True, data=True)]
    into = [Link(k, u, "in", d) for u, _, k, d in graph.in_edges(node_id, keys=True, data=True)]
    return out + into


def edges_among(graph, node_ids) -> list[tuple[str, str, str]]:
    """(source, target, kind) of every edge whose two ends are both in `node_ids`, sorted."""
    sub = graph.subgraph(node_ids)
    return sorted((u, v, k) for u, v, k in sub.edges(keys=True))


def around(graph, centre: str, hops: int, kinds) -> list[str]:
    """The nodes within `hops` steps of `centre` (either direction), walking only through nodes
    of `kinds`, so that everything returned is joined to the centre by what is drawn."""
    wanted = set(kinds)
    seen, frontier = {centre}, [centre]
    for _ in range(hops):
        step = []
        for n in frontier:
            for other in (*graph.successors(n), *graph.predecessors(n)):
                if other not in seen and graph.nodes[other]["kind"] in wanted:
                    seen.add(other)
                    step.append(other)
        frontier = step
    return sorted(seen)


def degree(graph, node_id: str) -> int:
    return graph.degree(node_id)
