"""The partner as an MCP server: the tools, resources and prompt an agent sees, over stdio or
streamable HTTP on 127.0.0.1. Run it with `ktp mcp` (ui/cli_mcp.py); the answers themselves
come from `ui.mcp_partner.Partner`.

    serve(home, llm=None, http_port=None)    # stdio; with a port, http://127.0.0.1:PORT/mcp

Tools: search, retrieve, ask, framework_item, list_framework. Resources: every framework item
as ktp://framework/<id> (Markdown). Prompt: think_like_karpathy(problem).

Threads: the SDK runs synchronous handlers on a pool of worker threads, but the corpus store is
a SQLite connection that belongs to the thread that opened it, and the retriever remembers the
last question it embedded. So every handler here is async and hands its work to ONE thread of
our own, the one that opened the data home: calls are served one at a time, on warm objects,
while the event loop stays free for the protocol (pings, other HTTP sessions).

Errors: what the user can fix (an unknown id, a bad date, a home not built yet) is a tool error
whose message says how; anything else is reported as a bug in one line, its traceback on
stderr. Nothing but the protocol goes to stdout: logs are on stderr.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, Literal

from pydantic import Field
from typing_extensions import TypedDict

from corpus.errors import KtpError, explain
from corpus.framework_model import KINDS
from corpus.model import DOC_KINDS
from ui.mcp_partner import Partner, item_uri

log = logging.getLogger("ktp.mcp")
MISSING_SDK = ("the MCP server needs the `mcp` package: install the extra with "
               "`uv sync --extra mcp` (or `pip install 'karpathy-thinking-partner[mcp]'`)")
INSTRUCTIONS = """\
Consult Andrej Karpathy's framework of ideas, grounded in what he actually said. `ask` answers a
question in his framework with every citation checked against his words (a quote is "verified"
only when it is verbatim in a passage of his); `search` and `retrieve` return his passages with
deep links; `framework_item` and `list_framework` show his axioms, mental models, tensions,
predictions, lineage and eras. Quote him only from the results, and keep the links."""

DocKind = Literal[tuple(DOC_KINDS)]  # type: ignore[valid-type]
ItemKind = Literal[tuple(KINDS)]  # type: ignore[valid-type]
Since = Annotated[str | None, Field(description="From this date on: YYYY, YYYY-MM or "
                                                "YYYY-MM-DD.")]
Until = Annotated[str | None, Field(description="Up to this date, inclusive: YYYY, YYYY-MM or "
                                                "YYYY-MM-DD (a year or month means its end).")]
Undated = Annotated[bool, Field(description="With since/until, keep passages that have no date "
                                            "(left out by default, and counted).")]


class SearchResult(TypedDict):
    query: str
    mode: str  # "keyword" or "semantic"
    results: list[dict[str, Any]]  # `ktp search --json` rows + link (deep link) and badge
    undated_left_out: int


class RetrieveResult(TypedDict):
    question: str
    evidence: list[dict[str, Any]]  # `ktp retrieve --json` rows
    undated_left_out: int
    notes: list[str]


class ListResult(TypedDict):
    kinds: dict[str, list[dict[str, Any]]]
    counts: dict[str, int]


def require_sdk() -> None:
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError:
        raise KtpError(MISSING_SDK) from None


class Runner:
    """The one thread that owns the data home's objects, and the partner opened on it. A home
    that could not be opened (missing, not built) is tried again at the next call, so a server
    started before `ktp up` works once the home is there."""

    def __init__(self, home, llm=None, k: int = 8):
        self.home, self.llm, self.k = home, llm, k
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ktp-partner")
        self.partner: Partner | None = None

    def open(self) -> Partner | None:
        """Open the home now, on the partner's thread. What the user can fix (a home not
        built, a broken framework file) is logged and left for the tools to say; anything
        else reaches the CLI's one error handler."""
        def opening():
            with contextlib.redirect_stdout(sys.stderr):  # a stray print must miss the wire
                return self._partner()
        try:
            return self.pool.submit(opening).result()
        except KtpError as e:
            log.warning("ktp mcp: %s (the tools will say so until it is fixed)", e)
            return None

    def _partner(self) -> Partner:
        if self.partner is None:
            started = time.perf_counter()
            self.partner = Partner.open(self.home, self.llm, self.k)
            counts = self.partner.world.store.counts()
            log.warning("ktp mcp: data home %s open (%d documents, %d passages) in %.1f s",
                        self.home.root, counts["documents"], counts["chunks"],
                        time.perf_counter() - started)
        return self.partner

    async def call(self, method: str, *args, **kwargs):
        """Run partner.<method>(...) on the partner's thread; a user's error becomes a tool
        error that says how to fix it."""
        from mcp.server.mcpserver.exceptions import ToolError

        def work():
            return getattr(self._partner(), method)(*args, **kwargs)
        try:
            return await asyncio.wrap_future(self.pool.submit(work))
        except Exception as e:  # noqa: BLE001 - the one place that decides what the caller sees
            known = explain(e, self.home.root)
            if known is not None:
                raise ToolError(str(known)) from None
            log.exception("ktp mcp: %s failed", method)
            raise ToolError(f"this is a bug in ktp: {type(e).__name__}: {e} (the server's "
                            "stderr has the traceback; please report it)") from None

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def build_server(runner: Runner):
    """The MCP server: its tools, the framework items as resources, the prompt."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.server.mcpserver.prompts.base import Prompt, UserMessage
    from mcp.shared.exceptions import MCPError
    from mcp_types import INVALID_PARAMS, ToolAnnotations

    server = MCPServer("karpathy-thinking-partner", title="Karpathy Thinking Partner",
                       instructions=INSTRUCTIONS, log_level="WARNING")

    async def search(
        query: Annotated[str, Field(description='Words (all must match), "quoted phrases", '
                                                'prefix*, -excluded, a OR b; or, with '
                                                'semantic, any text to match by meaning.')],
        kind: Annotated[DocKind | None, Field(description="Only this kind of document.")] = None,
        since: Since = None, until: Until = None,
        speaker: Annotated[str, Field(description="his (his words only), others, any, or a "
                                                  "speaker's name.")] = "any",
        limit: Annotated[int, Field(ge=1, le=1000)] = 10,
        semantic: Annotated[bool, Field(description="Search by meaning (the vector index) "
                                                    "instead of keywords.")] = False,
        include_undated: Undated = False) -> SearchResult:
        """Search everything of his that was ingested (tweets, blog posts, talks, READMEs), as
        `ktp search --json`: ranked passages, each with its text verbatim, date, speaker,
        whether it is his words, and a deep link to the moment (the tweet, the second of the
        talk, the words on the page)."""
        return await runner.call("search", query, kind=kind, since=since, until=until,
                                 speaker=speaker, limit=limit, semantic=semantic,
                                 include_undated=include_undated)

    async def retrieve(
        question: Annotated[str, Field(description="A question, in plain words.")],
        k: Annotated[int, Field(ge=1, le=100, description="How many passages.")] = 8,
        kind: Annotated[DocKind | None, Field(description="Only this kind of document.")] = None,
        since: Since = None, until: Until = None,
        own_only: Annotated[bool, Field(description="His own posts only (no retweets).")] = False,
        speaker: Annotated[str, Field(description="his (what `ask` quotes from), others, any, "
                                                  "or a speaker's name.")] = "his",
        include_undated: Undated = False) -> RetrieveResult:
        """The evidence for a question, as `ktp retrieve --json`: his passages found by
        keywords, meaning and the framework graph, fused, each with why it was found, the
        framework items it supports, its speaker and its deep link."""
        return await runner.call("retrieve", question, k=k, kind=kind, since=since,
                                 until=until, own_only=own_only, speaker=speaker,
                                 include_undated=include_undated)

    async def ask(
        question: Annotated[str, Field(description="What to ask, e.g. 'Should I write my own "
                                                   "tokenizer to understand LLMs?'")],
        as_of: Annotated[str | None, Field(description="Answer from his material dated on or "
                                                       "before this date only (YYYY, YYYY-MM "
                                                       "or YYYY-MM-DD).")] = None,
        k: Annotated[int | None, Field(ge=1, le=30, description="How many passages of "
                                                                "evidence (default 8).")] = None,
        include_prompt: Annotated[bool, Field(description="Also return the full prompt (long) "
                                                          "in `prompt`.")] = False,
    ) -> dict[str, Any]:
        """Ask the partner: an answer in his framework, as `ktp ask --json`. `answer` is the
        text; `citations` lists every citation with its status (quote-verified: the quoted
        words are verbatim in his words in the cited passage; claim-supported / claim-weak;
        or a problem), `evidence` the passages behind it with deep links and speakers,
        `covered` whether his sources cover the question at all, `all_verified` whether no
        citation has a problem. Without an LLM configured for the server the answer is the
        framework reading, composed by rules from his words."""
        return await runner.call("ask", question, as_of=as_of, k=k,
                                 include_prompt=include_prompt)

    async def framework_item(
        id: Annotated[str, Field(description="The item's id, e.g. axiom:verifiability or "
                                             "model:software-2-3 (list_framework has them).")],
        passages: Annotated[int, Field(ge=0, le=100, description="How many of the passages "
                                                                 "backing it to include.")] = 5,
    ) -> dict[str, Any]:
        """One item of his framework (an axiom, mental model, tension, prediction, person,
        work, era, …): what it says, his quotes verbatim with their sources and deep links,
        its links to other items, and the evidence counted from the corpus (passages and
        sources that back it), with the first passages."""
        return await runner.call("framework_item", id, passages=passages)

    async def list_framework(
        kind: Annotated[ItemKind | None, Field(description="Only items of this kind.")] = None,
    ) -> ListResult:
        """The ids, titles and one-line summaries of his framework's items, by kind (axiom,
        model, tension, prediction, tradition, person, work, era, …), with counts."""
        return await runner.call("list_framework", kind)

    async def think_like_karpathy(
        problem: Annotated[str, Field(description="The problem or design question to think "
                                                  "through.")]) -> list:
        """His persona (axioms, mental models, how he approaches a problem) and his own words
        on your problem, numbered as sources, with the rules for citing them: paste-ready
        context for thinking the problem through in his framework."""
        try:
            messages = await runner.call("think_prompt", problem)
        except ToolError as e:  # a prompt has no tool error: the protocol's, same message
            raise MCPError(code=INVALID_PARAMS, message=str(e)) from None
        return [UserMessage("\n\n".join(m["content"] for m in messages))]

    # A read-only tool that reaches nothing outside the data home.
    reads = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    for tool in (search, retrieve, ask, framework_item, list_framework):
        server.add_tool(tool, description=_one_paragraph(tool.__doc__), annotations=reads)
    server.add_prompt(Prompt.from_function(
        think_like_karpathy, title="Think about a problem the way he would",
        description=_one_paragraph(think_like_karpathy.__doc__)))

    add_item_resources(server, runner)
    return server


def _one_paragraph(doc: str) -> str:
    """A docstring as the one paragraph a client shows (its line breaks are the source's)."""
    return " ".join(doc.split())


def add_item_resources(server, runner: Runner) -> None:
    """ktp://framework/<id> for every item, listed; read as Markdown on the partner's thread.
    Nothing to list while the home cannot be opened (the tools say why)."""
    from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
    from mcp.server.mcpserver.resources import FunctionResource

    if runner.partner is None:
        return
    for item in runner.partner.framework.items.values():
        async def read(item_id: str = item.id) -> str:
            try:
                return await runner.call("item_markdown", item_id)
            except Exception as e:  # a ToolError from the runner: same message
                raise ResourceError(str(e)) from None
        server.add_resource(FunctionResource(
            uri=item_uri(item.id), name=item.id, title=f"{item.label}: {item.title}",
            description=item.summary, mime_type="text/markdown", fn=read,
            meta={"kind": item.kind, "quotes": len(item.quotes)}))

    # Any other id: the template answers, with the partner's "did you mean …" for a typo.
    @server.resource(item_uri("{+item_id}"), name="framework-item", mime_type="text/markdown",
                     description="An item of his framework by id (list_framework has them).")
    async def any_item(item_id: str) -> str:
        try:
            return await runner.call("item_markdown", item_id)
        except Exception as e:
            raise ResourceNotFoundError(str(e)) from None


def serve(home, llm=None, k: int = 8, http_port: int | None = None) -> None:
    """Open the home once, then serve until the client goes (stdio) or Ctrl-C (HTTP)."""
    import anyio

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(message)s")
    runner = Runner(home, llm, k)
    runner.open()
    server = build_server(runner)
    try:
        if http_port is None:
            anyio.run(server.run_stdio_async)
        else:
            log.warning("ktp mcp: serving streamable HTTP at http://127.0.0.1:%d/mcp", http_port)
            anyio.run(lambda: server.run_streamable_http_async(host="127.0.0.1",
                                                               port=http_port))
    finally:
        runner.close()
