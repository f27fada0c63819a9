"""The web UI: a Streamlit multipage app over the corpus, the framework and the graph.

Run it with `ktp serve` (loopback only, usage statistics off), or `ktp up` to set up first.
Pages live in `ui/app_pages/` and stay thin: the work is done by the packages. Every string
from a source goes through `ui.markup.esc` (or a helper built on it) before it is rendered, and
a page that fails shows one line saying how to fix it (`ui.failures`), never a traceback.
"""
import streamlit as st

from corpus.framework_loader import FrameworkError
from ui.app_state import current_world
from ui.failures import FAILURE_KEY, show_failure
from ui.markup import esc, md_code

st.set_page_config(page_title="Karpathy Thinking Partner", page_icon="🧭", layout="wide")
# A backstop: should anything escape the handler below, Streamlit shows no message or trace.
st.set_option("client.showErrorDetails", "none")
st.session_state.pop(FAILURE_KEY, None)


def sidebar(world) -> None:
    with st.sidebar:
        st.markdown("**Karpathy Thinking Partner**")
        corpus = world.corpus
        if corpus["documents"]:
            kinds = " · ".join(f"{esc(v['documents'])} {esc(k)}"
                               for k, v in corpus["by_kind"].items())
            st.caption(f"Corpus: {corpus['documents']:,} documents ({kinds}), "
                       f"{corpus['words']:,} words")
        else:
            st.caption("Corpus: empty. Add his material with `ktp ingest PATH_OR_URL` (an X "
                       "archive zip, tweet exports, captions, posts, URLs), or fetch his known "
                       "sources with `ktp ingest --registry`; then reload.")
        graph = world.graph.counts()  # from the store's record: reads no graph
        st.caption(f"Graph: {graph['nodes']} nodes, {graph['edges']} edges")
        st.caption(f"Data home: {md_code(world.home.root)}")


def main() -> None:
    try:
        world = current_world()
    except FrameworkError as e:
        st.error("The framework files have problems, so there is nothing to show yet. "
                 "Fix them and reload:")
        st.code("\n".join(str(p) for p in e.problems), language=None)
        st.stop()
    st.session_state["world"] = world
    sidebar(world)
    page = st.navigation([
        st.Page("app_pages/framework.py", title="Framework", icon=":material/explore:",
                default=True),
        st.Page("app_pages/search.py", title="Search", icon=":material/search:"),
        st.Page("app_pages/ask.py", title="Ask", icon=":material/forum:"),
        st.Page("app_pages/new_ideas.py", title="What's new", icon=":material/new_releases:"),
        st.Page("app_pages/graph_explorer.py", title="Graph", icon=":material/hub:"),
        st.Page("app_pages/corpus.py", title="Corpus", icon=":material/library_books:"),
    ])
    try:
        page.run()
    except Exception as e:  # st.stop and st.rerun are not Exceptions: they pass through
        show_failure(e, f"on the {page.title} page", world.home.root)


try:
    main()
except Exception as e:
    show_failure(e, "while loading the data home")
