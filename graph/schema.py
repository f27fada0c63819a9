"""Node and edge kinds of the knowledge graph: the contract every build and every store keeps.

Nodes carry `kind` (one of NODE_KINDS) and `title`; edges are keyed by their kind, so two nodes
can be joined by several kinds of edge at once, but by at most one edge of each kind. A build
that names a kind not listed here fails (`check_node`, `check_edge`), and so does a property
that a store could not keep as it is (only strings, numbers and booleans: Neo4j's plain
property types, and what JSON round-trips exactly).

In Neo4j the kinds are the node labels and relationship types as they are written here.
"""
from corpus.errors import KtpError
from corpus.framework_model import KINDS

# Framework items take their label from the framework schema (Axiom, MentalModel, ...).
FRAMEWORK_NODE_KINDS = tuple(spec.label for spec in KINDS.values())
NODE_KINDS = FRAMEWORK_NODE_KINDS + (
    "GeneratingFunction",
    "Quote",     # a short verbatim quote of his, attached to a framework item
    "Source",    # a known public source of his (registry or a quote's URL), not ingested yet
    "Document",  # an ingested document (a Source becomes a Document once ingested)
    "Passage",   # a chunk of a document that evidence links point at
)

EDGE_KINDS = {
    "GENERATES": "axiom -> mental model it gives rise to",
    "IN_TENSION_WITH": "axiom -> axiom, the two sides of a tension (attr: tension)",
    "PULLS_BETWEEN": "tension -> each of its two axioms",
    "INFLUENCED_BY": "axiom or mental model -> person or work it draws on",
    "PART_OF": "person or work -> tradition; passage -> its document",
    "WRITTEN_BY": "work -> person",
    "FOLLOWS_FROM": "prediction -> axiom or mental model it rests on",
    "CHALLENGES": "blind spot or extension -> axiom or mental model it questions",
    "ADDRESSES": "extension -> blind spot",
    "APPLIES": "protocol step -> axiom it puts to use",
    "NEXT": "protocol step -> the step after it",
    "RELATED_TO": "any item -> item named in its `related` list",
    "SUPPORTED_BY": "framework item -> quote that expresses it",
    "SAID_IN": "quote -> source or document it comes from",
    "DURING": "quote or document -> era its date falls in",
    "FOUND_IN": "quote -> passage holding its exact words (attrs: doc, start, end)",
    "EVIDENCED_BY": "axiom or mental model -> passage close to it in meaning (attr: similarity)",
}

PLAIN = (str, int, float, bool)


class SchemaError(KtpError, ValueError):
    """A graph that breaks the contract above: a bug in the build, or a framework file naming
    something the graph cannot hold."""


def check_node(node_id: str, kind: str, props: dict) -> None:
    if kind not in NODE_KINDS:
        raise SchemaError(f"node {node_id!r} has the unknown kind {kind!r}",
                          fix=f"use one of graph/schema.py's NODE_KINDS ({', '.join(NODE_KINDS)})")
    _check_props(f"node {node_id!r}", props)


def check_edge(source: str, kind: str, target: str, props: dict) -> None:
    if kind not in EDGE_KINDS:
        raise SchemaError(f"edge {source!r} -{kind}-> {target!r} has an unknown kind",
                          fix=f"use one of graph/schema.py's EDGE_KINDS ({', '.join(EDGE_KINDS)})")
    _check_props(f"edge {source!r} -{kind}-> {target!r}", props)


def _check_props(what: str, props: dict) -> None:
    for key, value in props.items():
        if key in ("id", "source", "target") or not isinstance(value, PLAIN):
            raise SchemaError(f"{what}: property {key}={value!r} is not a plain value of its own",
                              fix="give it a string, number or boolean under another name")
