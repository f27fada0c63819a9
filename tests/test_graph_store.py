"""The saved graph: byte-stable JSON, a faithful round trip, and rebuilds only when needed."""
import json

import networkx as nx

from corpus.framework_loader import load_framework
from corpus.home import DataHome
from graph.build import build_graph
from graph.nx_store import NetworkxGraphStore, to_networkx
from graph.pipeline import open_world


def test_saving_is_deterministic_and_loading_round_trips(tmp_path):
    fw = load_framework()
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    NetworkxGraphStore(first).save(build_graph(fw), "fp")
    NetworkxGraphStore(second).save(build_graph(load_framework()), "fp")
    assert first.read_bytes() == second.read_bytes()
    loaded, fingerprint = NetworkxGraphStore(first).load()
    original = to_networkx(build_graph(fw))
    assert fingerprint == "fp"
    assert nx.utils.graphs_equal(loaded, original)
    assert sorted(loaded.edges(keys=True)) == sorted(original.edges(keys=True))


def test_a_graph_file_of_another_format_or_corrupt_is_rebuilt(data_home):
    world = open_world(DataHome(data_home))
    assert world.rebuilt
    assert not open_world(DataHome(data_home)).rebuilt
    payload = json.loads(world.home.graph_json.read_text())
    payload["format"] = 0
    world.home.graph_json.write_text(json.dumps(payload))
    assert open_world(DataHome(data_home)).rebuilt
    world.home.graph_json.write_text("{ truncated")
    assert open_world(DataHome(data_home)).rebuilt


def test_the_real_framework_graph_is_wired_as_described():
    g = to_networkx(build_graph(load_framework()))
    kinds = nx.get_node_attributes(g, "kind")
    for u, v, k in g.edges(keys=True):
        pair = (kinds[u], k, kinds[v])
        if k == "GENERATES":
            assert pair[0] == "Axiom" and pair[2] == "MentalModel"
        if k == "SAID_IN":
            assert pair[0] == "Quote" and pair[2] in ("Source", "Document")
        if k == "IN_TENSION_WITH":
            assert pair[0] == pair[2] == "Axiom"
    # every axiom and mental model is backed by at least one quote with a source
    for node, kind in kinds.items():
        if kind in ("Axiom", "MentalModel"):
            quotes = [q for _, q, k in g.out_edges(node, keys=True) if k == "SUPPORTED_BY"]
            assert quotes and all(any(k == "SAID_IN" for _, _, k in g.out_edges(q, keys=True))
                                  for q in quotes)
    # registry sources cited by quotes resolve to their registry node, not a second one
    assert g.nodes["blog:biohacking-lite"]["kind"] == "Source"
    assert ("axiom:deterministic-physicalism#q3", "blog:biohacking-lite", "SAID_IN") in \
        set(g.edges(keys=True))


def test_an_unchanged_graph_is_not_read_until_something_uses_it(data_home):
    import graph.nx_store as nx_store

    built = open_world(DataHome(data_home))
    reads = nx_store.LOADS
    again = open_world(DataHome(data_home))
    assert not again.rebuilt
    assert again.graph.counts() == built.graph.counts()  # from the graph's head
    assert nx_store.LOADS == reads  # the graph file was not read
    assert len(again.graph.list_nodes()) == built.graph.counts()["nodes"]  # first use reads it
    assert nx_store.LOADS == reads + 1
    assert nx.utils.graphs_equal(again.graph.networkx(), built.graph.networkx())
    assert again.graph.list_edges() == built.graph.list_edges()


def test_a_graph_file_changed_behind_its_head_is_read_in_full(data_home):
    import graph.nx_store as nx_store

    world = open_world(DataHome(data_home))
    payload = json.loads(world.home.graph_json.read_text())
    world.home.graph_json.write_text(json.dumps(payload))  # same graph, another size and time
    reads = nx_store.LOADS
    assert not open_world(DataHome(data_home)).rebuilt
    assert nx_store.LOADS == reads + 1  # read, found current, and its head written again
    open_world(DataHome(data_home)).graph.networkx()
    assert nx_store.LOADS == reads + 2
    assert open_world(DataHome(data_home)).graph._graph is None  # the head is good again


def test_retrieval_asks_what_a_passage_supports_without_reading_the_graph(small_world,
                                                                         tmp_path):
    """A cold `ktp ask` needs only each passage's framework items and each item's passages:
    they come from a small file written with the graph, the same answers as the graph gives
    once read."""
    import shutil

    import graph.nx_store as nx_store

    home, _, _ = small_world
    copy = DataHome(shutil.copytree(home.root, tmp_path / "home"))
    folder = home.root.parent / "fw"
    world = open_world(copy, folder)
    built = world.graph
    built.networkx()  # the answers below come from the graph itself
    passages = [n.id for n in built.list_nodes(("Passage",))]
    items = sorted(world.framework.items)
    expected = {p: built.supports(p) for p in passages}
    expected_items = {i: built.item_passages(i) for i in items}
    assert any(expected.values()) and any(expected_items.values())
    reads = nx_store.LOADS
    cold = open_world(copy, folder).graph
    assert {p: cold.supports(p) for p in passages} == expected
    assert {i: cold.item_passages(i) for i in items} == expected_items
    assert cold.supports("no such passage") == () and cold.item_passages("axiom:none") == []
    assert nx_store.LOADS == reads  # the graph file was not read
    cold.store.supports_path.unlink()  # without the maps: read from the graph, same answers
    again = open_world(copy, folder).graph
    assert {p: again.supports(p) for p in passages} == expected
    assert {i: again.item_passages(i) for i in items} == expected_items
    assert nx_store.LOADS == reads + 1
    later = open_world(copy, folder).graph  # the maps were written back when it was read
    assert {i: later.item_passages(i) for i in items} == expected_items
    assert nx_store.LOADS == reads + 1
