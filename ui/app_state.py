"""What every page needs, loaded once per change: the framework, the graph and corpus counts.

The framework and graph are cached by the fingerprint of their inputs, so editing a framework
file or ingesting a document shows up on the next rerun without restarting the server. The
SQLite connection is opened per run (a connection may not cross Streamlit's threads).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from corpus.framework_model import Framework
from corpus.home import DataHome, framework_dir
from corpus.store import CorpusStore
from graph.pipeline import graph_inputs


@dataclass
class AppWorld:
    home: DataHome
    framework: Framework
    graph: object  # a GraphBackend (graph/backend.py)
    corpus: dict  # CorpusStore.counts()
    inputs: str = ""  # fingerprint of framework + corpus + index: the key of every cache here


def current_world() -> AppWorld:
    home = DataHome.resolve().ensure()
    folder = framework_dir()
    with CorpusStore(home.corpus_db) as store:
        wanted = graph_inputs(home, folder, store)
        counts = store.counts()
    framework, graph = _framework_and_graph(str(home.root), str(folder), wanted)
    return AppWorld(home=home, framework=framework, graph=graph, corpus=counts, inputs=wanted)


@st.cache_resource(show_spinner="Loading the vector index…", max_entries=2)
def vector_index(home: str, inputs: str = ""):
    """(index, embedder) of the data home, or (None, None) before `ktp build` made one.
    `inputs` keys the cache: a rebuilt index (a new collection) is opened afresh."""
    from graph.pipeline import open_index

    return open_index(DataHome(Path(home)))


@st.cache_resource(show_spinner="Loading the retriever…", max_entries=2)
def retriever_for(home: str, inputs: str = ""):
    """The hybrid retriever over this data home (store, index, graph, framework), kept across
    reruns; `inputs` keys it, so a changed corpus, framework or index makes a new one."""
    from simulator.retrieval import HybridRetriever

    world = st.session_state["world"]
    index, embedder = vector_index(home, inputs)
    store = CorpusStore(DataHome(Path(home)).corpus_db, shared=True)
    return HybridRetriever(store, embedder, index, world.graph, world.framework)


@st.cache_resource(show_spinner="Building the knowledge graph…", max_entries=4)
def _framework_and_graph(home: str, folder: str, inputs: str):
    """`inputs` (the fingerprint) is part of the cache key, so a change means a fresh load."""
    from graph.pipeline import open_world

    world = open_world(DataHome(Path(home)), Path(folder))
    world.store.close()
    return world.framework, world.graph
