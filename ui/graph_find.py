"""Finding a node of the graph by what a person types: "Software 2.0", "verif", "Licklider".

Streamlit's own select box ranks by fuzzy score, so typing "Software 2.0" picks a lone Source
titled exactly that over the mental model "Software 1.0, 2.0 and 3.0". Here the ideas come first:
a framework item that matches beats any source or passage, the core kinds (axioms, models,
tensions, predictions) beat their context (lineage, eras, method), and only then does the
closeness of the match decide.
"""
from __future__ import annotations

import re

from ui.graph_style import CORE_KINDS, EVIDENCE_KINDS, kind_rank


def words(text: str) -> list[str]:
    return re.findall(r"[\w.]+", str(text).lower().replace("-", " "))


def match_quality(query: str, title: str, summary: str = "") -> int:
    """3 the title itself, 2 the phrase in the title, 1 every word in the title, 0 every word
    in the title or summary (a word may be the start of one: "verif"), -1 no match."""
    q, t = " ".join(words(query)), " ".join(words(title))
    if not q:
        return -1
    if q == t:
        return 3
    if q in t:
        return 2
    for quality, text in ((1, t), (0, t + " " + " ".join(words(summary)))):
        have = text.split()
        if all(any(w.startswith(part) for w in have) for part in q.split()):
            return quality
    return -1


def tier(kind: str) -> int:
    if kind in CORE_KINDS:
        return 0
    return 2 if kind in EVIDENCE_KINDS else 1


def find(nodes: dict[str, dict], query: str, limit: int = 8) -> list[str]:
    """Ids of the nodes matching `query`, best first (see the module's docstring)."""
    scored = []
    for n, d in nodes.items():
        quality = match_quality(query, d.get("title", n), d.get("summary", ""))
        if quality < 0 and query.strip().lower() == n.lower():
            quality = 3  # an id typed in full
        if quality >= 0:
            scored.append(((tier(d["kind"]), -quality, kind_rank(d["kind"]),
                            str(d.get("title", n)).lower(), n), n))
    return [n for _, n in sorted(scored)[:limit]]


def focus_order(nodes: dict[str, dict]) -> list[str]:
    """Every node for the focus list: framework items first by kind, then the sources."""
    return sorted(nodes, key=lambda n: (tier(nodes[n]["kind"]) == 2, kind_rank(nodes[n]["kind"]),
                                        str(nodes[n].get("title", n)).lower(), n))
