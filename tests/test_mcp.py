"""`ktp mcp` against the SDK's own client: the real server as a subprocess on the small built
world (conftest.small_world), over stdio and over streamable HTTP on 127.0.0.1."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from contextlib import asynccontextmanager

import pytest

from conftest import REPO
from servers import audited_env, free_port

pytest.importorskip("mcp", reason="the MCP SDK is not installed (uv sync --extra mcp)")

# `ktp` as the entry point runs it (ui.cli imported as a module, as `python -m` does not).
KTP = [sys.executable, "-c", "from ui.cli import main; main()"]
TOOLS = {"search", "retrieve", "ask", "framework_item", "list_framework"}
QUESTION = "How should I start building something new?"


def server_env(home) -> dict:
    return {"KTP_HOME": str(home.root), "KTP_FRAMEWORK": str(home.root.parent / "fw"),
            "ORT_DISABLE_TELEMETRY": "1", "ANONYMIZED_TELEMETRY": "False"}


@asynccontextmanager
async def stdio_session(env: dict, *args: str, errlog=None):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=KTP[0], args=[*KTP[1:], "mcp", *args],
                                   env=env, cwd=str(REPO))
    async with stdio_client(params, errlog=errlog or sys.stderr) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            yield session


@asynccontextmanager
async def http_session(url: str):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with streamable_http_client(url) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            yield session


async def call(session, tool: str, **arguments) -> dict:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return result.structured_content


async def tool_error(session, tool: str, **arguments) -> str:
    result = await session.call_tool(tool, arguments)
    assert result.is_error and result.structured_content is None
    text = result.content[0].text
    assert "Traceback" not in text and "bug in ktp" not in text
    return text


# ---- stdio: the whole tour in one session (each server start embeds and warms up) ----------
def test_stdio_server_lists_calls_reads_and_refuses(small_world, tmp_path):
    home, world, _ = small_world
    errlog = (tmp_path / "stderr.txt").open("w+")

    async def tour():
        async with stdio_session(server_env(home), errlog=errlog) as s:
            tools = (await s.list_tools()).tools
            assert {t.name for t in tools} == TOOLS
            for t in tools:
                assert t.description and t.input_schema["type"] == "object", t.name
                assert t.annotations.read_only_hint
            schema = next(t for t in tools if t.name == "search").input_schema
            assert schema["required"] == ["query"] and "tweet" in str(schema["properties"]["kind"])

            found = await call(s, "search", query="smallest", limit=5)
            assert found["results"][0]["doc_id"] == "blog:small"
            hit = found["results"][0]
            assert hit["speaker"] == "Andrej Karpathy" and hit["his_words"]
            assert hit["link"].startswith("http://karpathy.github.io/2020/01/01/small/#:~:text=")

            answer = await call(s, "ask", question=QUESTION)
            await check_answer(answer)
            evidence = (await call(s, "retrieve", question=QUESTION, k=3))["evidence"]
            assert evidence and all(e["his_words"] and e["url"] for e in evidence)

            item = await call(s, "framework_item", id="axiom:small")
            assert item["title"] == "Small things first"
            assert item["quotes"][0]["text"] == "the smallest thing that works"
            shown = item["evidence"]["shown"]
            assert shown and all("axiom:small" in p["supports"] and p["url"] for p in shown)
            assert (item["evidence"]["passages"], item["evidence"]["sources"]) == \
                world.graph.support_counts("axiom:small")
            listed = await call(s, "list_framework")
            assert [i["id"] for i in listed["kinds"]["axiom"]] == ["axiom:small", "axiom:verify"]

            resources = {str(r.uri): r for r in (await s.list_resources()).resources}
            assert "ktp://framework/model:loop" in resources
            page = (await s.read_resource("ktp://framework/axiom:small")).contents[0]
            assert page.mime_type == "text/markdown"
            assert page.text.startswith("# Small things first")
            assert "> the smallest thing that works" in page.text

            prompt = await s.get_prompt("think_like_karpathy", {"problem": QUESTION})
            text = prompt.messages[0].content.text
            assert "thinking partner" in text and "<source id=\"S1\"" in text
            assert "Small things first" in text and f"Question: {QUESTION}" in text

            message = await tool_error(s, "framework_item", id="axiom:smal")
            assert "no framework item 'axiom:smal'" in message and "axiom:small" in message

    asyncio.run(tour())
    errlog.seek(0)
    assert "Traceback" not in errlog.read()


async def check_answer(answer: dict) -> None:
    """A framework reading whose quotes are verified and lie verbatim in their passages."""
    assert answer["mode"] == "framework-reading" and answer["covered"]
    assert answer["all_verified"] and answer["prompt"] is None
    by_chunk = {e["chunk_id"]: e for e in answer["evidence"]}
    quotes = [c for c in answer["citations"] if c["status"] == "quote-verified"]
    assert quotes
    for c in quotes:
        assert c["verified"] and c["his_words"]
        assert c["quote"] in by_chunk[c["chunk_id"]]["text"]
        assert c["quote"] in answer["answer"]


# ---- HTTP: one server for these tests, a client session each -------------------------------
@pytest.fixture(scope="module")
def http_server(small_world, tmp_path_factory):
    """`ktp mcp --http` on a free loopback port; every outbound connection it tries is logged
    (servers.audited_env). Yields (url, net log)."""
    home = small_world[0]
    port = free_port()
    env, net_log = audited_env(tmp_path_factory.mktemp("mcp-http"), **server_env(home))
    server = subprocess.Popen([*KTP, "mcp", "--http", "--port", str(port)], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        wait_for_port(port, server)
        yield url, net_log
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        _, err = server.communicate(timeout=30)
        assert b"Traceback" not in err, err.decode()


def wait_for_port(port: int, server: subprocess.Popen, seconds: float = 90) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"ktp mcp --http exited: {server.stderr.read().decode()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError("ktp mcp --http did not listen")


def over_http(url: str, work):
    async def run():
        async with http_session(url) as s:
            return await work(s)
    return asyncio.run(run())


def test_http_lists_the_tools_and_answers_with_verified_quotes(http_server):
    url, net_log = http_server

    async def work(s):
        assert {t.name for t in (await s.list_tools()).tools} == TOOLS
        await check_answer(await call(s, "ask", question=QUESTION))
        return (await call(s, "search", query="reward", speaker="his", semantic=True, limit=3),
                await call(s, "search", query="reward", speaker="others", semantic=True))

    his, others = over_http(url, work)
    assert his["mode"] == "semantic" and all(h["his_words"] for h in his["results"])
    assert his["results"][0]["link"] == "https://www.youtube.com/watch?v=abcdefghijk&t=95s"
    host = [h for h in others["results"] if h["doc_id"] == "yt:podcast0001"]
    assert host and host[0]["speaker"] == "Host Person" and not host[0]["his_words"]
    assert not net_log.exists(), net_log.read_text()


def test_http_search_filters_as_ktp_search(http_server):
    url, _ = http_server

    async def work(s):
        tweets = await call(s, "search", query="automate", kind="tweet")
        older = await call(s, "search", query="automate", until="2020")
        return tweets, older

    tweets, older = over_http(url, work)
    assert {h["kind"] for h in tweets["results"]} == {"tweet"}
    assert all(h["date"][:4] <= "2020" for h in older["results"])
    assert "tweet:42" not in {h["doc_id"] for h in older["results"]}


def test_http_ask_as_of_a_date_uses_nothing_later(http_server):
    url, _ = http_server
    answer = over_http(url, lambda s: call(s, "ask", question=QUESTION, as_of="2020"))
    assert answer["as_of"] == "2020-12-31"
    assert all(e["date"][:10] <= "2020-12-31" for e in answer["evidence"])
    assert answer["answer"].startswith("**As of 2020-12-31**")


def test_http_tool_errors_say_how_to_fix_them(http_server):
    url, _ = http_server

    async def work(s):
        return [await tool_error(s, "ask", question="agents?", as_of="2019-13"),
                await tool_error(s, "search", query="agents", since="2022", until="2020"),
                await tool_error(s, "search", query="-tesla"),
                await tool_error(s, "ask", question="   ")]

    month, backwards, query, empty = over_http(url, work)
    assert "no month 13" in month
    assert "is after" in backwards
    assert "add at least one word" in query
    assert "empty" in empty


def test_http_reads_a_framework_resource(http_server):
    from mcp import MCPError

    url, _ = http_server

    async def work(s):
        listed = (await s.list_resources()).resources
        page = (await s.read_resource("ktp://framework/tension:small-vs-verify")).contents[0]
        with pytest.raises(MCPError) as typo:
            await s.read_resource("ktp://framework/axiom:smal")
        return listed, page.text, typo.value

    listed, text, typo = over_http(url, work)
    assert "no framework item 'axiom:smal'" in str(typo) and "axiom:small" in str(typo)
    assert {str(r.uri) for r in listed} >= {"ktp://framework/axiom:small",
                                            "ktp://framework/era:early"}
    assert text.startswith("# Small versus checked")
    assert "Small things first (`axiom:small`)" in text


# ---- starting up -------------------------------------------------------------------------
def test_an_empty_home_is_a_tool_error_that_says_what_to_run(tmp_path, tiny_framework):
    home = tmp_path / "empty-home"
    home.mkdir()
    env = {"KTP_HOME": str(home), "KTP_FRAMEWORK": str(tiny_framework),
           "ORT_DISABLE_TELEMETRY": "1", "ANONYMIZED_TELEMETRY": "False"}

    async def work():
        async with stdio_session(env) as s:
            message = await tool_error(s, "search", query="agents")
            items = await call(s, "list_framework", kind="axiom")
            return message, items

    message, items = asyncio.run(work())
    assert "nothing of his yet" in message and "ktp up" in message
    assert [i["id"] for i in items["kinds"]["axiom"]] == ["axiom:small", "axiom:verify"]


def test_a_missing_home_fails_at_start_in_one_line(tmp_path):
    env = {**os.environ, "KTP_HOME": str(tmp_path / "nowhere")}
    done = subprocess.run([*KTP, "mcp"], cwd=REPO, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("Error: there is no data home") and "Traceback" not in done.stderr


def test_stdio_writes_nothing_but_the_protocol_to_stdout(small_world):
    """A client as it talks on the wire (protocol 2025-06-18, as clients speak it today):
    every line the server writes to stdout is a JSON-RPC message, and the answer to each
    request is there; its logs go to stderr."""
    import json

    home = small_world[0]
    env = {**os.environ, **server_env(home)}
    server = subprocess.Popen([*KTP, "mcp"], cwd=REPO, env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)

    def send(message: dict) -> None:
        server.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
        server.stdin.flush()

    try:
        send({"id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "wire-test", "version": "0"}}})
        init = json.loads(server.stdout.readline())
        send({"method": "notifications/initialized"})
        send({"id": 2, "method": "tools/call", "params": {
            "name": "search", "arguments": {"query": "smallest", "limit": 1}}})
        call = json.loads(server.stdout.readline())
        server.stdin.close()
        rest, err = server.stdout.read(), server.stderr.read()
        server.wait(timeout=30)
    finally:
        server.kill()
    assert init["id"] == 1 and init["result"]["serverInfo"]["name"] == "karpathy-thinking-partner"
    assert call["id"] == 2 and call["result"]["structuredContent"]["results"][0]["doc_id"] == \
        "blog:small"
    assert all(json.loads(line)["jsonrpc"] == "2.0" for line in rest.splitlines())
    assert "data home" in err and "open" in err and "Traceback" not in err


def test_http_serves_calls_that_arrive_together(http_server):
    """Calls in flight at once (one client, and a second one) are served one after another
    on the thread that owns the data home, each with its own answer."""
    url, _ = http_server

    async def client(n: int):
        async with http_session(url) as s:
            return await asyncio.gather(
                call(s, "search", query="smallest"), call(s, "ask", question=QUESTION),
                call(s, "framework_item", id="model:loop"), call(s, "retrieve", question="reward"))

    async def both():
        return await asyncio.gather(client(1), client(2))

    for found, answer, item, evidence in asyncio.run(both()):
        assert found["results"][0]["doc_id"] == "blog:small"
        assert answer["all_verified"] and item["id"] == "model:loop"
        assert evidence["question"] == "reward"


def test_without_the_sdk_the_command_says_how_to_install_it(small_world):
    home = small_world[0]
    hide = ("import sys\nfor name in ('mcp', 'mcp.server', 'mcp.server.mcpserver'):\n"
            "    sys.modules[name] = None\nsys.argv = ['ktp', 'mcp']\n"
            "from ui.cli import main\nmain()\n")
    env = {**os.environ, **server_env(home)}
    done = subprocess.run([sys.executable, "-c", hide], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "uv sync --extra mcp" in done.stderr
    assert "pip install 'karpathy-thinking-partner[mcp]'" in done.stderr


def test_started_with_an_llm_ask_returns_its_answer_with_the_citations_checked(small_world):
    """`ktp mcp --llm`: the model (a scripted OpenAI-compatible server on 127.0.0.1) writes
    the answer, and its quote is verified against his words all the same."""
    from llm_server import ChatServer
    from test_llm import faithful

    home = small_world[0]
    with ChatServer(faithful) as llm:
        env = {**server_env(home), "KTP_LLM_BASE_URL": llm.url}

        async def work():
            async with stdio_session(env, "--llm", "compat:test-model") as s:
                return await call(s, "ask", question=QUESTION)

        answer = asyncio.run(work())
        asked = llm.requests[-1]["body"]["messages"]
    assert answer["mode"] == "llm" and answer["answer"].startswith("He put it this way:")
    assert answer["all_verified"]
    assert [c["status"] for c in answer["citations"]][:1] == ["quote-verified"]
    assert asked[0]["role"] == "system" and QUESTION in asked[-1]["content"]


def test_http_refuses_a_page_that_rebinds_a_name_to_the_loopback(http_server):
    """A web page cannot reach the server through DNS rebinding: a request whose Host is not
    the loopback address is refused before it reaches the partner."""
    import json
    import urllib.error
    import urllib.request

    url, _ = http_server
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Host": "attacker.example", "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 421
