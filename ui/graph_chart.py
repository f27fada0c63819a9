"""The Graph page's picture as an Altair (Vega-Lite) chart, which Streamlit bundles: nothing is
fetched, and a click on a node comes back to the page as a selection of its id.

Layers, bottom to top: edges (curved when both ends share a column, so they do not run over
the labels), arrowheads, the era time axis, nodes, their labels, and the words of the edges that
touch the focused node. Every string here is chart data, shown by Vega as plain text.
"""
from __future__ import annotations

import math

import altair as alt
import pandas as pd

from ui.graph_layout import Layout
from ui.graph_style import KINDS, edge_words, kind_name, symmetric

NODE_PICK = "node"  # the selection's name: the page reads event.selection[NODE_PICK]
EDGE_GREY, HOT = "#9A9A9A", "#333333"


def chart(lay: Layout, nodes: dict[str, dict], edges, focus: str | None) -> alt.LayerChart:
    titles = {n: str(d.get("title", n)) for n, d in nodes.items()}
    lines, heads, words = _edge_frames(lay, edges, titles, focus)
    x = alt.X("x:Q", axis=None, scale=alt.Scale(domain=[0, lay.width], nice=False, zero=False))
    y = alt.Y("y:Q", axis=None, scale=alt.Scale(domain=[0, lay.height], reverse=True,
                                                  nice=False, zero=False))
    pick = alt.selection_point(fields=["id"], name=NODE_PICK, on="click", empty=False)
    layers = [_lines(lines, x, y), _arrowheads(heads, x, y)]
    if lay.era_axis:
        x0, x1, ay = lay.era_axis
        axis = pd.DataFrame([{"x": x0 - 30, "y": ay, "x2": x1 + 30}])
        layers.append(alt.Chart(axis).mark_rule(color="#56B4E9", strokeWidth=2).encode(
            x=x, y=y, x2="x2:Q"))
    node_frame = _node_frame(lay, nodes, focus)
    layers += [_nodes(node_frame, x, y, pick), *_labels(lay, node_frame, x, y)]
    if words is not None:
        layers += _edge_words(words, x, y)
    header = pd.DataFrame([{"x": hx, "y": 12, "text": name} for name, hx in lay.headers])
    layers.append(alt.Chart(header).mark_text(align="left", fontSize=12, fontWeight="bold",
                                              color="#555555").encode(x=x, y=y, text="text:N"))
    return (alt.layer(*layers).properties(width=lay.width, height=lay.height)
            .configure_view(stroke=None).configure_legend(orient="bottom", columns=8,
                                                          labelFontSize=12, symbolSize=150,
                                                          symbolStrokeWidth=0.6))


def _edge_frames(lay: Layout, edges, titles, focus):
    """One row per point of each line (start, bend, end), one per arrowhead, and the words of
    the lines at the focused node. Edges joining the same two nodes share one line and their
    words ("generates · related to"), so nothing is drawn on top of itself."""
    pairs: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for u, v, kind in edges:
        if u in lay.positions and v in lay.positions and u != v:
            pairs.setdefault(tuple(sorted((u, v))), []).append((u, v, kind))
    lines, heads, words = [], [], []
    for i, ((a, b), group) in enumerate(sorted(pairs.items())):
        (x0, y0), (x2, y2) = _ends(lay, a, b)
        bend = min(abs(y2 - y0) * 0.35, 90) if abs(x2 - x0) < 1 else 0
        x1, y1 = (x0 + x2) / 2 - bend, (y0 + y2) / 2
        hot = focus in (a, b)
        said = "; ".join(f"{titles.get(u, u)} — {edge_words(k)} → {titles.get(v, v)}"
                         for u, v, k in group)
        for order, (px, py) in enumerate(((x0, y0), (x1, y1), (x2, y2))):
            lines.append({"edge": i, "order": order, "x": px, "y": py, "hot": hot,
                          "link": said})
        ends = {v for u, v, k in group if not symmetric(k)}
        if b in ends:
            heads.append(_arrowhead(x1, y1, x2, y2, hot))
        if a in ends:
            heads.append(_arrowhead(x1, y1, x0, y0, hot))
        if hot:
            # Nearer the other end than the focus: lines from the focus fan out, and by then
            # they are as far apart as the nodes they reach, so their words do not collide.
            t = 0.7 if a == focus else 0.3
            px = (1 - t) ** 2 * x0 + 2 * (1 - t) * t * x1 + t * t * x2
            py = (1 - t) ** 2 * y0 + 2 * (1 - t) * t * y1 + t * t * y2
            text = " · ".join(dict.fromkeys(edge_words(k) for _, _, k in group))
            words.append({"x": px, "y": py, "text": text})
    frame = pd.DataFrame(lines, columns=["edge", "order", "x", "y", "hot", "link"])
    heads = pd.DataFrame(heads, columns=["x", "y", "angle", "hot"])
    return frame, heads, pd.DataFrame(words, columns=["x", "y", "text"]) if focus else None


def _ends(lay: Layout, a: str, b: str):
    """The two ends of a line: a line leaving to the right starts where the node's label ends,
    so that it never runs through the label."""
    (xa, ya), (xb, yb) = lay.positions[a], lay.positions[b]
    if xb > xa + 1:
        xa = min(lay.reach.get(a, xa) + 4, xb - 30)
    elif xa > xb + 1:
        xb = min(lay.reach.get(b, xb) + 4, xa - 30)
    return (xa, ya), (xb, yb)


