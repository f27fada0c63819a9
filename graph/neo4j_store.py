"""The Neo4j graph store: the knowledge graph in a Neo4j 5+ server, chosen by KTP_NEO4J_URI.

    KTP_NEO4J_URI=bolt://127.0.0.1:7687 KTP_NEO4J_USER=neo4j KTP_NEO4J_PASSWORD=… ktp build

Node labels and relationship types are the schema's kinds (graph/schema.py); properties are
plain (id, kind, title, date, doc, similarity, …), so the graph reads well in Neo4j Browser.
Every node also carries the label `KtpNode`, whose uniqueness constraint on `id` is the index
for lookups by id alone (the Graph page asks for "this node", not "this Axiom").

Writing follows what the fast integrations do (DESIGN.md §5): uniqueness constraints first,
then `UNWIND` batches of BATCH rows with labelled `MERGE`, relationships batched by type and
by the labels of their ends, each batch its own transaction. A sync writes only the
difference between the rows and what the database holds (read back first), so a changed
corpus costs what changed, and removed nodes and edges are deleted. The fingerprint of the
inputs lives in one `KtpGraphState` node: a sync marks it pending first and clears that only
at the end, so a sync that dies half-way leaves a store that says it is unfinished, and the
next one, comparing against what is really there, finishes the job.
"""
from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass

from corpus.errors import KtpError
from graph.rows import Edge, GraphRows, Node
from graph.schema import NODE_KINDS

BATCH = 1000
ANY = "KtpNode"          # every graph node: the index for lookups by id alone
STATE = "KtpGraphState"  # one node: the fingerprint and counts of the last complete sync
STATE_ID = "graph"
MIN_VERSION = (5, 0)     # CREATE CONSTRAINT … IF NOT EXISTS … REQUIRE
UNSET_HINT = "or unset KTP_NEO4J_URI to use the embedded graph"
BOLT_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


class Neo4jError(KtpError):
    """The Neo4j server cannot be used as configured; the message says how to fix it."""


@dataclass(frozen=True)
class Neo4jSettings:
    uri: str
    user: str = "neo4j"
    password: str = ""
    database: str | None = None  # None: the server's default database

    def where(self) -> str:
        return f"{self.uri} (database {self.database or 'default'})"


def settings_from_env(env=None) -> Neo4jSettings:
    env = os.environ if env is None else env
    return Neo4jSettings(uri=env["KTP_NEO4J_URI"], user=env.get("KTP_NEO4J_USER") or "neo4j",
                         password=env.get("KTP_NEO4J_PASSWORD") or "",
                         database=env.get("KTP_NEO4J_DATABASE") or None)


def version_problem(agent: str) -> str | None:
    """Why a server announcing `agent` ("Neo4j/5.26.30") is too old, or None."""
    found = re.match(r"Neo4j/(\d+)\.(\d+)", agent or "")
    if found and tuple(map(int, found.groups())) < MIN_VERSION:
        return f"{agent.replace('/', ' ')} is too old: ktp needs Neo4j 5 or newer"
    return None


