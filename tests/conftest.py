"""An isolated world for every test: its own data home under tmp_path, the packaged framework
unless a test points KTP_FRAMEWORK elsewhere, and helpers to write small framework folders."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from corpus.home import DataHome
from corpus.model import Chunk, Document
from corpus.store import CorpusStore

REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata"
requires_realdata = pytest.mark.skipif(not REALDATA.is_dir(),
                                       reason="../shared/realdata is not here")


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "ktp-home"
    monkeypatch.setenv("KTP_HOME", str(home))
    monkeypatch.delenv("KTP_FRAMEWORK", raising=False)
    for name in ("KTP_NEO4J_URI", "KTP_NEO4J_USER", "KTP_NEO4J_PASSWORD", "KTP_NEO4J_DATABASE"):
        monkeypatch.delenv(name, raising=False)  # the embedded graph unless a test asks
    return home


@pytest.fixture
def store(tmp_path: Path):
    with CorpusStore(tmp_path / "corpus.sqlite3") as s:
        yield s


def write_files(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return folder


def thread_across_new_year(first: str, second: str):
    """A thread of his whose two tweets fall in two years (2022-12-31 and 2023-01-01): each
    passage is dated by its own tweet. (document, its two chunks)."""
    text, b0 = f"{first}\n\n{second}", len(first) + 2
    thread = Document(
        id="thread:2001", kind="thread", title="thread", date="2022-12-31T23:00:00Z",
        author=HIM, url="https://x.com/karpathy/status/2001", text=text,
        meta={"tweets": [
            {"id": "2001", "url": "https://x.com/karpathy/status/2001",
             "date": "2022-12-31T23:00:00Z", "start": 0, "end": len(first)},
            {"id": "2002", "url": "https://x.com/karpathy/status/2002",
             "date": "2023-01-01T01:00:00Z", "start": b0, "end": len(text)}]})
    return thread, [Chunk("thread:2001#0", thread.id, 0, 0, len(first), first, speaker=HIM),
                    Chunk("thread:2001#1", thread.id, 1, b0, len(text), second, speaker=HIM)]


# A framework small enough to work out by hand (see tests/test_textbook.py).
TINY_FRAMEWORK = {
    "axioms.yaml": """
        axioms:
          - id: axiom:small
            number: 1
            title: Small things first
            summary: Start with the smallest version.
            description: Build the smallest working thing before anything bigger.
            quotes:
              - text: "the smallest thing that works"
                source: {title: Small post, date: 2020-01-01, url: "http://karpathy.github.io/2020/01/01/small/"}
          - id: axiom:verify
            number: 2
            title: Check what you can
            summary: Automate what can be checked.
            description: Work that can be verified can be handed to machines.
            quotes:
              - text: "if you can check it you can automate it"
                source: {title: Tweet, date: 2021-05-05, url: "https://x.com/karpathy/status/42"}
        """,
    "mental_models.yaml": """
        mental_models:
          - id: model:loop
            title: The build loop
            summary: Build, understand, automate.
            description: First by hand, then automated.
            axioms: [axiom:small]
            quotes:
              - text: "build it by hand first"
                source: {title: Small post, date: 2020-01-01, url: "http://karpathy.github.io/2020/01/01/small/"}
        """,
    "tensions.yaml": """
        tensions:
          - id: tension:small-vs-verify
            title: Small versus checked
            summary: Small things are not always checkable.
            description: The two pull apart when checking needs scale.
            between: [axiom:small, axiom:verify]
        """,
    "eras.yaml": """
        eras:
          - id: era:early
            title: Early years
            start: 2019-01
            end: 2020-12
            summary: The early years.
            description: When the small things were built.
        """,
    "subject.yaml": """
        subject:
          name: Andrej Karpathy
          aliases: [Karpathy, Andrej]
          handles: [karpathy]
          github_owners: [karpathy]
          domains: [karpathy.github.io]
        """,
    "sources.yaml": """
        sources:
          - id: blog:small
            kind: blog
            title: Small post
            date: 2020-01-01
            url: http://karpathy.github.io/2020/01/01/small/
        """,
}


@pytest.fixture
def tiny_framework(tmp_path: Path) -> Path:
    return write_files(tmp_path / "framework", TINY_FRAMEWORK)


# A small built world (tiny framework, a few documents, a real index and graph) shared by the
# retrieval and answer tests: building it embeds with the real MiniLM, so it is made once.
LONG_POST = "\n\n".join(
    f"Paragraph {i}: the training loop, the learning rate and the loss curve all matter here, "
    f"and you should watch the loss of the training loop carefully. " * 3 for i in range(12))

HIM = "Andrej Karpathy"
DOCS = [
    Document(id="blog:small", kind="blog", title="Small post", date="2020-01-01", author=HIM,
             url="http://karpathy.github.io/2020/01/01/small/",
             text="I always begin with the smallest thing that works.\n\nThen I build it by "
                  "hand first, and only later automate it."),
    Document(id="tweet:42", kind="tweet", title="t", date="2021-05-05T10:00:00Z", author=HIM,
             url="https://x.com/karpathy/status/42",
             text="if you can check it you can automate it"),
    Document(id="tweet:43", kind="tweet", title="t", date="2024-02-02T10:00:00Z",
             url="https://x.com/karpathy/status/43", meta={"is_retweet": True}, author="@someone",
             text="Someone else: verification is the bottleneck of automation."),
    Document(id="blog:loops", kind="blog", title="Training loops", date="2019-04-25", author=HIM,
             url="http://karpathy.github.io/2019/04/25/loops/", text=LONG_POST),
    Document(id="blog:soup", kind="blog", title="Soup", date="2018-01-01", author=HIM,
             url="http://karpathy.github.io/2018/01/01/soup/",
             text="Leek and potato soup needs leeks, potatoes, butter and stock."),
]
TALK = Document(id="yt:abcdefghijk", kind="transcript", title="A tiny talk", date="2023-03-03",
                author=HIM,
                url="https://www.youtube.com/watch?v=abcdefghijk",
                text="welcome everyone. today we talk about reinforcement learning and reward.")


# An interview: the host's question (about reward, like the talk) is never his words.
PODCAST = Document(
    id="yt:podcast0001", kind="transcript", title="A tiny podcast", date="2024-04-04",
    author=HIM, url="https://www.youtube.com/watch?v=podcast0001",
    text="Host Person: Why is reward so sparse in reinforcement learning, do you think?\n\n"
         "Andrej Karpathy: Because the agent only learns from a single scalar at the end.",
    meta={"interviewer": "Host Person",
          "turns": [[0, 79, "Host Person"], [79, 158, HIM]]})
PODCAST_CHUNKS = [Chunk("yt:podcast0001#0", PODCAST.id, 0, 0, 77, PODCAST.text[:77], 0.0,
                        speaker="Host Person"),
                  Chunk("yt:podcast0001#1", PODCAST.id, 1, 79, 158, PODCAST.text[79:158], 12.0,
                        speaker=HIM)]


@pytest.fixture(scope="session")
def small_world(tmp_path_factory):
    """A data home with the tiny framework, the documents above, a built index and graph."""
    from graph.embedder import MiniLMEmbedder
    from graph.pipeline import build_index, open_index, open_world
    from simulator.retrieval import HybridRetriever

    root = tmp_path_factory.mktemp("world")
    folder = write_files(root / "fw", TINY_FRAMEWORK)
    home = DataHome(root / "home").ensure()
    with CorpusStore(home.corpus_db) as store:
        store.add_many(DOCS)
        store.add(TALK, [Chunk("yt:abcdefghijk#0", TALK.id, 0, 0, 25, TALK.text[:25], 0.0),
                         Chunk("yt:abcdefghijk#1", TALK.id, 1, 26, len(TALK.text),
                               TALK.text[26:], 95.0)])
        store.add(PODCAST, PODCAST_CHUNKS)
        embedder = MiniLMEmbedder()
        build_index(home, store, embedder)
    w = open_world(home, folder)
    index, _ = open_index(home, embedder)
    return home, w, HybridRetriever(w.store, embedder, index, w.graph, w.framework)


# A beacon: a loopback server that records every request. Hostile source text points at it, so
# anything the web UI lets through as live markup (an image, a script, a stylesheet) shows up
# here as a request.
class Beacon:
    def __init__(self):
        from http.server import BaseHTTPRequestHandler

        from servers import LoopbackServer

        self.requests: list[str] = []
        beacon = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the stdlib's name)
                beacon.requests.append(self.path)
                self.send_response(204)
                self.end_headers()

            do_POST = do_HEAD = do_GET

            def log_message(self, *args):
                pass

        self.server = LoopbackServer(Handler)
        self.url = self.server.url

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)


def hostile(beacon: str, tag: str) -> str:
    """Text that would become live markup (and a request to the beacon) if shown unescaped:
    a Markdown image, raw HTML, a script, a backtick breaking out of a code span, a javascript:
    link, an attribute broken by a quote, entities, LaTeX, a directive and an e-mail address."""
    return (f"![x]({beacon}/{tag}-md.png) <img src=\"{beacon}/{tag}-img.png\"> "
            f"<script src='{beacon}/{tag}.js'></script> `![c]({beacon}/{tag}-code.png)` "
            f"[click](javascript:fetch('{beacon}/{tag}-js')) "
            f"\"><img src={beacon}/{tag}-attr.png> &lt;b&gt;bold&lt;/b&gt; &amp; $x^2$ **b** "
            f":red[red] mail {tag}@example.org")


HOSTILE_QUESTION = "How should I start with the smallest thing that works?"
# Close enough in meaning to the question for the answer to cite it, hostile tail and all.
STARTING_SMALL = ("How should you start? Start with the smallest thing that works. I always start "
                  "with the smallest thing that works, then grow it. Start small: the smallest "
                  "thing that works first, and how to start the rest follows. ")


@pytest.fixture(scope="session")
def hostile_world(tmp_path_factory):
    """(home, beacon, ids): a built data home whose documents, ids, titles, speakers, origins,
    URLs, ingest runs and framework labels are hostile, all pointing at a running beacon."""
    from graph.pipeline import build_index

    with Beacon() as beacon:
        b = beacon.url
        root = tmp_path_factory.mktemp("hostile")
        files = dict(TINY_FRAMEWORK)
        files["axioms.yaml"] = files["axioms.yaml"].replace(
            "title: Small things first",
            "title: 'Small things first ![f](" + b + "/fw-title.png) <img src=" + b
            + "/fw-img.png> `x`'")
        write_files(root / "fw", files)
        home = DataHome(root / "home").ensure()
        tweet_id = "tweet:900`![i](" + b + "/id.png)`<img src=" + b + "/id-img.png>"
        talk_id = "yt:hostile0001"
        speaker = "Host ![s](" + b + "/speaker.png) <img src=" + b + "/speaker-img.png>"
        talk_text = (f"{speaker}: What do you start with?\n\n"
                     "Andrej Karpathy: I start with the smallest thing that works, always.")
        split = len(speaker) + len(": What do you start with?")
        docs = [
            Document(id=tweet_id, kind="tweet", title=hostile(b, "tweet-title"),
                     date="2024-01-01T00:00:00Z", author=HIM,
                     url=b + "/status\"><img src=" + b + "/url-attr.png>",
                     origin="/tmp/" + hostile(b, "origin").replace("/", "_") + ".js",
                     text=STARTING_SMALL * 3 + hostile(b, "tweet-text")),
            # blog:small is the source the tiny framework's quote cites: the post is linked to
            # its item by that quote, not by a similarity that could fall either side of the line
            Document(id="blog:small", kind="blog", title=hostile(b, "blog-title"),
                     date="2020-02-02", author=HIM, url="javascript:fetch('" + b + "/js-url')",
                     origin=b + "/origin\"<img src=" + b + "/origin-img.png>",
                     text=STARTING_SMALL + hostile(b, "blog-text")),
        ]
        talk = Document(id=talk_id, kind="transcript", title=hostile(b, "talk-title"),
                        date="2023-03-03", author=HIM,
                        url="https://www.youtube.com/watch?v=hostile0001",
                        text=talk_text, meta={"interviewer": speaker,
                                              "turns": [[0, split, speaker],
                                                        [split + 2, len(talk_text), HIM]]})
        with CorpusStore(home.corpus_db) as store:
            store.add_many(docs)
            store.add(talk, [Chunk(f"{talk_id}#0", talk_id, 0, 0, split, talk_text[:split], 0.0,
                                   speaker=speaker),
                             Chunk(f"{talk_id}#1", talk_id, 1, split + 2, len(talk_text),
                                   talk_text[split + 2:], 30.0, speaker=HIM)])
            run = store.start_run([hostile(b, "run-source")])
            store.finish_run(run, {"loaded": 1, "unchanged": 0, "replaced": 0, "skipped": [
                {"path": "/tmp/" + hostile(b, "skip-path").replace("/", "_"),
                 "reason": hostile(b, "skip-reason")}]})
            build_index(home, store)
        yield home, beacon, {"tweet": tweet_id, "talk": talk_id}


# ---- the graph backends: networkx, and a real Neo4j server ----------------------------------
NEO4J_PASSWORD = "ktp-test-password"


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory):
    """One real Neo4j Community server for the session (tests/neo4j_server.py). Without Java
    or Maven it is a one-line skip, except under CI, where it is a failure."""
    import os

    import neo4j_server as launcher

    missing = launcher.problem()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the Neo4j tests cannot run: {missing}")
        pytest.skip(f"Neo4j tests skipped: {missing}")
    server = launcher.Neo4jServer.start(tmp_path_factory.mktemp("neo4j"), NEO4J_PASSWORD)
    yield server
    server.stop()


@pytest.fixture
def neo4j_env(neo4j_server, monkeypatch):
    """KTP_NEO4J_* pointing at the test server, whose database is emptied first."""
    from graph.neo4j_store import Neo4jGraph, settings_from_env

    for name, value in neo4j_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("KTP_NEO4J_DATABASE", raising=False)
    graph = Neo4jGraph(settings_from_env())
    graph.erase()
    graph.close()
    return neo4j_server


@pytest.fixture(params=["networkx", "neo4j"])
def backend_name(request, monkeypatch) -> str:
    """Run a test once with each graph backend (open_backend picks it from the environment)."""
    if request.param == "neo4j":
        request.getfixturevalue("neo4j_env")
    else:
        monkeypatch.delenv("KTP_NEO4J_URI", raising=False)
    return request.param


@pytest.fixture
def graph_backend(backend_name, data_home):
    """An empty graph store of each kind, as `ktp build` would open it."""
    from graph.backend import open_backend

    graph = open_backend(DataHome(data_home).ensure())
    yield graph
    if hasattr(graph, "close"):
        graph.close()
