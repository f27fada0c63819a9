"""Load what the UI and the CLI need from the data home, building the graph when it is stale.

    world = open_world(DataHome.resolve())   # framework + corpus store + up-to-date graph
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from corpus.framework_loader import load_framework
from corpus.framework_model import Framework
from corpus.home import DataHome, framework_dir
from corpus.store import CorpusStore
from graph.build import build_graph
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


def ensure_graph(home: DataHome, framework: Framework, folder: Path, store: CorpusStore,
                 force: bool = False):
    """The saved graph if its inputs are unchanged, else a fresh build (saved). (graph, rebuilt)"""
    graph_store = NetworkxGraphStore(home.graph_json)
    wanted = fingerprint(folder, store.fingerprint())
    if not force:
        graph, saved = graph_store.load()
        if graph is not None and saved == wanted:
            return graph, False
    graph = build_graph(framework, store.catalog())
    graph_store.save(graph, wanted)
    return graph, True
