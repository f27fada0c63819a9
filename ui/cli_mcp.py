"""`ktp mcp`: serve the partner to agents over the Model Context Protocol (ui/mcp_server.py).

The SDK (`mcp`) is an optional extra, imported only when this command runs, so `ktp --help`
and every other command work without it.
"""
from __future__ import annotations

import click

DEFAULT_MCP_PORT = 8765
PORT = click.IntRange(1, 65535)


@click.command("mcp")
@click.option("--http", "use_http", is_flag=True,
              help="Serve streamable HTTP on 127.0.0.1 instead of stdio.")
@click.option("--port", default=DEFAULT_MCP_PORT, show_default=True, type=PORT,
              help="Port on 127.0.0.1 (with --http).")
@click.option("--llm", "llm_spec", envvar="KTP_LLM", metavar="PROVIDER:MODEL",
              help="Let this model write `ask`'s answers, as for `ktp ask` (default: the "
                   "framework reading).")
@click.option("-k", "k", default=8, show_default=True, type=click.IntRange(1, 30),
              help="Passages of evidence for `ask` and the prompt.")
@click.pass_context
def mcp_command(ctx: click.Context, use_http: bool, port: int, llm_spec: str | None,
                k: int) -> None:
    """Serve the partner over MCP, for agents (Claude Desktop, Claude Code, Cursor, …).

    Tools: search, retrieve, ask, framework_item, list_framework; every framework item as a
    resource ktp://framework/<id>; the prompt think_like_karpathy. Over stdio (the default)
    nothing but the protocol is written to stdout; logs go to stderr. The data home is
    opened once and kept warm; the partner's memory is neither used nor recorded.

    \b
    Example:
      ktp mcp                          # stdio: what an MCP client starts
      ktp mcp --http --port 8765       # http://127.0.0.1:8765/mcp
    """
    from simulator.llm import load_llm
    from ui.cli import _home, _port_is_free  # here: ui.cli imports this module
    from ui.mcp_server import require_sdk, serve

    require_sdk()  # one line naming the extra, before anything is opened
    llm = load_llm(llm_spec)
    home = _home(ctx)
    if use_http:
        _port_is_free(port)
    serve(home, llm=llm, k=k, http_port=port if use_http else None)
