"""The web UI's speed in a real browser, on a built home (realdata ingested and built).

    uv run --group browser python bench/ui_speed.py --home /tmp/ktp-eval [--shots DIR]

Starts `ktp serve` on 127.0.0.1, opens each page in headless Chromium and times, warm (second
visit), from clicking the page's link to its content being on screen; then times searches in
the Search page from pressing Enter to the results, against the server-side time the page
reports for the same search. Screenshots go to --shots.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from servers import ktp_serve  # noqa: E402
from test_browser import CHROMIUM, FLAGS  # noqa: E402

PAGES = {"Framework": "1. The world is physics all the way down", "Search": "Search what he said",
         "Ask": "Ask", "Graph": "Graph explorer", "Corpus": "His corpus"}
CHANGED = """prev => [...document.querySelectorAll('p')].some(
    e => /results? for .* in \\d+ ms/.test(e.innerText) && e.innerText !== prev)"""
QUERIES = ['"decade of agents"', "tokenizer", "vibe coding", "software 2.0", "nanochat",
           "self-driving", "llm.c", "education", "autoresearch", "RLHF"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--shots", type=Path, default=Path("/tmp/ktp-ui-shots"))
    args = parser.parse_args()
    args.shots.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    env = dict(os.environ, KTP_HOME=args.home)
    with ktp_serve(env) as served, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(served.url)
        page.get_by_role("heading", name=PAGES["Framework"]).wait_for(timeout=120_000)
        for visit in ("cold", "warm"):
            for name, heading in PAGES.items():
                start = time.perf_counter()
                page.get_by_role("link", name=name, exact=True).click()
                page.get_by_role("heading", name=heading, exact=True).first.wait_for(
                    timeout=120_000)
                if name == "Graph":  # the network itself, not just the page around it
                    page.locator("canvas, svg.marks").first.wait_for(timeout=120_000)
                page.wait_for_load_state("networkidle")
                took = time.perf_counter() - start
                if visit == "warm":
                    print(f"{name:10} first render, warm: {took:5.2f} s")
                    page.screenshot(path=args.shots / f"{name.lower()}.png")
        page.get_by_role("link", name="Search", exact=True).click()
        box = page.get_by_role("textbox", name="Search")
        browser_ms, server_ms = [], []
        caption = page.get_by_text(re.compile(r"results? for .* in \d+ ms")).first
        previous = ""
        for query in QUERIES * 2:
            start = time.perf_counter()
            box.fill(query)
            box.press("Enter")
            page.wait_for_function(CHANGED, arg=previous, timeout=30_000)
            browser_ms.append((time.perf_counter() - start) * 1000)
            previous = caption.inner_text()
            server_ms.append(int(re.search(r"in (\d+) ms", previous).group(1)))
        page.screenshot(path=args.shots / "search-results.png")
        browser.close()
    print(f"search, in the page: p50 {statistics.median(browser_ms):.0f} ms, "
          f"max {max(browser_ms):.0f} ms (browser, Enter to results); server side p50 "
          f"{statistics.median(server_ms):.0f} ms, max {max(server_ms)} ms")


if __name__ == "__main__":
    main()
