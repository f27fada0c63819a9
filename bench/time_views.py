"""What `ktp new-ideas` and the framework in time cost on a built home, each against a baseline
measured in the same process (or the same kind of process), alternating rounds.

    KTP_HOME=/tmp/ktp-copy .venv/bin/python bench/time_views.py [--rounds 5]

- new-ideas, warm: `new_ideas()` in a process that has run it once, against reading the rows
  of the same recent passages of his from the store (the floor for anything that looks at
  them): the ratio is what the vectors, the clustering, the names and the quotes add.
- new-ideas, cold: `ktp new-ideas --json` as a new process, against `ktp stats --json` (a
  process that opens the same home and store and prints counts).
- framework in time: `framework_in_time()` + `eras_in_time()`, against asking the graph for
  every item's passages alone.
Use a copy of a home: the first run may write caches into it (item vectors).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from corpus.home import DataHome
from graph.pipeline import open_world
from simulator.framework_time import TIMED_KINDS, eras_in_time, framework_in_time
from simulator.new_ideas import new_ideas


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(a, b, rounds: int) -> tuple[float, float]:
    """Medians of a and b run in turn (so a busy machine slows both alike)."""
    ta, tb = [], []
    for _ in range(rounds):
        ta.append(timed(a))
        tb.append(timed(b))
    return statistics.median(ta), statistics.median(tb)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    home = DataHome.resolve(os.environ.get("KTP_HOME"))
    world = open_world(home)
    found = new_ideas(home, world.framework, world.store, world.graph)  # warm it once
    recent = [p for t in found.themes for p in t.passages]
    warm, floor = alternate(
        lambda: new_ideas(home, world.framework, world.store, world.graph),
        lambda: world.store.chunk_rows(recent), rounds)
    print(f"new-ideas warm: {warm * 1000:.0f} ms; reading its {len(recent)} passages' rows: "
          f"{floor * 1000:.0f} ms; ratio {warm / floor:.1f}x "
          f"({found.recent} recent passages, {len(found.themes)} themes)")

    ktp = [sys.executable, "-m", "ui.cli"]
    cold, stats = alternate(
        lambda: subprocess.run([*ktp, "new-ideas", "--json"], check=True, capture_output=True),
        lambda: subprocess.run([*ktp, "stats", "--json"], check=True, capture_output=True),
        max(2, rounds // 2))
    print(f"new-ideas cold (a new process): {cold:.2f} s; `ktp stats` cold: {stats:.2f} s; "
          f"ratio {cold / stats:.2f}x")

    items = [i for k in TIMED_KINDS for i in world.framework.of_kind(k)]
    both, graph_only = alternate(
        lambda: eras_in_time(world.framework,
                             framework_in_time(world.framework, world.graph, world.store)),
        lambda: [world.graph.item_passages(i.id) for i in items], rounds)
    print(f"framework in time ({len(items)} items): {both * 1000:.0f} ms; the graph's passages "
          f"alone: {graph_only * 1000:.0f} ms; ratio {both / graph_only:.1f}x")
    world.store.close()


if __name__ == "__main__":
    main()