class Neo4jGraph:
    """The graph in Neo4j (see graph/backend.py for what each method answers)."""

    name = "neo4j"

    def __init__(self, settings: Neo4jSettings):
        self.settings = settings
        self.where = settings.where()
        self._driver = None
        self._lock = threading.Lock()
        self._nx = None  # (fingerprint, networkx graph) for the page that still walks one

    # ---- connecting ---------------------------------------------------------------------
    def driver(self):
        with self._lock:
            if self._driver is None:
                self._driver = _connect(self.settings)
        return self._driver

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    def _query(self, cypher: str, write: bool = False, **params) -> list:
        """The records of one query: a write in a managed transaction (retried by the driver
        on transient errors); driver errors become one line with the fix."""
        driver = self.driver()
        try:
            if write:
                return driver.execute_query(cypher, params,
                                            database_=self.settings.database).records
            # Reads as one auto-commit query: no BEGIN and COMMIT round trips, which made the
            # retrieval step's lookups 2.4 ms instead of 11 ms here (bench/graph_backends.py).
            with driver.session(database=self.settings.database) as session:
                return list(session.run(cypher, params))
        except Exception as error:  # noqa: BLE001 (translated, or raised as it is)
            raise _explain(error, self.settings) from None

    # ---- keeping it in step -------------------------------------------------------------
    def fingerprint(self) -> str | None:
        records = self._query(f"MATCH (s:{STATE} {{id: $id}}) "
                              "RETURN s.fingerprint AS f, s.pending AS p", id=STATE_ID)
        if not records or records[0]["p"]:
            return None  # never synced, or a sync that did not finish
        return records[0]["f"]

    def sync(self, rows: GraphRows, fingerprint: str) -> dict:
        self._constraints()
        self._query(f"MERGE (s:{STATE} {{id: $id}}) SET s.pending = $fp", write=True,
                    id=STATE_ID, fp=fingerprint)
        plan = diff(rows, self._read_nodes(), self._read_edges())
        self._apply(plan)
        counts = rows.counts()
        self._query(f"MATCH (s:{STATE} {{id: $id}}) SET s.fingerprint = $fp, "
                    "s.counts = $counts REMOVE s.pending", write=True, id=STATE_ID,
                    fp=fingerprint, counts=json.dumps(counts, sort_keys=True))
        self._nx = None
        return plan.summary()

    def counts(self) -> dict:
        records = self._query(f"MATCH (s:{STATE} {{id: $id}}) WHERE s.pending IS NULL "
                              "RETURN s.counts AS c", id=STATE_ID)
        if records and records[0]["c"]:
            return json.loads(records[0]["c"])
        rows = GraphRows()
        for node in self.list_nodes():
            rows.nodes[node.id] = node
        for edge in self.list_edges():
            rows.edges[edge.key] = edge
        return rows.counts()

    def erase(self) -> None:
        """Remove the whole graph and its state (the tests start from an empty database)."""
        driver = self.driver()
        try:
            with driver.session(database=self.settings.database) as session:
                # An implicit transaction, so a large graph goes in pieces, not one huge one.
                session.run(f"MATCH (n) WHERE n:{ANY} OR n:{STATE} CALL (n) {{ "
                            "DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
        except Exception as error:  # noqa: BLE001
            raise _explain(error, self.settings) from None
        self._nx = None

    def _constraints(self) -> None:
        for label in (ANY, STATE, *NODE_KINDS):
            self._query(f"CREATE CONSTRAINT ktp_{label.lower()}_id IF NOT EXISTS "
                        f"FOR (n:`{label}`) REQUIRE n.id IS UNIQUE", write=True)

    def _read_nodes(self) -> dict[str, tuple[str, dict]]:
        records = self._query(f"MATCH (n:{ANY}) RETURN properties(n) AS p")
        return {r["p"]["id"]: (r["p"].get("kind"), _plain(r["p"])) for r in records}

    def _read_edges(self) -> dict[tuple[str, str, str], dict]:
        records = self._query(f"MATCH (a:{ANY})-[e]->(b:{ANY}) "
                              "RETURN a.id AS s, type(e) AS k, b.id AS t, properties(e) AS p")
        return {(r["s"], r["k"], r["t"]): dict(r["p"]) for r in records}

    def _apply(self, plan: "Plan") -> None:
        # Deletions first: a node whose kind changed is removed and made again under its
        # new label (the KtpNode constraint would refuse a second node with its id).
        for kind, ids in _grouped(plan.delete_nodes, lambda n: n[0], lambda n: n[1]):
            self._batches(f"UNWIND $rows AS id MATCH (n:`{kind}` {{id: id}}) DETACH DELETE n",
                          ids)
        for (kind, a, b), keys in _grouped(plan.delete_edges, lambda e: e[:3],
                                           lambda e: {"s": e[3], "t": e[4]}):
            self._batches(f"UNWIND $rows AS r MATCH (:`{a}` {{id: r.s}})-[e:`{kind}`]->"
                          f"(:`{b}` {{id: r.t}}) DELETE e", keys)
        for kind, nodes in _grouped(plan.put_nodes, lambda n: n.kind,
                                    lambda n: {"id": n.id, "kind": n.kind, **n.props}):
            self._batches(f"UNWIND $rows AS r MERGE (n:`{kind}` {{id: r.id}}) "
                          f"ON CREATE SET n:{ANY} SET n = r", nodes)
        for (kind, a, b), edges in _grouped(plan.put_edges, lambda e: e[:3],
                                            lambda e: {"s": e[3].source, "t": e[3].target,
                                                       "p": e[3].props}):
            self._batches(f"UNWIND $rows AS r MATCH (a:`{a}` {{id: r.s}}) "
                          f"MATCH (b:`{b}` {{id: r.t}}) MERGE (a)-[e:`{kind}`]->(b) SET e = r.p",
                          edges)

    def _batches(self, cypher: str, rows: list) -> None:
        for start in range(0, len(rows), BATCH):
            self._query(cypher, write=True, rows=rows[start:start + BATCH])

    # ---- the product's questions --------------------------------------------------------
    def item_passages(self, item_id: str) -> list[str]:
        records = self._query(
            f"MATCH (:{ANY} {{id: $id}})-[:SUPPORTED_BY]->(q:Quote)-[:FOUND_IN]->(p:Passage) "
            "RETURN 0 AS g, q.id AS a, 0.0 AS s, p.id AS p "
            "UNION ALL "
            f"MATCH (:{ANY} {{id: $id}})-[e:EVIDENCED_BY]->(p:Passage) "
            "RETURN 1 AS g, '' AS a, -coalesce(e.similarity, 0.0) AS s, p.id AS p", id=item_id)
        ordered = sorted((r["g"], r["a"], r["s"], r["p"]) for r in records)
        return list(dict.fromkeys(p for *_, p in ordered))

    def supports(self, passage_id: str) -> tuple[str, ...]:
        records = self._query(
            "MATCH (:Passage {id: $id})<-[:EVIDENCED_BY]-(i) RETURN i.id AS i "
            "UNION "
            "MATCH (:Passage {id: $id})<-[:FOUND_IN]-(:Quote)<-[:SUPPORTED_BY]-(i) "
            "RETURN i.id AS i", id=passage_id)
        return tuple(sorted(r["i"] for r in records))

    def support_counts(self, item_id: str) -> tuple[int, int]:
        records = self._query(
            f"MATCH (i:{ANY} {{id: $id}}) "
            "OPTIONAL MATCH (i)-[:EVIDENCED_BY]->(p:Passage) "
            "WITH i, collect(p) AS linked "
            "OPTIONAL MATCH (i)-[:SUPPORTED_BY]->(:Quote)-[:FOUND_IN]->(q:Passage) "
            "WITH linked, collect(q) AS quoted UNWIND linked + quoted AS p "
            "RETURN count(DISTINCT p) AS n, count(DISTINCT p.doc) AS d", id=item_id)
        return (records[0]["n"], records[0]["d"]) if records else (0, 0)

    def node(self, node_id: str) -> Node | None:
        records = self._query(f"MATCH (n:{ANY} {{id: $id}}) RETURN properties(n) AS p",
                              id=node_id)
        return _node(records[0]["p"]) if records else None

    def list_nodes(self, kinds=None) -> list[Node]:
        records = self._query(f"MATCH (n:{ANY}) WHERE $kinds IS NULL OR n.kind IN $kinds "
                              "RETURN properties(n) AS p", kinds=list(kinds) if kinds else None)
        return sorted((_node(r["p"]) for r in records), key=lambda n: n.id)

    def list_edges(self, kinds=None) -> list[Edge]:
        records = self._query(f"MATCH (a:{ANY})-[e]->(b:{ANY}) "
                              "WHERE $kinds IS NULL OR type(e) IN $kinds "
                              "RETURN a.id AS s, type(e) AS k, b.id AS t, properties(e) AS p",
                              kinds=list(kinds) if kinds else None)
        return sorted((Edge(r["s"], r["k"], r["t"], dict(r["p"])) for r in records),
                      key=lambda e: e.key)

    def neighbours(self, node_id: str) -> list[tuple[str, str, str]]:
        records = self._query(f"MATCH (n:{ANY} {{id: $id}})-[e]-(o:{ANY}) "
                              "RETURN type(e) AS k, startNode(e) = n AS out, o.id AS o",
                              id=node_id)
        return sorted((r["k"], "out" if r["out"] else "in", r["o"]) for r in records)

    def neighbourhood(self, node_id: str, hops: int = 1) -> tuple[list[Node], list[Edge]]:
        # Hop by hop from the ids reached so far: a variable-length pattern would enumerate
        # every path through a hub (an era with thousands of DURING edges) instead.
        if self.node(node_id) is None:
            return [], []
        near, frontier = {node_id}, [node_id]
        for _ in range(hops):
            records = self._query(f"MATCH (n:{ANY})--(m:{ANY}) WHERE n.id IN $ids "
                                  "RETURN DISTINCT m.id AS m", ids=frontier)
            frontier = [r["m"] for r in records if r["m"] not in near]
            near |= set(frontier)
        ids = sorted(near)
        nodes = self._query(f"MATCH (n:{ANY}) WHERE n.id IN $ids RETURN properties(n) AS p",
                            ids=ids)
        edges = self._query(f"MATCH (a:{ANY})-[e]->(b:{ANY}) WHERE a.id IN $ids AND b.id IN "
                            "$ids RETURN a.id AS s, type(e) AS k, b.id AS t, properties(e) AS p",
                            ids=ids)
        return (sorted((_node(r["p"]) for r in nodes), key=lambda n: n.id),
                sorted((Edge(r["s"], r["k"], r["t"], dict(r["p"])) for r in edges),
                       key=lambda e: e.key))

    # ---- the old shape, for a page not moved to the questions above yet -----------------
    def networkx(self):
        """The whole graph as a networkx MultiDiGraph, read once per sync. Only for
        ui/app_pages/graph_explorer.py until it asks its questions through graph/backend.py."""
        fingerprint = self.fingerprint()
        if self._nx is None or self._nx[0] != fingerprint:
            from graph.nx_store import to_networkx

            rows = GraphRows()
            for node in self.list_nodes():
                rows.nodes[node.id] = node
            for edge in self.list_edges():
                rows.edges[edge.key] = edge
            self._nx = (fingerprint, to_networkx(rows))
        return self._nx[1]

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.networkx(), name)

    def __contains__(self, node_id) -> bool:
        return self.node(node_id) is not None


