"""Load what the UI and the CLI need from the data home, building what is stale.

    world = open_world(DataHome.resolve())   # framework + corpus store + up-to-date graph
    build_index(home, store, embedder)       # `ktp build`: embed new chunks into the index

The graph is rebuilt when its inputs change: the framework files, the corpus, or the vector
index (which records the corpus state it was synced with). Evidence links by meaning need the
index; without one, only verbatim quote links are made.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from corpus.framework_loader import load_framework
from corpus.framework_model import Framework
from corpus.home import DataHome, framework_dir
from corpus.store import CorpusStore
from graph.build import build_graph
from graph.evidence_links import link_evidence
from graph.nx_store import NetworkxGraphStore, fingerprint


@dataclass
class World:
    home: DataHome
    framework: Framework
    store: CorpusStore
    graph: object  # networkx.MultiDiGraph
    rebuilt: bool  # whether this call (re)built the graph


def open_world(home: DataHome, folder: Path | None = None, force: bool = False) -> World:
    folder = Path(folder) if folder else framework_dir()
    framework = load_framework(folder)
    home.ensure()
    store = CorpusStore(home.corpus_db)
    graph, rebuilt = ensure_graph(home, framework, folder, store, force=force)
    return World(home=home, framework=framework, store=store, graph=graph, rebuilt=rebuilt)


def graph_inputs(home: DataHome, folder: Path, store: CorpusStore) -> str:
    """The fingerprint of everything the graph is built from."""
    from graph.vector_index import VectorIndex

    pointer = VectorIndex.pointer_for(home)
    return fingerprint(folder, store.fingerprint(),
                       pointer.read_text() if pointer.exists() else "no index")


def ensure_graph(home: DataHome, framework: Framework, folder: Path, store: CorpusStore,
                 force: bool = False):
    """The saved graph if its inputs are unchanged, else a fresh build (saved). (graph, rebuilt)"""
    graph_store = NetworkxGraphStore(home.graph_json)
    wanted = graph_inputs(home, folder, store)
    if not force:
        graph, saved = graph_store.load()
        if graph is not None and saved == wanted:
            return graph, False
    graph = build_graph(framework, store.catalog())
    index, embedder = open_index(home)
    link_evidence(graph, framework, store, index, embedder)
    graph_store.save(graph, wanted)
    return graph, True


def open_index(home: DataHome, embedder=None):
    """(index, embedder) for the index this home has, or (None, None) when it has none yet."""
    import json

    from graph.vector_index import VectorIndex

    pointer = VectorIndex.pointer_for(home)
    if not pointer.exists() and embedder is None:
        return None, None
    from graph.embedder import load_embedder

    if embedder is None:
        embedder = load_embedder(json.loads(pointer.read_text()).get("embedder"))
    return VectorIndex.open(home, embedder), embedder


def build_index(home: DataHome, store: CorpusStore, embedder=None, reindex: bool = False,
                progress=None) -> dict:
    """Embed new or changed chunks (or everything, into a fresh collection, with reindex)."""
    from graph.embedder import load_embedder
    from graph.vector_index import VectorIndex

    embedder = embedder or load_embedder()
    index = VectorIndex.open(home, embedder, replacing=reindex)
    return index.rebuild(store, progress) if reindex else index.sync(store, progress)
