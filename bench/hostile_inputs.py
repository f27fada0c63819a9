"""Peak memory and time of ingesting hostile or oversized inputs, each in its own process.

    uv run python bench/hostile_inputs.py            # all cases, in a temporary folder
    uv run python bench/hostile_inputs.py --keep /tmp/hostile   # and keep the inputs

Each case is generated, then `ktp ingest` runs on it in a fresh process with a fresh data home;
the figures are that process's peak RSS (getrusage of the child) and wall time, beside a
baseline run of a folder with one small note in the same way (what the interpreter and imports
cost). The aim: every case under 1 GB peak, none hangs, and the good items beside a bad one are
kept (the script prints what was stored and skipped).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KTP = [sys.executable, "-m", "ui.cli"]


def _entries(n: int, damaged: int | None = None) -> str:
    out = []
    for i in range(1, n + 1):
        text = json.dumps({"tweet": {"id_str": str(10_000_000 + i), "full_text": f"post {i} "
                                     "about small models and the data they learn from",
                                     "created_at": "Wed Nov 13 21:12:00 +0000 2024"}})
        out.append(text.replace('"full_text"', '"full_text" "x"', 1) if i == damaged else text)
    return "window.YTD.tweets.part0 = [\n" + ",\n".join(out) + "\n]"


def make_cases(folder: Path) -> dict[str, Path]:
    cases = {}
    base = folder / "baseline"
    base.mkdir()
    (base / "note.md").write_text("One small note.\n")
    cases["baseline: one small note"] = base

    field = folder / "huge-field"
    field.mkdir()
    with open(field / "tweets.csv", "w") as f:
        f.write("id,text,created_at\n1,a good tweet,2024-01-01\n2,")
        f.write("x" * (50 << 20))
        f.write(",2024-01-02\n3,another good tweet,2024-01-03\n")
    cases["CSV with a 50 MB field"] = field

    bomb = folder / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("data/tweets.js", "w", force_zip64=True) as member:
            member.write(b"window.YTD.tweets.part0 = [")
            block = b" " * (64 << 20)
            for _ in range(64):  # 4 GiB of spaces, a few MB compressed
                member.write(block)
            member.write(b"]")
    cases[f"zip of {bomb.stat().st_size >> 20} MB expanding to 4 GiB"] = bomb

    scripts = folder / "scripts"
    scripts.mkdir()
    (scripts / "page.md").write_text("Intro.\n\n" + "<script " * 50_000 + "\n")
    (scripts / "liquid.md").write_text("{% " * 130_000)
    (scripts / "tags.md").write_text("<a " * 130_000)
    cases["400 KB of `<script `, `{% ` and `<a ` repeats"] = scripts

    archive = folder / "archive"
    (archive / "data").mkdir(parents=True)
    (archive / "data" / "tweets.js").write_text(_entries(100_000, damaged=50_000))
    cases["tweets.js of 100,000 posts, one damaged in the middle"] = archive
    return cases


def run(path: Path, home: Path) -> dict:
    """`ktp ingest PATH` in a child process; its own peak RSS from wait4."""
    env = {**os.environ, "KTP_HOME": str(home), "ORT_DISABLE_TELEMETRY": "1"}
    with tempfile.TemporaryFile("w+") as log:
        start = time.perf_counter()
        proc = subprocess.Popen([*KTP, "ingest", str(path)], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        out = log.read()
    return {"wall": wall, "peak_mb": usage.ru_maxrss / 1024, "code": proc.returncode,
            "out": out.strip()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="generate the inputs here and keep them")
    args = parser.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="ktp-hostile-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        print("generating inputs …", flush=True)
        cases = make_cases(folder)
        for name, path in cases.items():
            home = folder / f"home-{abs(hash(name))}"
            r = run(path, home)
            lines = r["out"].splitlines()
            print(f"\n{name}\n  exit {r['code']}, {r['wall']:.1f} s, peak RSS "
                  f"{r['peak_mb']:.0f} MB")
            for line in lines[:1] + [ln for ln in lines[1:] if "skipped" in ln][:4]:
                print(f"  {line[:160]}")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