# ---- the difference between the rows and the database -----------------------------------------
@dataclass
class Plan:
    delete_nodes: list  # (kind, id)
    delete_edges: list  # (type, source kind, target kind, source, target)
    put_nodes: list     # Node
    put_edges: list     # (type, source kind, target kind, Edge)

    def summary(self) -> dict:
        return {"nodes_written": len(self.put_nodes), "edges_written": len(self.put_edges),
                "nodes_deleted": len(self.delete_nodes),
                "edges_deleted": len(self.delete_edges)}


def diff(rows: GraphRows, have_nodes: dict, have_edges: dict) -> Plan:
    """What to delete and write so the database holding `have_*` holds `rows`."""
    gone = {i: k for i, (k, _) in have_nodes.items()
            if i not in rows.nodes or rows.nodes[i].kind != k}
    delete_nodes = sorted((k, i) for i, k in gone.items())
    put_nodes = [n for n in rows.sorted_nodes() if n.id not in have_nodes or n.id in gone
                 or have_nodes[n.id][1] != n.props]
    delete_edges = sorted((k, have_nodes[s][0], have_nodes[t][0], s, t)
                          for (s, k, t) in have_edges
                          if (s, k, t) not in rows.edges and s not in gone and t not in gone)
    put_edges = [(e.kind, rows.nodes[e.source].kind, rows.nodes[e.target].kind, e)
                 for e in rows.sorted_edges()
                 if e.key not in have_edges or e.source in gone or e.target in gone
                 or have_edges[e.key] != e.props]
    return Plan(delete_nodes, delete_edges, put_nodes, put_edges)


