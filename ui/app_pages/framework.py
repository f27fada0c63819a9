"""Framework page: his axioms, mental models, tensions, predictions, lineage and eras, each with
its quotes and sources, and the links between them taken from the graph. Each card shows when
the idea shows up in what he said (first and last seen, a small chart of its support per year);
each era, the ideas most supported in it and a few of his lines from it
(simulator/framework_time.py)."""
import streamlit as st

from corpus.errors import KtpError
from corpus.framework_model import Item
from corpus.ids import deep_link
from corpus.store import CorpusStore
from simulator.framework_time import (ItemTime, era_quotes, eras_in_time, framework_in_time,
                                      kept_era_quotes)
from ui.app_state import retriever_for
from ui.graph_evidence import show_passages
from ui.markup import esc, md_code, md_link

world = st.session_state["world"]
fw, graph = world.framework, world.graph
CHARTED = ("axiom", "model")  # the kinds whose cards chart their support per year


@st.cache_resource(show_spinner="Dating the framework's evidence…", max_entries=2)
def framework_times(home: str, inputs: str):
    """(item id -> ItemTime, the eras with their items), once per change of the inputs."""
    with CorpusStore(world.home.corpus_db) as store:
        times = framework_in_time(fw, graph, store)
    return times, eras_in_time(fw, times)


@st.cache_resource(show_spinner="Choosing his lines of each era (once after each build)…",
                   max_entries=2)
def quotes_of_eras(home: str, inputs: str) -> dict:
    """era id -> his quotes from it, chosen now and kept in the home's cache/ for every later
    start. An index that cannot be opened (`ktp doctor` says why) costs the eras their quotes,
    not the page."""
    try:
        return era_quotes(lambda: retriever_for(home, inputs), fw,
                          framework_times(home, inputs)[1], world.home.root / "cache", inputs)
    except KtpError:
        return {}


def era_lines_now() -> dict | None:
    """His lines of each era when they are chosen already (this process, or kept on disk by an
    earlier one); None when choosing them would start the encoder: the tab offers a button
    then, so the app's first page never waits seconds for it."""
    if st.session_state.get("era_quotes_go") or st.session_state.get("era_quotes_chosen"):
        st.session_state["era_quotes_chosen"] = True  # a read-only home keeps them per session
        return quotes_of_eras(str(world.home.root), world.inputs)
    return kept_era_quotes(eras_timed, world.home.root / "cache", world.inputs)


times, eras_timed = framework_times(str(world.home.root), world.inputs)


def titles(ids) -> str:
    return ", ".join(esc(fw.items[i].title) for i in ids if i in fw.items) or "—"


def evidence_line(item: Item) -> str:
    """'supported by 9 passages in 6 sources', counted from the graph's evidence links (the
    passages holding its quotes, and those closest to it in meaning)."""
    passages, sources = graph.support_counts(item.id)
    if passages:
        return (f"supported by {passages} passage{'s' * (passages != 1)} in {sources} "
                f"source{'s' * (sources != 1)} of the corpus")
    quotes = len(item.quotes)
    return (f"{quotes} quote{'s' * (quotes != 1)}; no passages linked yet (ingest his "
            "material and run `ktp build`)")


def show_quotes(item: Item) -> None:
    for quote in item.quotes:
        src = quote.source
        st.markdown(f"> “{esc(quote.text)}”")
        st.caption(f"— {md_link(src.title, deep_link(src.url, src.at))} · {esc(src.date)}")


def evidence_passages(item: Item) -> list[str]:
    """Chunk ids of the passages linked to an item: its quotes' passages, then by meaning."""
    return graph.item_passages(item.id)


def show_evidence(item: Item) -> None:
    passages = evidence_passages(item)
    if not passages:
        return
    with st.expander(f"The evidence: {len(passages)} passages"):
        show_passages(world.home, passages, limit=None)


def support_chart(t: ItemTime) -> dict:
    """A Vega-Lite bar chart of its support per year (every year first to last seen), as a
    plain spec: Streamlit draws it with its own bundled Vega-Lite (no CDN). Written as the
    spec, not through Altair: Altair validates each chart on every rerun (~25 ms a chart, 64
    cards on the real framework: ~1.7 s a rerun) and costs ~2.8 s to import."""
    return {
        "data": {"values": [{"year": y, "support": n} for y, n in t.per_year.items()]},
        "mark": {"type": "bar", "tooltip": True},
        "height": 90,
        "encoding": {
            "x": {"field": "year", "type": "ordinal", "title": None,
                  "axis": {"labelAngle": 0}},
            "y": {"field": "support", "type": "quantitative", "title": None,
                  "axis": {"tickMinStep": 1}},
        },
    }


def show_time(item: Item) -> None:
    """First and last seen in his dated words, and the chart; undated ones counted apart."""
    t = times.get(item.id)
    if t is None or not (t.dated or t.undated):
        return
    undated = f" · {t.undated} undated (in no year)" if t.undated else ""
    if not t.dated:
        st.caption(f"In time: none of its evidence is dated{undated}")
        return
    st.caption(f"In time: first seen {esc(t.first_seen)} · last seen {esc(t.last_seen)} · "
               f"{t.dated} dated passage{'s' * (t.dated != 1)} and quotes{undated}")
    if item.kind in CHARTED:  # a chart costs ~12 ms a rerun; the others have few supports
        st.vega_lite_chart(spec=support_chart(t), width="stretch")


def card(item: Item, heading: str, facts: list[tuple[str, str]], extra=None) -> None:
    with st.container(border=True):
        st.markdown(f"#### {heading}")
        st.markdown(f"**{esc(item.summary)}**")
        st.markdown(esc(item.description))
        show_quotes(item)
        for label, value in facts:
            st.markdown(f"*{label}:* {value}")
        if extra is not None:
            extra()
        st.caption(f"Evidence: {evidence_line(item)} · id {md_code(item.id)}")
        show_time(item)
        show_evidence(item)


