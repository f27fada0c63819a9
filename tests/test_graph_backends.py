"""The graph's behaviour on both stores (networkx, and a real Neo4j server): the same
questions get the same answers, an ingest or a removal shows up after the next build, and the
contract of kinds is enforced. Neo4j-only tests below: the sync's shape, a sync that dies
half-way, and what a misconfigured server says."""
import shutil
import subprocess
import sys

import pytest

from conftest import DOCS, REPO, TINY_FRAMEWORK, write_files
from corpus.framework_loader import load_framework
from corpus.home import DataHome
from corpus.store import CorpusStore
from graph.build import build_graph
from graph.evidence_links import link_evidence
from graph.nx_store import NetworkxGraph
from graph.pipeline import open_index, open_world
from graph.rows import GraphRows
from graph.schema import SchemaError
from simulator.retrieval import HybridRetriever

QUESTIONS = ["Should machines do the work that can be verified?",
             "What is the smallest thing that works?", "the training loop and the loss"]


@pytest.fixture
def built(small_world, backend_name):
    """The small world's home opened with each backend (Neo4j: synced into the server)."""
    home, reference, _ = small_world
    world = open_world(home, home.root.parent / "fw")
    assert world.graph.name == backend_name
    yield home, world, NetworkxGraph(home.graph_json)
    world.store.close()


def test_an_items_evidence_and_a_passages_supports_are_the_same_on_either_store(built):
    home, world, reference = built
    g = world.graph
    assert g.fingerprint() == reference.fingerprint()
    assert g.counts() == reference.counts()
    # Worked out by hand: the quote of axiom:small lies in the first passage of the post.
    assert g.item_passages("axiom:small")[0] == "blog:small#0"
    assert "axiom:small" in g.supports("blog:small#0")
    assert g.supports("tweet:42#0") == reference.supports("tweet:42#0")
    assert "axiom:verify" in g.supports("tweet:42#0")
    for item in world.framework.items:
        assert g.item_passages(item) == reference.item_passages(item), item
        assert g.support_counts(item) == reference.support_counts(item), item
    for passage in reference.list_nodes(("Passage",)):
        assert g.supports(passage.id) == reference.supports(passage.id), passage.id
        assert g.neighbours(passage.id) == reference.neighbours(passage.id)
    assert g.supports("no:such#0") == () and g.item_passages("axiom:none") == []
    assert g.node("blog:small").props == reference.node("blog:small").props


def test_retrieval_gives_the_same_evidence_with_either_store(built):
    home, world, reference = built
    index, embedder = open_index(home)
    ours = HybridRetriever(world.store, embedder, index, world.graph, world.framework)
    theirs = HybridRetriever(world.store, embedder, index, reference, world.framework)
    for question in QUESTIONS:
        assert ours.retrieve(question, k=6) == theirs.retrieve(question, k=6), question


def test_the_graph_page_can_still_walk_the_graph_as_networkx(built):
    """Until ui/app_pages/graph_explorer.py asks through graph/backend.py."""
    _, world, reference = built
    kinds = {d["kind"] for _, d in world.graph.nodes(data=True)}
    assert kinds == {d["kind"] for _, d in reference.nodes(data=True)}
    assert "axiom:small" in world.graph
    assert world.graph.number_of_edges() == reference.counts()["edges"]


def test_one_more_document_and_a_removed_one_show_up_after_the_next_build(
        backend_name, data_home, tmp_path, monkeypatch):
    folder = write_files(tmp_path / "fw", TINY_FRAMEWORK)
    home = DataHome(data_home).ensure()
    with CorpusStore(home.corpus_db) as store:
        store.add_many(DOCS[:2])  # the small post and tweet 42: no index, quotes only
    first = open_world(home, folder)
    assert first.rebuilt and first.graph.node("blog:small").kind == "Document"
    assert first.graph.item_passages("axiom:small") == ["blog:small#0"]
    assert not open_world(home, folder).rebuilt  # nothing changed: nothing written

    with CorpusStore(home.corpus_db) as store:
        store.add(DOCS[3])  # the post on training loops
    second = open_world(home, folder)
    assert second.rebuilt and second.graph.node("blog:loops").kind == "Document"
    if backend_name == "neo4j":  # only the difference is written
        assert second.synced["nodes_written"] == 1 and second.synced["nodes_deleted"] == 0
        assert second.synced["edges_written"] == 1  # DURING era:early (2019-04)

    with CorpusStore(home.corpus_db) as store:
        store.remove("blog:small")
    third = open_world(home, folder)
    g = third.graph
    assert g.node("blog:small").kind == "Source"  # back to the registry's entry
    assert g.node("blog:small#0") is None and g.supports("blog:small#0") == ()
    assert g.item_passages("axiom:small") == [] and g.support_counts("axiom:small") == (0, 0)
    assert g.item_passages("axiom:verify") == ["tweet:42#0"]
    assert ("SAID_IN", "in", "axiom:small#q1") in g.neighbours("blog:small")
    with CorpusStore(home.corpus_db) as store:  # the same as a build from scratch
        fresh = build_graph(load_framework(folder), store.catalog())
        link_evidence(fresh, load_framework(folder), store)
    assert g.list_nodes() == fresh.sorted_nodes() and g.list_edges() == fresh.sorted_edges()


