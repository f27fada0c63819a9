"""What's new page: his recent passages that no framework item covers, grouped into themes, each
with its own words for a name and his quotes (simulator/new_ideas.py; the CLI's `ktp new-ideas`).
For whoever edits the framework's YAML: where it is falling behind what he says now."""
import streamlit as st

from corpus.errors import KtpError
from corpus.store import CorpusStore
from simulator.new_ideas import new_ideas
from ui.graph_evidence import show_passages
from ui.markup import esc, md_link, md_message

world = st.session_state["world"]


@st.cache_resource(show_spinner="Reading what he said lately…", max_entries=8)
def themes_since(home: str, inputs: str, since: str | None):
    """The themes, once per change of the inputs and per start date."""
    with CorpusStore(world.home.corpus_db) as store:
        return new_ideas(world.home, world.framework, store, world.graph, since)


st.title("What's new in his thinking")
st.caption("His recent passages that none of the framework's axioms or mental models covers, "
           "grouped by meaning. Theme names are the words most particular to each group, taken "
           "from his passages; the quotes are his, each linked to its source.")
if not world.corpus["documents"]:
    st.info("Nothing is ingested yet. Add his material with `ktp ingest PATH_OR_URL` and run "
            "`ktp build`; then reload.")
    st.stop()
picked = st.date_input("Since", value=None, key="new_since",
                       help="Empty: the last 12 months up to his newest dated document.")
since = picked.isoformat() if picked else None
try:
    found = themes_since(str(world.home.root), world.inputs, since)
except KtpError as e:
    st.warning(md_message(e))
    st.stop()

st.markdown(f"**{found.uncovered} of his {found.recent} passages since {esc(found.since)}** are "
            f"covered by no framework item ({found.covered} are).")
left_out = [f"{found.copies_left_out} copies of other passages" if found.copies_left_out else "",
            f"{found.short_left_out} very short passages" if found.short_left_out else "",
            f"{found.undated_left_out} undated passages (nothing says they are recent)"
            if found.undated_left_out else ""]
st.caption(f"Since: {esc(found.since_rule)}. Covered: a cosine of at least {found.threshold} to "
           "an axiom or mental model (the evidence links' threshold), or holding one of their "
           "quotes." + (" Left out: " + ", ".join(p for p in left_out if p) + "."
                        if any(left_out) else ""))
if not found.themes:
    st.success("Everything recent of his is covered by the framework.")
for n, theme in enumerate(found.themes, 1):
    with st.container(border=True):
        st.markdown(f"#### {n}. {esc(theme.name)}")
        st.caption(f"{len(theme.passages)} passages in {theme.documents} "
                   f"source{'s' * (theme.documents != 1)} · {esc(theme.start)} to "
                   f"{esc(theme.end)}")
        for q in theme.quotes:
            st.markdown(f"> “{esc(q.quote)}”")
            st.caption(f"— {esc(q.badge)} · {md_link(q.title, q.url)} · "
                       f"{esc((q.date or 'undated')[:10])}")
        with st.expander(f"All {len(theme.passages)} passages, closest to the theme first"):
            show_passages(world.home, list(theme.passages), limit=None)
