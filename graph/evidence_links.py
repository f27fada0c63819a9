"""Evidence links: which ingested passages back each framework item.

1. Quotes, located verbatim. Each framework quote is looked for in the document it cites, and
   failing that anywhere in the corpus (a phrase search narrows the candidates), after
   normalising whitespace and quote marks; offsets map back to the original text, so the edge
   Quote -FOUND_IN-> Passage carries the exact [start, end) of the words in the document.
2. Support, by meaning. Each axiom and mental model is embedded (title, summary, description)
   and the closest passages in the vector index above SUPPORT_THRESHOLD are linked with
   Item -EVIDENCED_BY-> Passage (attr: similarity). The threshold comes from data (see
   bench/support_threshold.py and the README): passages that hold an item's own quotes score
   above it in most cases; arbitrary passages almost never do.

A Passage node is a chunk (`<doc id>#<n>`) that something links to; its document is the node
it is PART_OF. The links are added to the build's rows (graph/rows.py) before any store sees
them; the counts shown for an item ("supported by N passages in M sources") are the store's
answer to `support_counts` (graph/backend.py), read from these edges.
"""
from __future__ import annotations

import re
from pathlib import Path

from corpus.framework_model import Framework
from corpus.store import CorpusStore
from corpus.textnorm import locate
from graph.rows import GraphRows

SUPPORT_THRESHOLD = 0.45
PER_ITEM = 8
LINKED_KINDS = ("axiom", "model")


def link_evidence(graph: GraphRows, framework: Framework, store: CorpusStore, index=None,
                  embedder=None, cache_dir: Path | None = None) -> dict:
    """`cache_dir`: where the items' vectors are kept (`graph.vector_cache`), as the
    retriever reads them: the first answer after a build then embeds none of them."""
    not_his: list[str] = []
    located = link_quotes(graph, framework, store, not_his)
    supported = link_support(graph, framework, store, index, embedder,
                             cache_dir=cache_dir) if index else 0
    return {"quotes_located": located, "quotes": len(framework.quotes()),
            "support_links": supported, "quotes_in_others_words": not_his}


def link_quotes(graph: GraphRows, framework: Framework, store: CorpusStore,
                not_his: list[str] | None = None) -> int:
    """Link each quote to the passage holding its words, when that passage is his: a quote
    found only in a host's turn or a retweet is not linked (its id goes to `not_his`)."""
    located = 0
    for quote in framework.quotes():
        candidates = [d for d in graph.out(quote.id, "SAID_IN") if graph.kind(d) == "Document"]
        found = _locate(quote.text, candidates, store) or _locate(
            quote.text, _phrase_candidates(quote.text, store), store)
        if found:
            doc_id, start, end = found
            chunk = _chunk_at(store, doc_id, start)
            if not chunk["his_words"]:
                if not_his is not None:
                    not_his.append(quote.id)
                continue
            _passage(graph, chunk, store)
            graph.add_edge(quote.id, chunk["id"], "FOUND_IN", doc=doc_id, start=start, end=end)
            located += 1
    return located


def link_support(graph: GraphRows, framework: Framework, store: CorpusStore, index, embedder,
                 threshold: float = SUPPORT_THRESHOLD, per_item: int = PER_ITEM,
                 cache_dir: Path | None = None) -> int:
    from graph.vector_cache import cached_vectors

    items = linked_items(framework)
    vectors = cached_vectors(embedder, [item_text(i) for i in items], cache_dir)
    links = 0
    for item, vector in zip(items, vectors):
        for hit in index.query(vector, k=per_item * 3, his=True):
            if hit.similarity < threshold or len(graph.out(item.id, "EVIDENCED_BY")) >= per_item:
                break
            rows = store.chunk_rows([hit.chunk_id])
            if hit.chunk_id in rows:
                _passage(graph, rows[hit.chunk_id], store)
                graph.add_edge(item.id, hit.chunk_id, "EVIDENCED_BY",
                               similarity=round(float(hit.similarity), 4))
                links += 1
    return links


def linked_items(framework: Framework) -> list:
    """The items passages are linked to by meaning (axioms, then mental models): the same
    list, in the same order, that retrieval matches questions against."""
    return [i for kind in LINKED_KINDS for i in framework.of_kind(kind)]


def item_text(item) -> str:
    return f"{item.title}. {item.summary} {item.description}"


def support_counts(graph, item_id: str) -> tuple[int, int]:
    """(passages, distinct sources) backing an item, as the graph store counts them."""
    return graph.support_counts(item_id)


# ---- verbatim location -----------------------------------------------------------------------
def _locate(quote: str, doc_ids: list[str], store: CorpusStore) -> tuple[str, int, int] | None:
    for doc_id in doc_ids:
        doc = store.get(doc_id)
        if doc is not None and (found := locate(doc.text, quote)):
            return doc_id, found[0], found[1]
    return None


def _phrase_candidates(quote: str, store: CorpusStore) -> list[str]:
    words = re.findall(r"\w+", quote)
    if len(words) < 3:
        return []
    phrase = " ".join(max((words[i:i + 6] for i in range(max(1, len(words) - 5))),
                          key=lambda ws: sum(len(w) for w in ws)))
    try:
        hits = store.search(f'"{phrase}"', limit=10)
    except ValueError:
        return []
    return list(dict.fromkeys(h.doc_id for h in hits))


def _chunk_at(store: CorpusStore, doc_id: str, offset: int) -> dict:
    chunks = store.chunks(doc_id)
    chunk = next((c for c in chunks if c.start <= offset < c.end), None) or min(
        chunks, key=lambda c: abs(c.start - offset))
    return store.chunk_rows([chunk.id])[chunk.id]


def _passage(graph: GraphRows, row: dict, store: CorpusStore) -> None:
    if row["id"] not in graph:
        graph.add_node(row["id"], "Passage", title=row["title"], doc=row["doc_id"],
                       text=row["text"][:280], speaker=row.get("speaker") or "")
        if row["doc_id"] in graph:
            graph.add_edge(row["id"], row["doc_id"], "PART_OF")
