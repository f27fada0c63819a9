"""How fast `ktp mcp` answers, warm, and what the protocol costs over calling the partner directly.

    .venv/bin/python bench/mcp_speed.py --home /tmp/ktp-fs2 [--questions 20]

Starts the real server (`ktp mcp`, stdio) with the SDK's client, warms it with one
call of each kind, then times `search` (keyword queries, and questions by meaning) and `ask`
(the framework reading) over questions from bench/eval_questions.yaml: p50 and p95 from the
client's side. The baseline is the same calls, in the same order, made in this process on a
`ui.mcp_partner.Partner` opened on the same home (what each tool calls): the ratio is the
protocol's overhead (JSON-RPC over pipes, validation, serialising the result). Aims: search
under 100 ms, ask under 1 s. Without a built home it says so and exits 0.

The server records no memory, but opening a home built by another version of the code writes
caches into it (the compiled int8 encoder in models/, the framework items' vectors) and may
rebuild its graph: point --home at a copy if it must stay byte-identical.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
QUERIES = ['"decade of agents"', "tokenizer", "vibe coding", "software 2.0", "nanochat",
           "self-driving", "llm.c", "education", "reinforcement learning", "RLHF"]


def questions(n: int) -> list[str]:
    import yaml

    data = yaml.safe_load((REPO / "bench" / "eval_questions.yaml").read_text())
    return [q["question"] for q in data["questions"]][:n]


def calls(qs: list[str]) -> list[tuple[str, str, dict]]:
    """(label, tool, arguments), in the order both sides make them."""
    out = [("search keyword", "search", {"query": q, "limit": 10}) for q in QUERIES]
    out += [("search semantic", "search", {"query": q, "limit": 10, "semantic": True})
            for q in qs]
    out += [("ask", "ask", {"question": q}) for q in qs]
    return out


async def measure(home: str, plan) -> tuple[dict, dict]:
    """(times over MCP, times in process) by label. Each call is made both ways, one right
    after the other, so that both meet the same load on a shared machine; the two never run
    at once (the server idles while the partner here works, and the other way round)."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    from corpus.home import DataHome
    from ui.mcp_partner import Partner

    env = {"KTP_HOME": home, "ORT_DISABLE_TELEMETRY": "1", "ANONYMIZED_TELEMETRY": "False"}
    params = StdioServerParameters(command=sys.executable,
                                   args=["-c", "from ui.cli import main; main()", "mcp"],
                                   env=env, cwd=str(REPO))
    over: dict[str, list[float]] = {}
    direct: dict[str, list[float]] = {}
    started = time.perf_counter()
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        print(f"server started and initialised in {time.perf_counter() - started:.1f} s")
        partner = Partner.open(DataHome.resolve(home))
        for _, tool, args in warm_up(plan):
            await session.call_tool(tool, args)
            getattr(partner, tool)(**args)
        for label, tool, args in plan:
            t = time.perf_counter()
            result = await session.call_tool(tool, args)
            over.setdefault(label, []).append(time.perf_counter() - t)
            if result.is_error:
                raise SystemExit(f"{tool} failed: {result.content[0].text}")
            t = time.perf_counter()
            getattr(partner, tool)(**args)
            direct.setdefault(label, []).append(time.perf_counter() - t)
    return over, direct


def warm_up(plan):
    """One call of each kind, with a query the timed calls do not use."""
    firsts: dict[str, tuple] = {}
    for label, tool, args in plan:
        other = {k: "warm up the partner" for k in ("query", "question") if k in args}
        firsts.setdefault(label, (label, tool, {**args, **other}))
    return list(firsts.values())


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=os.environ.get("KTP_HOME"),
                        help="A built data home (default: $KTP_HOME).")
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args()
    home = Path(args.home or "").expanduser()
    built = (home / "corpus.sqlite3").is_file() and (home / "index.json").exists()
    if not args.home or not built:
        print("skipped: no built data home (pass --home DIR, a home after `ktp up`)")
        return
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    plan = calls(questions(args.questions))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    mcp, direct = asyncio.run(measure(str(home), plan))
    print(f"\n{'warm, ms':18} {'MCP p50':>8} {'p95':>7}   {'direct p50':>10} {'p95':>7}   "
          f"{'ratio p50':>9}   n")
    for label in mcp:
        m, d = mcp[label], direct[label]
        print(f"{label:18} {1000 * p(m, .5):8.1f} {1000 * p(m, .95):7.1f}   "
              f"{1000 * p(d, .5):10.1f} {1000 * p(d, .95):7.1f}   "
              f"{p(m, .5) / p(d, .5):9.2f}   {len(m)}")
    overhead = [1000 * (statistics.median(mcp[k]) - statistics.median(direct[k])) for k in mcp]
    print(f"\nprotocol overhead at the median: {min(overhead):.1f} to {max(overhead):.1f} ms a call"
          " (aims: search < 100 ms, ask < 1000 ms, both warm, from the client's side)")


if __name__ == "__main__":
    main()
