"""Start-up costs of the `ktp` command, as ratios against a bare Python start in the same run.

    uv run python bench/startup.py [--runs 10]

Measures: `python -c pass` (baseline), `ktp --help`, `ktp stats` with the graph up to date, and
`ktp build --force` (framework load + validation + graph build + save), each as a subprocess in
a throwaway data home, median of the runs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def median_seconds(command: list[str], runs: int, env: dict) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, KTP_HOME=home)
        ktp = [sys.executable, "-m", "ui.cli"]
        subprocess.run(ktp + ["build"], env=env, check=True, stdout=subprocess.DEVNULL)
        base = median_seconds([sys.executable, "-c", "pass"], runs, env)
        rows = [("python -c pass (baseline)", base)]
        for label, args in [("ktp --help", ["--help"]), ("ktp stats (graph up to date)", ["stats"]),
                            ("ktp build --force", ["build", "--force"])]:
            rows.append((label, median_seconds(ktp + args, runs, env)))
    print(f"{'command':32} {'median s':>9} {'x baseline':>11}   ({runs} runs each)")
    for label, seconds in rows:
        print(f"{label:32} {seconds:9.3f} {seconds / base:11.1f}")


if __name__ == "__main__":
    main()
