"""The web UI in a real browser: headless Debian Chromium driven by Playwright, against
`ktp serve` on 127.0.0.1 (whose Python process is audited for outbound connections).

Screenshots go to $KTP_TEST_ARTIFACTS (or the test's tmp folder). `scripts/test.sh` installs
Chromium; without it these tests skip, except under CI, where they fail.
"""
import os
import re
from pathlib import Path

import pytest

from corpus.framework_loader import load_framework
from servers import audited_env, ktp_serve

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--disable-dev-shm-usage",
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1"]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing; scripts/test.sh installs it with apt-get",
                    pytrace=False)
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("KTP_TEST_ARTIFACTS") or tmp_path / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_user_browses_the_framework(browser, tmp_path, data_home, artifacts):
    fw = load_framework()
    first = fw.of_kind("axiom")[0]
    unrelated = next(a for a in fw.of_kind("axiom")
                     if "licklider" not in (a.title + a.summary + a.description).lower()
                     and not any("licklider" in q.text.lower() for q in a.quotes))
    env, net_log = audited_env(tmp_path, KTP_HOME=str(data_home))
    with ktp_serve(env) as served:
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        page.goto(served.url)
        page.get_by_role("heading", name="His framework").wait_for(timeout=60_000)
        card = page.get_by_role("heading", name=f"{first.attrs['number']}. {first.title}")
        card.wait_for()
        page.screenshot(path=artifacts / "framework-axioms.png")

        # his quotes link to their sources (the cards below the first are still being drawn)
        hrefs = page.locator("a[href^='https://x.com/karpathy/status/']")
        hrefs.first.wait_for(timeout=60_000)

        # another tab
        page.get_by_role("tab", name="Mental models").click()
        model = fw.of_kind("model")[0]
        page.get_by_role("heading", name=model.title).wait_for()

        # the filter narrows the cards
        page.get_by_role("tab", name="Axioms").click()
        box = page.get_by_role("textbox", name="Filter")
        box.fill("Licklider")
        box.press("Enter")
        unrelated_heading = page.get_by_role(
            "heading", name=f"{unrelated.attrs['number']}. {unrelated.title}")
        unrelated_heading.wait_for(state="detached")
        lineage = page.get_by_role("tab", name=re.compile(r"^Lineage \(\d+\)$"))
        lineage.click()
        page.get_by_role("heading", name=re.compile("Intelligence amplification")).wait_for()
        page.screenshot(path=artifacts / "framework-filtered.png")
        assert page.get_by_text(re.compile("Evidence: ")).count() > 0
        page.close()
    assert not net_log.exists(), net_log.read_text()


def test_a_user_browses_searches_and_asks(browser, tmp_path, small_world, artifacts):
    """The three jobs in a real browser, on a small built world: an axiom to its evidence, a
    tweet found by phrase with the match highlighted, and a cited answer whose evidence card
    links to the original."""
    home, _, _ = small_world
    env, net_log = audited_env(tmp_path, KTP_HOME=str(home.root),
                               KTP_FRAMEWORK=str(home.root.parent / "fw"))
    env.pop("KTP_LLM", None)
    with ktp_serve(env) as served:
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.goto(served.url)
        page.get_by_role("heading", name="1. Small things first").wait_for(timeout=60_000)
        page.get_by_text(re.compile(r"^The evidence: \d+ passages")).first.click()
        page.get_by_text("I always begin with the smallest thing that works.").first.wait_for()
        page.screenshot(path=artifacts / "1-axiom-evidence.png")

        page.get_by_role("link", name="Search").click()
        box = page.get_by_role("textbox", name="Search")
        box.wait_for()
        box.fill('"check it"')
        box.press("Enter")
        page.locator("strong", has_text="check it").first.wait_for()
        page.screenshot(path=artifacts / "2-search-highlight.png")

        page.get_by_role("link", name="Ask").click()
        ask = page.get_by_placeholder(re.compile("Ask about his ideas"))
        ask.wait_for()
        ask.fill("How should I start building something new?")
        ask.press("Enter")
        page.get_by_text(re.compile(r"Citations: \d+ quotes? verified in his words")).wait_for(
            timeout=60_000)
        card = page.get_by_text(re.compile(r"^\[S\d\] .* · his .* quote verified in his words$")
                                ).first
        card.wait_for()  # a cited card is open from the start
        page.get_by_role("link", name="S1", exact=True).first.click()  # the marker in the text
        page.wait_for_function("location.hash === '#source-1'")
        assert page.locator("#source-1").first.evaluate(
            "e => { const r = e.getBoundingClientRect(); return r.top >= -5 && "
            "r.top < window.innerHeight; }")  # scrolled to its card
        link = page.get_by_role("link", name="open the original").first
        link.wait_for()
        href = link.get_attribute("href")
        page.screenshot(path=artifacts / "3-ask-cited.png", full_page=True)
        page.close()
    assert href.startswith(("http://karpathy.github.io/", "https://x.com/karpathy/status/",
                            "https://www.youtube.com/watch?v="))
    assert not net_log.exists(), net_log.read_text()