def test_a_graph_with_an_unknown_kind_is_not_built():
    rows = GraphRows()
    rows.add_node("axiom:a", "Axiom", title="A")
    with pytest.raises(SchemaError, match="unknown kind 'Widget'"):
        rows.add_node("w", "Widget")
    with pytest.raises(SchemaError, match="unknown kind"):
        rows.add_edge("axiom:a", "axiom:a", "LIKES")
    with pytest.raises(SchemaError, match="no node 'model:b'"):
        rows.add_edge("axiom:a", "model:b", "GENERATES")
    with pytest.raises(SchemaError, match="not a plain value"):
        rows.add_node("axiom:b", "Axiom", tags=["a", "b"])
    with pytest.raises(SchemaError, match="both a Axiom and a Quote"):
        rows.add_node("axiom:a", "Quote")


# ---- Neo4j only ---------------------------------------------------------------------------
def test_neo4j_writes_labelled_nodes_typed_relationships_and_plain_properties(neo4j_env, data_home):
    from graph.neo4j_store import Neo4jGraph, settings_from_env

    world = open_world(DataHome(data_home))  # the packaged framework, no corpus
    graph = Neo4jGraph(settings_from_env())
    try:
        records = graph._query("MATCH (a:Axiom)-[:GENERATES]->(m:MentalModel) "
                               "RETURN count(*) AS n, min(labels(a)) AS labels")
        assert records[0]["n"] == world.graph.counts()["edges_by_kind"]["GENERATES"]
        constraints = graph._query("SHOW CONSTRAINTS YIELD labelsOrTypes, properties, type")
        unique = {c["labelsOrTypes"][0] for c in constraints
                  if c["type"] == "UNIQUENESS" and c["properties"] == ["id"]}
        assert {"Axiom", "Passage", "KtpNode"} <= unique
        axiom = graph._query("MATCH (a:Axiom) RETURN properties(a) AS p LIMIT 1")[0]["p"]
        assert all(isinstance(v, (str, int, float, bool)) for v in axiom.values())
        assert {"id", "kind", "title", "summary"} <= set(axiom)
    finally:
        graph.close()


def test_a_neo4j_sync_that_dies_half_way_is_finished_by_the_next(neo4j_env, monkeypatch):
    import graph.neo4j_store as store_module
    from graph.neo4j_store import Neo4jGraph, settings_from_env

    rows = build_graph(load_framework())
    graph = Neo4jGraph(settings_from_env())
    writes = []
    real_query = Neo4jGraph._query

    def dying(self, cypher, write=False, **params):
        if write and "UNWIND" in cypher:
            writes.append(cypher)
            if len(writes) == 4:
                raise store_module.Neo4jError("the connection dropped", fix="(a test)")
        return real_query(self, cypher, write, **params)

    monkeypatch.setattr(store_module, "BATCH", 50)
    monkeypatch.setattr(Neo4jGraph, "_query", dying)
    with pytest.raises(store_module.Neo4jError):
        graph.sync(rows, "fp-1")
    monkeypatch.setattr(Neo4jGraph, "_query", real_query)
    try:
        assert graph.fingerprint() is None  # it says it is unfinished
        written = len(graph.list_nodes())
        assert 0 < written < len(rows.nodes)
        done = graph.sync(rows, "fp-1")
        assert done["nodes_written"] == len(rows.nodes) - written  # only what was missing
        assert graph.fingerprint() == "fp-1" and graph.counts() == rows.counts()
        assert graph.list_edges() == NetworkxGraph.from_rows(rows).list_edges()
        again = graph.sync(rows, "fp-1")
        assert again == {"nodes_written": 0, "edges_written": 0, "nodes_deleted": 0,
                         "edges_deleted": 0}
    finally:
        graph.close()


