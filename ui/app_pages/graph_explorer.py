"""Graph explorer: his framework as a map. Kinds stand in columns (lineage, tensions, axioms,
mental models, predictions, sources) with eras on a time axis, every framework node labelled.
Find a node by name, or click one: either way it becomes the focus, the map shows what is
around it with each link in words, and its evidence (his quotes and passages) is one click away.

The page's graph questions go through `ui.graph_access`; layout, picture and wording live in
`ui.graph_layout`, `ui.graph_chart` and `ui.graph_style`.
"""
import streamlit as st

from ui.graph_access import (around, degree, edges_among, has, node, node_kinds,
                             nodes_of_kinds)
from ui.graph_chart import NODE_PICK, chart
from ui.graph_evidence import grouped_links, ideas_voiced_in, show_evidence
from ui.graph_find import find, focus_order
from ui.graph_layout import layout, years
from ui.graph_style import FRAMEWORK_KINDS, kind_name
from ui.markup import esc, md_code

world = st.session_state["world"]
graph = world.graph
MAX_NODES = 400
DEFAULT_KINDS = ["Axiom", "MentalModel", "Tension", "Prediction", "Tradition", "Person", "Era"]
FOCUS, FIND, CHART = "graph_focus", "graph_find", "graph_chart"


def label(n) -> str:
    """A node as the focus list and links show it: its title and kind, in plain text."""
    if n is None:
        return "nothing: the whole graph"
    d = node(graph, n) or {"kind": "gone"}
    if d["kind"] == "Passage":  # passages share their document's title: show their words
        words = " ".join(str(d.get("text", "")).split()[:9])
        return f"{d.get('title', n)}: “{words}…” · Passage"
    return f"{d.get('title', n)} · {kind_name(d['kind'])}"


# The focus is one value, kept by the focus box. Typing in Find, clicking a node in the picture
# and clicking a linked node below all write it there (in callbacks, which run before the page
# draws the box), so what is clicked, what the box says and what is shown always agree.
def focus_on(n) -> None:
    if n is None or has(graph, n):
        st.session_state[FOCUS] = n


def on_find() -> None:
    best = find(everything, st.session_state.get(FIND, ""))
    if best:
        focus_on(best[0])


def on_click() -> None:
    picked = (st.session_state.get(CHART) or {}).get("selection", {}).get(NODE_PICK) or []
    if picked:  # a click on empty space clears the selection; the focus stays
        focus_on(picked[0].get("id"))


def on_link(key: str) -> None:
    focus_on(st.session_state.get(key))


st.title("Graph explorer")
st.caption("His framework as a map: where each idea comes from, what it gives rise to, what "
           "it pulls against and what he predicts from it. Click a node, or find one by name, "
           "to see what is around it and the evidence behind it.")

counts = node_kinds(graph)
everything = nodes_of_kinds(graph, counts)
kinds = sorted(counts, key=lambda k: (k not in FRAMEWORK_KINDS, list(FRAMEWORK_KINDS).index(k)
                                      if k in FRAMEWORK_KINDS else 0, k))
if st.session_state.get(FOCUS) not in (None, *everything):  # gone after a rebuild
    st.session_state[FOCUS] = None
find_col, focus_col, hops_col = st.columns([2, 3, 1])
query = find_col.text_input("Find", key=FIND, on_change=on_find,
                            placeholder="a name, e.g. Software 2.0, verifiability, Licklider",
                            help="Press Enter to focus on the best match: his ideas first, "
                                 "then lineage and eras, then sources.")
focus = focus_col.selectbox("Focus on", [None] + focus_order(everything), format_func=label,
                            key=FOCUS, filter_mode="contains")
hops = hops_col.slider("Steps around it", 1, 3, 1, key="graph_hops", disabled=focus is None)
chosen = st.multiselect("Kinds shown", kinds, default=[k for k in DEFAULT_KINDS if k in kinds],
                        format_func=kind_name, key="graph_kinds")

matches = find(everything, query) if query.strip() else []
if query.strip() and not matches:
    st.caption(f"Nothing is called “{esc(query.strip())}”.")
elif len(matches) > 1:
    st.pills("Other matches", matches[1:], format_func=lambda n: esc(label(n)),
             key=f"graph_matches_{query}", on_change=on_link, args=(f"graph_matches_{query}",))

whole = focus is None or st.toggle("Whole graph, with the focus marked", key="graph_whole")
if whole:
    shown = [n for n in everything if everything[n]["kind"] in chosen]
else:
    shown = around(graph, focus, hops, chosen)
if len(shown) > MAX_NODES:
    st.caption(f"Showing the {MAX_NODES} best-connected of {len(shown)} nodes; narrow the "
               "kinds or focus on one node to see the rest.")
    shown = sorted(shown, key=lambda n: (n != focus, -degree(graph, n), n))[:MAX_NODES]
edges = edges_among(graph, shown)
linked = {n for u, v, _ in edges for n in (u, v)}
# Unlinked nodes would only crowd the picture, except eras (on their own axis) and the focus.
alone = [n for n in shown if n not in linked and n != focus and everything[n]["kind"] != "Era"]
drawn = {n: everything[n] for n in shown if n not in alone}
if focus and focus not in drawn:
    drawn[focus] = everything[focus]
if not drawn:
    st.info("No nodes of these kinds. Pick some kinds above.")
    st.stop()

eras = {e.id: (str(e.attrs.get("start", "")), str(e.attrs.get("end") or ""))
        for e in world.framework.of_kind("era")}
picture = layout(drawn, edges, eras)
st.altair_chart(chart(picture, drawn, edges, focus), on_select=on_click, key=CHART,
                width="content")
st.caption(f"{len(drawn)} nodes, {len(edges)} links. Arrows point from a node to what it "
           "generates, draws on, follows from or is supported by; hover over a node or a link "
           "to read it in full.")
if alone:
    st.caption(f"Not linked to the other kinds shown ({len(alone)}): "
               + ", ".join(esc(label(n)) for n in sorted(alone)[:30]))

if focus:
    data = everything[focus]
    st.subheader(esc(data.get("title", focus)))
    item = world.framework.items.get(focus)
    when = f" · {esc(years(*eras[focus]))}" if focus in eras else ""
    st.caption(f"{esc(kind_name(data['kind']))}{when} · {md_code(focus)}")
    if data.get("summary") or data.get("text"):
        st.markdown(f"**{esc(data.get('summary') or data.get('text'))}**")
    if item is not None and item.description:
        st.markdown(esc(item.description))
    show_evidence(graph, world.home, focus, world.framework)
    if data["kind"] == "Era" and (voiced := ideas_voiced_in(graph, focus)):
        key = f"graph_voiced_{focus}"
        st.pills(f"His ideas voiced then ({len(voiced)})", voiced[:40],
                 format_func=lambda n: esc(label(n)), key=key, on_change=on_link, args=(key,))
    for i, (words, others) in enumerate(grouped_links(graph, focus)):
        key = f"graph_link_{focus}_{i}"  # a fresh widget per focus: no stale choice
        st.pills(f"{words.capitalize()} ({len(others)})", others[:40],
                 format_func=lambda n: esc(label(n)), key=key, on_change=on_link, args=(key,))