def test_a_user_explores_the_graph(browser, tmp_path, data_home, artifacts):
    """The Graph page over his real framework at 1400×1000: every framework kind labelled in
    its column, eras on their axis; finding "Software 2.0" focuses his mental model, not the
    source of that name; clicking a node in the picture makes it the focus (box, heading and
    picture agree); links read in words; the evidence is one click away."""
    fw = load_framework()
    model = fw.items["model:software-2-3"]
    axiom = fw.items[model.links["axioms"][0]]
    env, net_log = audited_env(tmp_path, KTP_HOME=str(data_home))
    with ktp_serve(env) as served:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        chart = page.locator("[data-testid='stVegaLiteChart']").first
        try:
            page.goto(served.url + "/graph_explorer")
            page.get_by_role("heading", name="Graph explorer").wait_for(timeout=60_000)
            chart.locator("svg").first.wait_for(timeout=60_000)
            for text in ("Axioms", "Mental models", "Predictions", "Traditions",
                         "Tesla Autopilot and", "2017–2022"):
                chart.locator("text", has_text=text).first.wait_for()
            page.screenshot(path=artifacts / "graph-overview.png")
            chart.screenshot(path=artifacts / "graph-overview-chart.png")

            find = page.get_by_role("textbox", name="Find")
            find.fill("Software 2.0")
            find.press("Enter")
            page.get_by_role("heading", name=model.title).wait_for(timeout=30_000)
            focus = page.get_by_role("combobox", name="Focus on")
            assert focus.input_value() == f"{model.title} · Mental model"
            chart.locator("text", has_text="generated by").or_(
                chart.locator("text", has_text="generates")).first.wait_for()
            chart.screenshot(path=artifacts / "graph-focus-chart.png")

            # a click on the axiom in the picture: it becomes the focus everywhere
            chart.locator(f"path[aria-label*='name: {axiom.title}']").first.click()
            page.get_by_role("heading", name=axiom.title).wait_for(timeout=30_000)
            assert focus.input_value() == f"{axiom.title} · Axiom"
            page.get_by_text("Generates (", exact=False).first.wait_for()
            assert page.get_by_role("heading", name=model.title).count() == 0

            page.get_by_text(re.compile(r"^The evidence: \d+ quotes?")).first.click()
            quote = axiom.quotes[0].text
            page.get_by_text(quote[:40], exact=False).first.wait_for()
            page.screenshot(path=artifacts / "graph-clicked-evidence.png")
            hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
            assert all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
        except Exception:
            page.screenshot(path=artifacts / "graph-failed.png")
            raise
        finally:
            page.close()
    assert not net_log.exists(), net_log.read_text()


def _open_every_expander(page) -> None:
    """Open every collapsed expander on the page, so nothing stays unrendered; then check that
    every link on it is http(s) or a link within the page."""
    for summary in page.locator("details:not([open]) > summary").all():
        if summary.is_visible():
            summary.click()
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs), hrefs


