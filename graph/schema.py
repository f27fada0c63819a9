"""Node and edge kinds of the knowledge graph, and what each edge means.

Nodes carry `kind` (one of NODE_KINDS) and `title`; edges are keyed by their kind, so two nodes
can be joined by several kinds of edge at once (a MultiDiGraph).
"""
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