st.title("His framework")
st.caption("Our reading of how Andrej Karpathy thinks: the beliefs he takes as given, the models "
           "he reasons with, where they pull against each other, and where they came from. "
           "Descriptions are ours; quotes are his, each linked to its source.")
if fw.generating_function:
    gf = fw.generating_function
    st.info(f"**{esc(gf.title)}**: {esc(gf.summary)}")

needle = st.text_input("Filter", placeholder="a word or phrase, e.g. verify, agents, Licklider",
                       help="Show only the items whose title, text or quotes contain it.")


def shown(items: list[Item]) -> list[Item]:
    if not needle.strip():
        return items
    word = needle.strip().lower()
    return [i for i in items if word in " ".join(
        [i.title, i.summary, i.description, *(q.text for q in i.quotes)]).lower()]


TABS = {"Axioms": ["axiom"], "Mental models": ["model"], "Tensions": ["tension"],
        "Predictions": ["prediction"], "Lineage": ["tradition", "person", "work"], "Eras": ["era"]}
matches = {label: sum(len(shown(fw.of_kind(k))) for k in kinds) for label, kinds in TABS.items()}
tabs = st.tabs([f"{label} ({matches[label]})" if needle.strip() else label for label in TABS])


def say_if_nothing_matches(label: str) -> None:
    if not matches[label]:
        st.info(f"No {label.lower()} mention “{esc(needle.strip())}”. The counts on the "
                "tabs show where it does appear.")


with tabs[0]:
    say_if_nothing_matches("Axioms")
    for axiom in shown(fw.of_kind("axiom")):
        generates = [m.id for m in fw.referencing(axiom.id, "axioms") if m.kind == "model"]
        tensions = [t.id for t in fw.referencing(axiom.id, "between")]
        influences = [p.id for p in fw.referencing(axiom.id, "influenced")]
        card(axiom, f"{esc(axiom.attrs['number'])}. {esc(axiom.title)}",
             [("Generates", titles(generates)), ("In tension", titles(tensions)),
              ("Draws on", titles(influences))])

with tabs[1]:
    say_if_nothing_matches("Mental models")
    for model in shown(fw.of_kind("model")):
        card(model, esc(model.title),
             [("Generated by", titles(model.links.get("axioms", ()))),
              ("Related", titles(model.links.get("related", ())))])

with tabs[2]:
    say_if_nothing_matches("Tensions")
    for tension in shown(fw.of_kind("tension")):
        a, b = tension.links["between"]
        facts = [("Pulls between", f"{titles([a])} ↔ {titles([b])}")]
        if tension.attrs.get("resolution"):
            facts.append(("A way through", esc(tension.attrs["resolution"])))
        card(tension, esc(tension.title), facts)

with tabs[3]:
    say_if_nothing_matches("Predictions")
    columns = st.columns(2)
    for column, kind in zip(columns, ("explicit", "implicit")):
        with column:
            st.subheader("Stated by him" if kind == "explicit" else "Implied by his framework")
            for p in [p for p in shown(fw.of_kind("prediction")) if p.attrs.get("type") == kind]:
                when = " · ".join(esc(str(p.attrs[k])) for k in ("made", "horizon")
                                  if p.attrs.get(k))
                card(p, esc(p.title), [("Follows from", titles(p.links.get("grounds", ()))),
                                             ("When", when or "—")])

with tabs[4]:
    say_if_nothing_matches("Lineage")
    for tradition in shown(fw.of_kind("tradition")):
        card(tradition, esc(tradition.title),
             [("Members", titles(tradition.links.get("members", ())))])
    people, works = shown(fw.of_kind("person")), shown(fw.of_kind("work"))
    with st.expander(f"People ({len(people)}) and works ({len(works)})"):
        for person in people + works:
            took = person.attrs.get("took")
            st.markdown(f"**{esc(person.title)}**: {esc(person.summary)}"
                        + (f" *What he took:* {esc(took)}" if took else ""))

def era_extra(era_id: str, quotes: dict):
    """What the corpus says of an era: the ideas most supported in it, and his lines from it."""
    timed = next((e for e in eras_timed if e.era_id == era_id), None)

    def show() -> None:
        if timed is None or not timed.items:
            st.markdown("*Most supported in it:* — (none of the framework's evidence is "
                        "dated in it)")
            return
        st.markdown("*Most supported in it:* " + ", ".join(
            f"{titles([i])} ({n} passage{'s' * (n != 1)})" for i, n in timed.items))
        for q in quotes.get(era_id, ()):
            st.markdown(f"> “{esc(q.quote)}”")
            st.caption(f"— {esc(q.badge)} · {md_link(q.title, q.url)} · "
                       f"{esc((q.date or 'undated')[:10])}")
    return show


with tabs[5]:
    say_if_nothing_matches("Eras")
    era_items = shown(fw.of_kind("era"))
    era_lines = era_lines_now() if era_items else {}
    if era_lines is None:
        st.button("Show his lines from each era", key="era_quotes_go",
                  help="Chooses two quotes of his per era as a timeline does (a few seconds, "
                       "once after each `ktp build`; kept for every later visit).")
        era_lines = {}
    for era in era_items:
        span = f"{era.attrs['start']} – {era.attrs.get('end') or 'now'}"
        highlights = "; ".join(esc(h) for h in era.attrs.get("highlights") or [])
        card(era, f"{esc(span)}: {esc(era.title)}", [("Highlights", highlights or "—")],
             extra=era_extra(era.id, era_lines))
