"""Load what the UI and the CLI need from the data home, building what is stale.

    world = open_world(DataHome.resolve())   # framework + corpus store + up-to-date graph
    build_index(home, store, embedder)       # `ktp build`: embed new chunks into the index

The graph is rebuilt when its inputs change: the framework files, the corpus, or the vector
index (which records the corpus state it was synced with). Evidence links by meaning need the
index; without one, only verbatim quote links are made.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from corpus.framework_loader import load_framework
from corpus.framework_model import Framework
from corpus.home import DataHome, framework_dir
from corpus.store import CorpusStore
from graph.backend import GraphBackend, open_backend
from graph.build import build_graph
from graph.evidence_links import link_evidence
from graph.nx_store import fingerprint
from graph.vector_index import VectorIndexError


@dataclass
class World:
    home: DataHome
    framework: Framework
    store: CorpusStore
    graph: GraphBackend  # networkx in the data home, or Neo4j (graph/backend.py)
    rebuilt: bool  # whether this call (re)built the graph
    synced: dict | None = None  # what the build wrote, when it built


def open_world(home: DataHome, folder: Path | None = None, force: bool = False) -> World:
    folder = Path(folder) if folder else framework_dir()
    framework = load_framework(folder)
    home.ensure()
    store = CorpusStore(home.corpus_db)
    graph, synced = ensure_graph(home, framework, folder, store, force=force)
    return World(home=home, framework=framework, store=store, graph=graph,
                 rebuilt=synced is not None, synced=synced)


def graph_inputs(home: DataHome, folder: Path, store: CorpusStore) -> str:
    """The fingerprint of everything the graph is built from."""
    from graph.vector_index import VectorIndex

    pointer = VectorIndex.pointer_for(home)
    return fingerprint(folder, store.fingerprint(),
                       pointer.read_text() if pointer.exists() else "no index")


def ensure_graph(home: DataHome, framework: Framework, folder: Path, store: CorpusStore,
                 force: bool = False, backend: GraphBackend | None = None):
    """(graph store, what the sync wrote or None when nothing was built). The store is left
    as it is when the fingerprint it keeps matches the inputs; otherwise the graph is built
    as rows and the store is brought in step with them (Neo4j writes only the difference).
    Unchanged, the networkx graph is not read until something uses it."""
    backend = backend or open_backend(home)
    wanted = graph_inputs(home, folder, store)
    if not force and backend.fingerprint() == wanted:
        return backend, None
    rows = build_graph(framework, store.catalog())
    index, embedder = open_index(home)
    link_evidence(rows, framework, store, index, embedder, cache_dir=home.root / "cache")
    return backend, backend.sync(rows, wanted)


def open_index(home: DataHome, embedder=None):
    """(index, embedder) for the index this home has, or (None, None) when it has none yet.
    An index that the pointer names but that is gone (its Chroma folder deleted, its
    collection emptied) is an error that says to build it again, never an empty result."""
    import os

    from graph.vector_index import VectorIndex

    pointer = VectorIndex.pointer_for(home)
    if not pointer.exists() and embedder is None:
        return None, None
    from graph.embedder import load_embedder

    state = index_pointer(pointer) if pointer.exists() else None
    if state and not os.environ.get("KTP_CHROMA_URL") and \
            not (home.root / "chroma" / "chroma.sqlite3").is_file():
        raise VectorIndexError(f"the vector index is gone: {pointer.name} names it, but "
                               f"{home.root / 'chroma'} holds no index",
                               fix="run `ktp build` to make it again")
    if embedder is None:
        embedder = load_embedder(state.get("embedder") if state else None,
                                 home.root / "models")
    index = VectorIndex.open(home, embedder)
    if state and state.get("synced_with") not in (None, EMPTY_CORPUS) and index.is_empty():
        raise VectorIndexError(f"the vector index {state.get('collection')!r} is empty, but "
                               "it was built from a corpus with passages",
                               fix="run `ktp build` to fill it again")
    return index, embedder


EMPTY_CORPUS = hashlib.sha256().hexdigest()[:32]  # CorpusStore.fingerprint() with no documents


def index_pointer(pointer: Path) -> dict:
    """The index pointer (index.json): which collection, built by which embedder."""
    try:
        state = json.loads(pointer.read_text())
    except OSError as e:
        raise VectorIndexError(f"cannot read {pointer}: {e.strerror}",
                               fix="check its permissions") from None
    except ValueError:
        state = None
    if not isinstance(state, dict) or not isinstance(state.get("collection"), str) or \
            not isinstance(state.get("embedder"), str):
        raise VectorIndexError(f"{pointer} is not an index pointer",
                               fix="remove it (or run `ktp doctor --repair`) and run "
                                   "`ktp build` to make the index again")
    return state


def build_index(home: DataHome, store: CorpusStore, embedder=None, reindex: bool = False,
                progress=None) -> dict:
    """Embed new or changed chunks (or everything, into a fresh collection, with reindex).
    With nothing to do, an embedded index is not even opened (`unchanged_sync`)."""
    from graph.embedder import load_embedder
    from graph.vector_index import VectorIndex, unchanged_sync

    if embedder is None:  # the one the index was built with; a new index gets the default
        pointer = VectorIndex.pointer_for(home)
        recorded = index_pointer(pointer).get("embedder") if pointer.exists() and \
            not reindex else None
        embedder = load_embedder(recorded, home.root / "models")
    if not reindex and (same := unchanged_sync(home, store, embedder.name)) is not None:
        return same
    index = VectorIndex.open(home, embedder, replacing=reindex)
    return index.rebuild(store, progress) if reindex else index.sync(store, progress)