def _grouped(items, key, value) -> list[tuple]:
    groups: dict = {}
    for item in items:
        groups.setdefault(key(item), []).append(value(item))
    return sorted(groups.items())


def _plain(props: dict) -> dict:
    return {k: v for k, v in props.items() if k not in ("id", "kind")}


def _node(props: dict) -> Node:
    return Node(props["id"], props.get("kind"), _plain(props))


# ---- connecting, and what its failures mean -------------------------------------------------
def _connect(settings: Neo4jSettings):
    try:
        import neo4j
    except ImportError:
        raise Neo4jError("KTP_NEO4J_URI is set, but the neo4j driver is not installed",
                         fix="install it (`uv sync --extra neo4j`, or `pip install neo4j`), "
                             + UNSET_HINT) from None
    scheme = settings.uri.split("://", 1)[0] if "://" in settings.uri else ""
    if scheme not in BOLT_SCHEMES:  # the driver also speaks HTTP, as a preview: not for us
        raise Neo4jError(f"KTP_NEO4J_URI={settings.uri!r} is not a Neo4j address",
                         fix="use bolt://HOST:7687 or neo4j://HOST:7687")
    try:
        # telemetry_disabled: the driver would otherwise report which of its APIs we use.
        # Notifications off: a deprecation note would be logged to stderr, past the one line.
        driver = neo4j.GraphDatabase.driver(settings.uri, auth=(settings.user,
                                                                settings.password),
                                            telemetry_disabled=True, connection_timeout=10,
                                            max_transaction_retry_time=10,
                                            notifications_min_severity="OFF")
    except Exception as error:  # noqa: BLE001 (a malformed URI: ValueError, ConfigurationError)
        raise Neo4jError(f"KTP_NEO4J_URI={settings.uri!r} is not a Neo4j address ({error})",
                         fix="use bolt://HOST:7687 or neo4j://HOST:7687") from None
    try:
        info = driver.get_server_info()
        driver.execute_query("RETURN 1", database_=settings.database, routing_="r")
    except Exception as error:  # noqa: BLE001
        driver.close()
        raise _explain(error, settings) from None
    problem = version_problem(info.agent)
    if problem:
        driver.close()
        raise Neo4jError(f"the server at {settings.uri}: {problem}",
                         fix="upgrade it to Neo4j 5.26 LTS or newer, " + UNSET_HINT)
    return driver


