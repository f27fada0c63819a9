"""Where the Graph page puts each node: kinds in columns, eras on a time axis.

A force layout mixes kinds into a cloud that nobody can read. Here each kind has a column
(`graph_style.COLUMNS`: lineage on the left, then tensions, axioms in the middle, mental models
and predictions to the right, the sources last), and within a column nodes are ordered so that
linked nodes sit level with each other (a few sweeps of the barycentre heuristic used for layered
drawings), which keeps most edges short and flat. Eras lie in order along a time axis at the
bottom. Coordinates are pixels of the chart, y growing downwards, so arrowheads can be aimed
with plain trigonometry. Deterministic: the same nodes give the same picture.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from ui.graph_style import COLUMNS, column_of, kind_rank

TOP, ERA_BAND, LEFT, LABEL_ROOM = 34, 140, 14, 165
ROWS_MAX = 46  # more nodes than this in a column: sub-columns, no labels
ROW_PX, MIN_AREA = 34, 260  # a small neighbourhood gets a short chart, not a stretched one
CHAR_PX = 5.6  # the mean width of a character of the 11 px labels
SWEEPS = 4


@dataclass
class Layout:
    width: int
    height: int
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # node -> label text (lines by \n)
    reach: dict[str, float] = field(default_factory=dict)  # node -> where its label ends (x)
    headers: list[tuple[str, float]] = field(default_factory=list)  # (column name, x)
    era_axis: tuple[float, float, float] | None = None  # (x from, x to, y)
    era_labels: dict[str, tuple[str, float]] = field(default_factory=dict)  # era -> (text, dy)


def layout(nodes: dict[str, dict], edges, era_spans: dict[str, tuple[str, str]],
           width: int = 930, height: int = 900) -> Layout:
    """`nodes`: id -> attrs with kind and title; `edges`: (source, target, kind);
    `era_spans`: era id -> (start, end) as "YYYY-MM" (end "" while it lasts)."""
    eras = sorted((n for n, d in nodes.items() if d["kind"] == "Era"),
                  key=lambda n: (era_spans.get(n, ("", ""))[0], n))
    columns = _columns({n: d for n, d in nodes.items() if d["kind"] != "Era"})
    band = ERA_BAND if eras else 20
    tallest = max((min(len(m), ROWS_MAX) for _, m in columns), default=0)
    area = min(height - TOP - band, max(MIN_AREA if columns else 0, tallest * ROW_PX))
    out = Layout(width, int(TOP + 8 + area + band))
    _order(columns, _neighbour_sets(nodes, edges))
    xs = _column_xs(len(columns), width)
    for (name, members), x in zip(columns, xs):
        out.headers.append((name, x))
        parts = -(-len(members) // ROWS_MAX)  # ceiling: sub-columns of at most ROWS_MAX
        rows = -(-len(members) // parts)
        two_lines = area / max(rows, 1) >= 27  # room for a second line of 11 px text
        for i, n in enumerate(members):
            col, row = divmod(i, rows)
            px = x + col * 14
            out.positions[n] = (px, TOP + 8 + (row + 0.5) * area / rows)
            out.reach[n] = px
            if parts == 1:
                text = label_text(nodes[n].get("title", n), 24 if two_lines else 28,
                                  lines=2 if two_lines else 1)
                out.labels[n] = text
                out.reach[n] = px + 10 + CHAR_PX * max(len(line) for line in text.split("\n"))
    if eras:
        _era_axis(out, eras, era_spans, nodes)
    return out


def label_text(title: str, width: int, lines: int = 2) -> str:
    """A title in at most `lines` lines of about `width` characters, cut with an ellipsis."""
    title = " ".join(str(title).split())
    wrapped = textwrap.wrap(title, width) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][: width - 1].rstrip(" ,;:") + "…"
    return "\n".join(wrapped)


def _columns(nodes: dict[str, dict]) -> list[tuple[str, list[str]]]:
    by_column: dict[int, list[str]] = {}
    for n, d in nodes.items():
        by_column.setdefault(column_of(d["kind"]), []).append(n)
    return [(COLUMNS[i][0], sorted(members, key=lambda n: (kind_rank(nodes[n]["kind"]),
                                                           str(nodes[n].get("title", n)), n)))
            for i, members in sorted(by_column.items())]


def _neighbour_sets(nodes, edges) -> dict[str, set[str]]:
    near: dict[str, set[str]] = {n: set() for n in nodes}
    for u, v, _ in edges:
        if u in near and v in near and u != v:
            near[u].add(v)
            near[v].add(u)
    return near


def _order(columns, near) -> None:
    """Reorder each column by the mean height of its neighbours in the other columns, sweeping
    left to right and back; a node without such neighbours keeps its place."""
    height: dict[str, float] = {}
    column_of_node = {}
    for c, (_, members) in enumerate(columns):
        for i, n in enumerate(members):
            height[n] = (i + 0.5) / len(members)
            column_of_node[n] = c
    sweep = list(range(len(columns)))
    for s in range(SWEEPS):
        for c in (sweep if s % 2 == 0 else sweep[::-1]):
            members = columns[c][1]

            def key(n: str) -> tuple[float, float]:
                others = [height[m] for m in near[n] if column_of_node.get(m, c) != c]
                return (sum(others) / len(others) if others else height[n], height[n])

            members.sort(key=key)
            for i, n in enumerate(members):
                height[n] = (i + 0.5) / len(members)


def _column_xs(count: int, width: int) -> list[float]:
    if count == 1:
        return [width / 2 - LABEL_ROOM / 2]
    step = (width - LEFT - LABEL_ROOM) / (count - 1)
    return [LEFT + i * step for i in range(count)]


def _era_axis(out: Layout, eras: list[str], era_spans, nodes) -> None:
    """Eras evenly spaced in time order (their lengths differ from ten weeks to five years, so
    spacing by date would pile the recent ones together), labels alternating above and below."""
    y = out.height - ERA_BAND + 66
    left, right = LEFT + 60, out.width - LABEL_ROOM + 40
    step = (right - left) / max(len(eras) - 1, 1)
    for i, era in enumerate(eras):
        x = left + i * step if len(eras) > 1 else (left + right) / 2
        out.positions[era] = (x, y)
        span = years(*era_spans.get(era, ("", "")))
        title = label_text(nodes[era].get("title", era), 24)
        out.era_labels[era] = (f"{span}\n{title}" if span else title, -1 if i % 2 else 1)
    xs = [out.positions[e][0] for e in eras]
    out.era_axis = (min(xs), max(xs), y)


def years(start: str, end: str) -> str:
    """"2017–2022", "2022", "2025–now" from "YYYY-MM" months ("" when unknown)."""
    first, last = str(start)[:4], str(end)[:4] if end else "now"
    if not first:
        return ""
    return first if first == last else f"{first}–{last}"
