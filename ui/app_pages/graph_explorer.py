"""Graph explorer: the framework and its sources as a network. Filter by node kind, click a node
(or pick one) to see its details and neighbours, and focus on the neighbourhood of one node.

Drawn with Altair (bundled with Streamlit, nothing fetched): positions from a seeded networkx
spring layout, so the picture is the same on every visit.
"""
import altair as alt
import networkx as nx
import pandas as pd
import streamlit as st

from ui.markup import esc, md_code

world = st.session_state["world"]
graph = world.graph
MAX_NODES = 400
DEFAULT_KINDS = ["Axiom", "MentalModel", "Tension", "Prediction", "Tradition", "Person", "Era"]

st.title("Graph explorer")
kinds = sorted({d["kind"] for _, d in graph.nodes(data=True)})
chosen = st.multiselect("Node kinds", kinds, default=[k for k in DEFAULT_KINDS if k in kinds],
                        key="graph_kinds")
titles = {n: f"{d.get('title', n)} ({d['kind']})" for n, d in graph.nodes(data=True)}
focus_col, hops_col = st.columns([3, 1])
focus = focus_col.selectbox("Focus on", [None] + sorted(titles, key=lambda n: titles[n]),
                            format_func=lambda n: "the whole graph" if n is None else titles[n],
                            key="graph_focus")
hops = hops_col.slider("Steps around it", 1, 3, 1, key="graph_hops", disabled=focus is None)

undirected = graph.to_undirected(as_view=True)
if focus:
    near = nx.ego_graph(undirected, focus, radius=hops).nodes
    nodes = [n for n in near if graph.nodes[n]["kind"] in chosen or n == focus]
else:
    nodes = [n for n, d in graph.nodes(data=True) if d["kind"] in chosen]
if len(nodes) > MAX_NODES:
    st.caption(f"Showing the {MAX_NODES} best-connected of {len(nodes)} nodes; narrow the "
               "kinds or focus on one node to see the rest.")
    nodes = sorted(nodes, key=lambda n: -undirected.degree(n))[:MAX_NODES]
if not nodes:
    st.info("No nodes of these kinds. Pick some kinds above.")
    st.stop()


@st.cache_data(max_entries=32)
def layout(node_ids: tuple[str, ...], edges: tuple[tuple[str, str], ...]) -> dict:
    g = nx.Graph()
    g.add_nodes_from(node_ids)
    g.add_edges_from(edges)
    spread = 1.6 / max(len(node_ids), 1) ** 0.5
    return {n: tuple(map(float, p)) for n, p in nx.spring_layout(g, k=spread, seed=7).items()}


sub = graph.subgraph(nodes)
edges = sorted({(u, v, k) for u, v, k in sub.edges(keys=True)})
linked = {n for u, v, _ in edges for n in (u, v)} | ({focus} if focus else set())
alone = [n for n in nodes if n not in linked]  # drawn, they would only crowd the picture
nodes = [n for n in nodes if n in linked]
positions = layout(tuple(sorted(nodes)), tuple(sorted({(u, v) for u, v, _ in edges})))
node_frame = pd.DataFrame([{"id": n, "x": positions[n][0], "y": positions[n][1],
                            "title": graph.nodes[n].get("title", n),
                            "kind": graph.nodes[n]["kind"]} for n in nodes])
edge_frame = pd.DataFrame([{"x": positions[u][0], "y": positions[u][1], "x2": positions[v][0],
                            "y2": positions[v][1], "edge": k} for u, v, k in edges],
                          columns=["x", "y", "x2", "y2", "edge"])
pick = alt.selection_point(fields=["id"], name="node")
axis = alt.Axis(labels=False, ticks=False, title=None, grid=False, domain=False)
chart = (alt.Chart(edge_frame).mark_rule(opacity=0.25).encode(
    x=alt.X("x:Q", axis=axis), y=alt.Y("y:Q", axis=axis), x2="x2:Q", y2="y2:Q")
    + alt.Chart(node_frame).mark_circle(size=140).encode(
        x="x:Q", y="y:Q", color=alt.Color("kind:N", legend=alt.Legend(orient="bottom")),
        tooltip=["title:N", "kind:N"], opacity=alt.condition(pick, alt.value(1),
                                                             alt.value(0.45))
    ).add_params(pick)).properties(height=560)
event = st.altair_chart(chart, on_select="rerun", key="graph_chart", width="stretch")
st.caption(f"{len(nodes)} nodes, {len(edges)} edges. Click a node for its details.")
if alone:
    st.caption(f"Not linked to the other kinds shown ({len(alone)}): "
               + ", ".join(esc(titles[n]) for n in alone[:30]))

clicked = [p.get("id") for p in (event.selection.get("node") or [])] if event else []
selected = clicked[0] if clicked else focus
if selected and selected in graph:  # a node clicked before a rebuild may be gone
    data = graph.nodes[selected]
    st.subheader(esc(data.get("title", selected)))
    st.caption(f"{esc(data['kind'])} · {md_code(selected)}")
    if data.get("summary") or data.get("text"):
        st.markdown(esc(data.get("summary") or data.get("text")))
    out_edges = [(k, v) for _, v, k in graph.out_edges(selected, keys=True)]
    in_edges = [(k, u) for u, _, k in graph.in_edges(selected, keys=True)]
    for label, group in (("Links out", out_edges), ("Links in", in_edges)):
        if group:
            st.markdown(f"**{label}**")
            for kind, other in sorted(group)[:60]:
                st.markdown(f"- {esc(kind)} → {esc(titles.get(other, other))}")
