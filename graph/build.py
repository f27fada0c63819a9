"""Build the knowledge graph from the framework and the corpus.

    rows = build_graph(framework, store.catalog())   # a GraphRows, for any backend to store

Framework items become nodes of their kind; their YAML links become typed edges (see
`graph.schema.EDGE_KINDS`); each quote becomes a Quote node SUPPORTING its item and SAID_IN the
source it cites. A quote's source is matched to an ingested document by URL, then to the
registry of known sources, and only otherwise gets a node of its own, so a quote joins its
document as soon as that document is ingested.
"""
from __future__ import annotations

from typing import Iterable

from corpus.framework_model import Framework, Item
from corpus.ids import doc_id_for_url, normalize_url
from graph.rows import GraphRows

# (item kind, link name) -> (edge kind, direction). "out": item -> target; "in": target -> item.
LINK_EDGES: dict[tuple[str, str], tuple[str, str]] = {
    ("model", "axioms"): ("GENERATES", "in"),
    ("tension", "between"): ("PULLS_BETWEEN", "out"),
    ("person", "influenced"): ("INFLUENCED_BY", "in"),
    ("work", "influenced"): ("INFLUENCED_BY", "in"),
    ("work", "author"): ("WRITTEN_BY", "out"),
    ("tradition", "members"): ("PART_OF", "in"),
    ("prediction", "grounds"): ("FOLLOWS_FROM", "out"),
    ("blindspot", "challenges"): ("CHALLENGES", "out"),
    ("extension", "challenges"): ("CHALLENGES", "out"),
    ("extension", "addresses"): ("ADDRESSES", "out"),
    ("step", "axioms"): ("APPLIES", "out"),
}


def build_graph(framework: Framework, documents: Iterable[dict] = ()) -> GraphRows:
    """`documents`: rows with id, kind, title, date, url (see `CorpusStore.catalog`)."""
    g = GraphRows()
    by_url: dict[str, str] = {}
    for doc in documents:
        g.add_node(doc["id"], "Document", title=doc["title"], doc_kind=doc["kind"],
                   date=doc.get("date"), url=doc.get("url"))
        if doc.get("url"):
            by_url.setdefault(normalize_url(doc["url"]), doc["id"])
    for src in framework.registry.values():
        if src.id in g:
            g.set(src.id, registered=True)
        else:
            g.add_node(src.id, "Source", title=src.title, source_kind=src.kind, url=src.url,
                       date=src.date)
        by_url.setdefault(normalize_url(src.url), src.id)

    items = list(framework.items.values())
    if framework.generating_function:
        items.append(framework.generating_function)
    for item in items:
        g.add_node(item.id, item.label if item.kind != "persona" else "GeneratingFunction",
                   title=item.title, summary=item.summary)
    for item in items:
        _link(g, item)
        _quotes(g, item, by_url)
    _protocol_order(g, framework)
    _eras(g, framework)
    return g


def _link(g: GraphRows, item: Item) -> None:
    for name, targets in item.links.items():
        if name == "related":
            for target in targets:
                g.add_edge(item.id, target, "RELATED_TO")
            continue
        edge, direction = LINK_EDGES[(item.kind, name)]
        for target in targets:
            src, dst = (item.id, target) if direction == "out" else (target, item.id)
            g.add_edge(src, dst, edge)
    if item.kind == "tension":
        a, b = sorted(item.links["between"])
        g.add_edge(a, b, "IN_TENSION_WITH", tension=item.id)


def _quotes(g: GraphRows, item: Item, by_url: dict[str, str]) -> None:
    for quote in item.quotes:
        src = quote.source
        g.add_node(quote.id, "Quote", title=_short(quote.text), text=quote.text,
                   date=src.date, url=src.url, at=src.at)
        g.add_edge(item.id, quote.id, "SUPPORTED_BY")
        target = by_url.get(normalize_url(src.url)) or doc_id_for_url(src.url)
        if target not in g:
            g.add_node(target, "Source", title=src.title, url=src.url, date=src.date)
        g.add_edge(quote.id, target, "SAID_IN")


def _protocol_order(g: GraphRows, framework: Framework) -> None:
    steps = framework.of_kind("step")
    for before, after in zip(steps, steps[1:]):
        g.add_edge(before.id, after.id, "NEXT")


def _eras(g: GraphRows, framework: Framework) -> None:
    """DURING: each dated quote and document -> the era its month falls in."""
    eras = [(str(e.attrs["start"])[:7], str(e.attrs.get("end") or "9999-12")[:7], e.id)
            for e in framework.of_kind("era")]
    for node in list(g.nodes.values()):
        if node.kind not in ("Quote", "Document") or not node.props.get("date"):
            continue
        month = node.props["date"][:7]
        for start, end, era_id in eras:
            if start <= month <= end:
                g.add_edge(node.id, era_id, "DURING")
                break


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