def test_hostile_source_text_never_reaches_the_network(browser, tmp_path, hostile_world,
                                                       artifacts):
    """Every page over a corpus whose titles, ids, text, speakers, origins, URLs, ingest runs and
    framework labels carry images, HTML, scripts, broken code spans, javascript: links and
    broken attributes, all aimed at a beacon on another loopback port: the browser asks for
    nothing but the app's own origin, and the beacon hears nothing."""
    from conftest import HOSTILE_QUESTION

    home, beacon, ids = hostile_world
    env, net_log = audited_env(tmp_path, KTP_HOME=str(home.root),
                               KTP_FRAMEWORK=str(home.root.parent / "fw"))
    env.pop("KTP_LLM", None)
    requests: list[str] = []
    sockets: list[str] = []

    def shown(tag: str):  # the hostile Markdown image of `tag`, visible as text
        page.get_by_text(f"![x]({beacon.url}/{tag}-md.png)", exact=False).first.wait_for()

    with ktp_serve(env) as served:
        context = browser.new_context(viewport={"width": 1400, "height": 1400})
        context.on("request", lambda r: requests.append(r.url))
        page = context.new_page()
        page.on("websocket", lambda ws: sockets.append(ws.url))
        try:
            page.goto(served.url)
            page.get_by_role("heading", name="His framework").wait_for(timeout=60_000)
            page.get_by_text(re.compile(r"^The evidence: \d+ passages")).first.wait_for()
            _open_every_expander(page)
            shown("tweet-title")
            shown("blog-text")
            page.screenshot(path=artifacts / "hostile-framework.png", full_page=True)

            page.get_by_role("link", name="Search").click()
            box = page.get_by_role("textbox", name="Search")
            box.wait_for()
            box.fill("smallest")
            box.press("Enter")
            shown("tweet-text")
            page.get_by_text("Everything", exact=True).click()
            box.fill("script")
            box.press("Enter")
            page.get_by_text(f"{beacon.url}/blog-text.js", exact=False).first.wait_for()
            box.fill('"do you start"')
            box.press("Enter")
            page.get_by_text(f"![s]({beacon.url}/speaker.png)", exact=False).first.wait_for()
            page.screenshot(path=artifacts / "hostile-search.png", full_page=True)

            page.get_by_role("link", name="Ask").click()
            ask = page.get_by_placeholder(re.compile("Ask about his ideas"))
            ask.wait_for()
            ask.fill(HOSTILE_QUESTION)
            ask.press("Enter")
            page.get_by_text(re.compile(r"^Citations: ")).wait_for(timeout=60_000)
            _open_every_expander(page)
            shown("tweet-title")
            page.screenshot(path=artifacts / "hostile-ask.png", full_page=True)

            page.get_by_role("link", name="Graph").click()
            focus = page.get_by_role("combobox", name="Focus on")
            focus.wait_for(timeout=60_000)
            focus.click()
            page.keyboard.type("tweet-title-md")
            page.keyboard.press("Enter")
            page.get_by_text(ids["tweet"], exact=False).first.wait_for()
            page.screenshot(path=artifacts / "hostile-graph.png", full_page=True)

            page.get_by_role("link", name="Corpus").click()
            page.get_by_role("heading", name="His corpus").wait_for()
            page.get_by_text(re.compile(r": loaded 1, unchanged 0, replaced 0, skipped 1$")).click()
            shown("skip-reason")
            page.wait_for_timeout(500)  # a late image would have been asked for by now
            page.screenshot(path=artifacts / "hostile-corpus.png", full_page=True)
        except Exception:
            page.screenshot(path=artifacts / "hostile-failed.png", full_page=True)
            raise
        finally:
            context.close()
    own = served.url + "/"
    foreign = [u for u in requests if not u.startswith(own) and not u.startswith(("data:",
                                                                                  "blob:"))]
    assert foreign == [], foreign
    assert sockets and all(s.startswith(own.replace("http://", "ws://")) for s in sockets)
    assert beacon.requests == [], beacon.requests
    assert not net_log.exists(), net_log.read_text()


def test_uploads_in_the_browser(browser, tmp_path, artifacts):
    """Files uploaded through Chromium: two of one name both reach the server (the page says
    what ingest did with the second), a name like `..` is refused in the page, an edited file
    uploaded again replaces the old version, and no staging folder is left behind."""
    home = tmp_path / "upload-home"
    env, net_log = audited_env(tmp_path, KTP_HOME=str(home))
    env.pop("KTP_LLM", None)

    def upload(page, files: list[tuple[str, bytes]]) -> None:
        page.locator("input[type=file]").set_input_files(
            [{"name": n, "mimeType": "text/markdown", "buffer": b} for n, b in files])
        for name, _ in files:
            page.get_by_text(name, exact=True).first.wait_for()
        page.get_by_role("button", name="Ingest", exact=True).click()

    with ktp_serve(env) as served:
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        try:
            page.goto(served.url + "/corpus")
            page.get_by_role("heading", name="His corpus").wait_for(timeout=60_000)
            upload(page, [("README.md", b"# Alpha\n\nThe alpha project trains a model.\n"),
                          ("README.md", b"# Beta\n\nThe beta project draws a graph.\n"),
                          ("..", b"nothing")])
            page.get_by_text("loaded 2, unchanged 0, replaced 0, skipped 0").wait_for(
                timeout=120_000)  # two READMEs, told apart by their headings
            page.get_by_text("Not uploaded: '..': that is not a file name", exact=False
                             ).wait_for()
            page.screenshot(path=artifacts / "upload-same-names.png", full_page=True)

            page.reload()
            page.get_by_role("heading", name="His corpus").wait_for(timeout=60_000)
            upload(page, [("README.md", b"# Alpha\n\nThe alpha project now trains a bigger "
                                        b"model.\n")])
            page.get_by_text("loaded 0, unchanged 0, replaced 1, skipped 0").wait_for(
                timeout=120_000)
            page.screenshot(path=artifacts / "upload-replaced.png", full_page=True)
        except Exception:
            page.screenshot(path=artifacts / "upload-failed.png", full_page=True)
            raise
        finally:
            page.close()
    from corpus.store import CorpusStore

    with CorpusStore(home / "corpus.sqlite3") as store:
        assert "bigger model" in store.get("doc:alpha-readme").text
        assert "draws a graph" in store.get("doc:beta-readme").text
    assert not list(home.glob("upload-*"))
    assert not net_log.exists(), net_log.read_text()
