"""Passages found by keywords or by meaning, as search hits, with what a date filter left out:
what `ktp search` prints and the MCP server's `search` tool returns.

    hits, left_out = find_passages(store, parsed, since="2024", limit=10)
    hits, left_out = find_passages(store, parsed, index=index, vector=v, since="2024")

With since/until, undated passages cannot be shown to fall inside the dates: they are left
out, and counted among the first UNDATED_SCAN matches of the same search without the dates
(`include_undated` keeps them, ranked with the rest).
"""
from __future__ import annotations

UNDATED_SCAN = 1000  # matches looked through for the undated ones a date filter leaves out
_EVERYONE = ("his", "others", "any", "all", "")


def find_passages(store, parsed, *, index=None, vector=None, kind: str | None = None,
                  since: str | None = None, until: str | None = None, speaker: str = "any",
                  limit: int = 10, include_undated: bool = False) -> tuple[list, int]:
    """(hits, undated left out). By meaning when `index` and `vector` (the query embedded by
    the index's embedder) are given, else by the keyword query `parsed` (corpus.query)."""
    def find(n: int, bounds: dict) -> list:
        if index is not None:
            return semantic_hits(store, index, vector, n, bounds, speaker)
        return store.search(parsed, limit=n, speaker=speaker, **bounds)

    bounds = {"kind": kind, "since": since, "until": until}
    hits = find(limit, bounds)
    if not (since or until):
        return hits, 0
    undated = [h for h in find(UNDATED_SCAN, {**bounds, "since": None, "until": None})
               if not h.date]
    if include_undated:
        return sorted([*hits, *undated[:limit]], key=lambda h: -h.score)[:limit], 0
    return hits, len(undated)


def semantic_hits(store, index, vector, limit: int, bounds: dict, speaker: str) -> list:
    """The passages nearest `vector` by meaning, as search hits (score: cosine similarity).
    A speaker's name is checked after the index answers, so four times as many are asked."""
    from corpus.store import SearchHit

    his = {"his": True, "others": False}.get(speaker)
    named = speaker not in _EVERYONE
    hits = index.query(vector, limit * (4 if named else 1), his=his, **bounds)
    rows = store.chunk_rows([h.chunk_id for h in hits])
    found = [SearchHit(id=h.chunk_id, doc_id=h.doc_id, kind=r["kind"], title=r["title"],
                       date=r["date"], url=r["url"], text=r["text"], score=h.similarity,
                       snippet=r["text"][:300], start_time=r["start_time"], meta=r["meta"],
                       author=r["author"], speaker=r["speaker"], his_words=r["his_words"],
                       authorship=r["authorship"], page=r.get("page"))
             for h in hits if (r := rows.get(h.chunk_id))
             and (not named or r["speaker"] == speaker)]
    return found[:limit]
