"""The one interface through which the product asks the knowledge graph its questions.

    graph = open_backend(home)             # networkx under the data home, or Neo4j
    graph.item_passages("axiom:small")     # the passages behind an item, best first
    graph.supports("blog:small#0")         # the framework items a passage backs

Two stores implement it: `NetworkxGraph` (graph/nx_store.py, the embedded default: a JSON file
in the data home) and `Neo4jGraph` (graph/neo4j_store.py, chosen by KTP_NEO4J_URI). Both are
filled the same way: `sync(rows, fingerprint)` with the build's rows (graph/rows.py) and the
fingerprint of the inputs they came from, which the store keeps, so that `fingerprint()` says
whether a build is needed. Readers (retrieval, the evidence linker's counts, the web pages)
use only these methods; none walks a store's own structures.

Order is part of the contract, so both stores give the same answers for the same rows: ids
sorted, an item's quoted passages (by quote id) before its passages by meaning (most similar
first, then by id).
"""
from __future__ import annotations

import os
from typing import Protocol

from graph.rows import Edge, GraphRows, Node


class GraphBackend(Protocol):
    name: str    # "networkx" or "neo4j"
    where: str   # the file or the server and database, for messages

    # ---- keeping it in step -------------------------------------------------------------
    def fingerprint(self) -> str | None:
        """The fingerprint of the inputs the stored graph was built from; None when the store
        holds no complete graph (never built, or a sync that did not finish)."""

    def sync(self, rows: GraphRows, fingerprint: str) -> dict:
        """Make the store hold exactly `rows`; returns what was written (counts)."""

    def counts(self) -> dict:
        """{"nodes", "edges", "nodes_by_kind", "edges_by_kind"}, cheap: from the store's own
        record of the last sync where it has one."""

    # ---- the product's questions --------------------------------------------------------
    def item_passages(self, item_id: str) -> list[str]:
        """Passage ids backing a framework item: those holding its quotes, then those close
        to it in meaning (most similar first). Each once."""

    def supports(self, passage_id: str) -> tuple[str, ...]:
        """The framework items a passage backs (linked by meaning, or holding their quote)."""

    def support_counts(self, item_id: str) -> tuple[int, int]:
        """(passages, distinct documents) backing an item."""

    def node(self, node_id: str) -> Node | None: ...

    def list_nodes(self, kinds: tuple[str, ...] | None = None) -> list[Node]:
        """Nodes of the given kinds (all without), by id."""

    def list_edges(self, kinds: tuple[str, ...] | None = None) -> list[Edge]:
        """Edges of the given kinds (all without), by (source, kind, target)."""

    def neighbours(self, node_id: str) -> list[tuple[str, str, str]]:
        """(edge kind, "out" or "in", other node id) for every edge at the node, sorted."""

    def neighbourhood(self, node_id: str, hops: int = 1) -> tuple[list[Node], list[Edge]]:
        """The nodes within `hops` edges of a node (either direction) and the edges among
        them."""


def neo4j_configured(env=None) -> bool:
    return bool((env if env is not None else os.environ).get("KTP_NEO4J_URI"))


def open_backend(home) -> GraphBackend:
    """Neo4j when KTP_NEO4J_URI is set (the driver is imported only then), else the embedded
    networkx graph in the data home."""
    if neo4j_configured():
        from graph.neo4j_store import Neo4jGraph, settings_from_env

        return Neo4jGraph(settings_from_env())
    from graph.nx_store import NetworkxGraph

    return NetworkxGraph(home.graph_json)