def _explain(error: Exception, settings: Neo4jSettings) -> Exception:
    """One line with the fix for what the driver raised; anything else as it is (a bug)."""
    from neo4j import exceptions as x

    code = getattr(error, "code", "") or ""
    where = settings.uri
    if isinstance(error, x.AuthError) or "Security.Unauthorized" in code:
        return Neo4jError(f"Neo4j at {where} refused the user {settings.user!r} and its "
                          "password", fix="set KTP_NEO4J_USER and KTP_NEO4J_PASSWORD to a "
                                          "user of that server")
    if "DatabaseNotFound" in code:
        return Neo4jError(f"Neo4j at {where} has no database {settings.database!r}",
                          fix="create it (`CREATE DATABASE name` in Enterprise), or unset "
                              "KTP_NEO4J_DATABASE to use the server's default database")
    if isinstance(error, (x.ServiceUnavailable, x.SessionExpired)) or \
            isinstance(error, OSError):
        text = str(error)
        if "protocol" in text.lower() and "version" in text.lower():
            return Neo4jError(f"the server at {where} speaks an older Bolt protocol: it is "
                              "too old for ktp (Neo4j 5 or newer)",
                              fix="upgrade it to Neo4j 5.26 LTS or newer, " + UNSET_HINT)
        return Neo4jError(f"cannot reach Neo4j at {where}: {text.splitlines()[0][:200]}",
                          fix="start the server (or correct KTP_NEO4J_URI) and run it again; "
                              "an unfinished `ktp build` resumes where it stopped, "
                              + UNSET_HINT)
    if isinstance(error, x.Neo4jError):
        return Neo4jError(f"Neo4j at {where} refused a query: {code or error}",
                          fix="check that the user may write to the database, and run it "
                              "again")
    return error