def _arrowhead(x1, y1, x2, y2, hot: bool) -> dict:
    """A triangle just short of the target, pointing along the last stretch of the edge. Vega
    turns marks clockwise from pointing up; with y growing down that is atan2(dx, -dy)."""
    dx, dy = x2 - x1, y2 - y1
    length = math.hypot(dx, dy) or 1
    back = 11
    return {"x": x2 - dx / length * back, "y": y2 - dy / length * back,
            "angle": math.degrees(math.atan2(dx, -dy)) % 360, "hot": hot}


def _lines(frame, x, y):
    return alt.Chart(frame).mark_line(interpolate="basis").encode(
        x=x, y=y, detail="edge:N", order="order:Q",
        color=alt.condition("datum.hot", alt.value(HOT), alt.value(EDGE_GREY)),
        opacity=alt.condition("datum.hot", alt.value(0.85), alt.value(0.22)),
        strokeWidth=alt.condition("datum.hot", alt.value(1.8), alt.value(0.9)),
        tooltip=[alt.Tooltip("link:N", title="link")])


def _arrowheads(frame, x, y):
    return alt.Chart(frame).mark_point(shape="triangle", filled=True, size=38).encode(
        x=x, y=y, angle=alt.Angle("angle:Q", scale=None),
        color=alt.condition("datum.hot", alt.value(HOT), alt.value(EDGE_GREY)),
        opacity=alt.condition("datum.hot", alt.value(0.9), alt.value(0.45)))


def _node_frame(lay: Layout, nodes, focus) -> pd.DataFrame:
    rows = []
    for n, (px, py) in lay.positions.items():
        d = nodes[n]
        summary = " ".join(str(d.get("summary") or d.get("text") or "").split())
        rows.append({"id": n, "x": px, "y": py, "kind": kind_name(d["kind"]),
                     "title": str(d.get("title", n)), "focus": n == focus,
                     "about": summary[:160] + ("…" if len(summary) > 160 else ""),
                     "label": lay.labels.get(n, ""), "size": KINDS.get(d["kind"], ("",) * 3
                                                                     + (80,))[3]})
    return pd.DataFrame(rows)


def _legend_scales(frame):
    present = set(frame["kind"]) if len(frame) else set()
    shown = [k for k in KINDS if KINDS[k][0] in present]
    names = [KINDS[k][0] for k in shown]
    return (alt.Scale(domain=names, range=[KINDS[k][1] for k in shown]),
            alt.Scale(domain=names, range=[KINDS[k][2] for k in shown]))


def _nodes(frame, x, y, pick):
    colours, shapes = _legend_scales(frame)
    return alt.Chart(frame).mark_point(filled=True, opacity=1, stroke="#222222",
                                       strokeWidth=0.7).encode(
        x=x, y=y,
        color=alt.Color("kind:N", scale=colours, title=None),
        shape=alt.Shape("kind:N", scale=shapes, title=None),
        size=alt.Size("size:Q", scale=None, legend=None),
        strokeWidth=alt.condition("datum.focus", alt.value(3), alt.value(0.7)),
        tooltip=[alt.Tooltip("title:N", title="name"), alt.Tooltip("kind:N", title="kind"),
                 alt.Tooltip("about:N", title="about")],
    ).add_params(pick)


def _labels(lay: Layout, frame, x, y):
    """Labels right of their node; the focused node's in bold; eras' above or below the axis."""
    is_era = frame["id"].isin(list(lay.era_labels)) if len(frame) else []
    plain = frame[~is_era & (frame["label"] != "")] if len(frame) else frame
    # Vega hangs the lines of a label below its first one, so a label above the axis is
    # lifted by its extra lines.
    eras = pd.DataFrame([{"x": lay.positions[e][0],
                          "y": lay.positions[e][1] + 13 * side
                          - (13 * text.count("\n") if side < 0 else 0),
                          "label": text, "side": side}
                         for e, (text, side) in lay.era_labels.items()],
                        columns=["x", "y", "label", "side"])
    text = alt.Text("label:N")
    focused = plain["focus"].astype(bool) if len(plain) else []
    rest, bold = (plain[~focused], plain[focused]) if len(plain) else (plain, plain)
    style = dict(align="left", baseline="middle", dx=10, fontSize=11, lineBreak="\n")
    # A white halo under each label keeps it legible where a line passes behind it.
    layers = [alt.Chart(plain).mark_text(**style, stroke="white", strokeWidth=3,
                                         strokeJoin="round").encode(x=x, y=y, text=text),
              alt.Chart(rest).mark_text(**style, color="#1A1A1A").encode(x=x, y=y, text=text),
              alt.Chart(bold).mark_text(**style, fontWeight="bold", color="#000000").encode(
                  x=x, y=y, text=text)]
    for side, baseline in ((1, "top"), (-1, "bottom")):
        layers.append(alt.Chart(eras[eras["side"] == side]).mark_text(
            align="center", baseline=baseline, fontSize=11, lineBreak="\n",
            color="#1A1A1A").encode(x=x, y=y, text=text))
    return layers


def _edge_words(frame, x, y):
    """The words of each edge at the focused node, on a white outline so lines do not cross
    through them."""
    base = alt.Chart(frame).encode(x=x, y=y, text="text:N")
    return [base.mark_text(fontSize=10, fontStyle="italic", stroke="white", strokeWidth=4,
                           strokeJoin="round"),
            base.mark_text(fontSize=10, fontStyle="italic", color="#333333")]