@pytest.mark.parametrize("change, message", [
    ({"KTP_NEO4J_PASSWORD": "wrong"}, "refused the user 'neo4j' and its password; set "
                                      "KTP_NEO4J_USER and KTP_NEO4J_PASSWORD"),
    ({"KTP_NEO4J_DATABASE": "nosuchdb"}, "has no database 'nosuchdb'; create it"),
    ({"KTP_NEO4J_URI": "bolt://127.0.0.1:1"}, "cannot reach Neo4j at bolt://127.0.0.1:1"),
    ({"KTP_NEO4J_URI": "http://127.0.0.1:7474"}, "is not a Neo4j address"),
])
def test_a_misconfigured_neo4j_is_one_line_with_the_fix(neo4j_env, data_home, change, message):
    import os

    env = {**os.environ, **neo4j_env.env(), **change, "KTP_HOME": str(data_home)}
    result = subprocess.run([sys.executable, "-m", "ui.cli", "build"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], lines


def test_an_old_server_is_named_with_the_fix():
    from graph.neo4j_store import version_problem

    assert version_problem("Neo4j/4.4.12") == "Neo4j 4.4.12 is too old: ktp needs Neo4j 5 or newer"
    assert version_problem("Neo4j/5.26.30") is None and version_problem("Neo4j/2025.10.1") is None


def test_without_the_driver_neo4j_is_one_line_with_the_fix(tmp_path, data_home):
    """The driver is imported only on the Neo4j path: hide it, and only that path says so."""
    import os

    hide = tmp_path / "hide"
    write_files(hide, {"neo4j.py": "raise ImportError('hidden by the test')\n"})
    DataHome(data_home).ensure()
    env = {**os.environ, "PYTHONPATH": str(hide), "KTP_HOME": str(data_home)}
    plain = subprocess.run([sys.executable, "-m", "ui.cli", "stats"], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=300)
    assert plain.returncode == 0, plain.stderr
    env["KTP_NEO4J_URI"] = "bolt://127.0.0.1:1"
    result = subprocess.run([sys.executable, "-m", "ui.cli", "stats"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr.strip() == ("Error: KTP_NEO4J_URI is set, but the neo4j driver is not "
                                     "installed; install it (`uv sync --extra neo4j`, or `pip "
                                     "install neo4j`), or unset KTP_NEO4J_URI to use the "
                                     "embedded graph")


def test_build_then_ask_gives_the_same_answer_on_neo4j_as_embedded(small_world, neo4j_env,
                                                                   tmp_path):
    import os

    home, _, _ = small_world
    copy = tmp_path / "home"
    shutil.copytree(home.root, copy)
    base = {**os.environ, "KTP_HOME": str(copy), "KTP_FRAMEWORK": str(home.root.parent / "fw")}
    base = {k: v for k, v in base.items() if not k.startswith("KTP_NEO4J")}
    answers = {}
    for name, env in (("networkx", base), ("neo4j", {**base, **neo4j_env.env()})):
        built = subprocess.run([sys.executable, "-m", "ui.cli", "build"], cwd=REPO, env=env,
                               capture_output=True, text=True, timeout=600)
        assert built.returncode == 0, built.stderr
        assert ("bolt://" in built.stdout) == (name == "neo4j")
        asked = subprocess.run([sys.executable, "-m", "ui.cli", "ask", "--no-memory",
                                "How should I start building something new?"],
                               cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        assert asked.returncode == 0, asked.stderr
        answers[name] = asked.stdout
    assert answers["neo4j"] == answers["networkx"] and "[S1]" in answers["neo4j"]


def test_the_export_has_the_headers_neo4j_admin_reads(data_home, tmp_path):
    import csv
    import os

    out = tmp_path / "csv"
    env = {**os.environ, "KTP_HOME": str(data_home)}
    result = subprocess.run([sys.executable, "-m", "ui.cli", "export", "--neo4j-csv", str(out)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    graph = NetworkxGraph(DataHome(data_home).graph_json)
    with (out / "nodes-Axiom.csv").open() as f:
        rows = list(csv.reader(f))
    assert rows[0][:2] == ["id:ID", "kind"] and rows[0][-1] == ":LABEL"
    assert {r[-1] for r in rows[1:]} == {"Axiom;KtpNode"}
    assert len(rows) - 1 == graph.counts()["nodes_by_kind"]["Axiom"]
    with (out / "relationships-IN_TENSION_WITH.csv").open() as f:
        header = next(csv.reader(f))
    assert header == [":START_ID", ":END_ID", "tension", ":TYPE"]
    command = (out / "import-command.txt").read_text()
    assert command.startswith("neo4j-admin database import full --multiline-fields=true")
    assert f"--nodes={out / 'nodes-Axiom.csv'}" in command
