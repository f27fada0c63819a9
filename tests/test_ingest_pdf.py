"""Papers from PDF (ingest/pdf.py, ingest/pdf_layout.py): every PDF here is written by the test
with fpdf2, line by line at known places, so what reading order, hyphenation and running
headers should give is known exactly. The arXiv URL is served by a local server, never the
internet."""
import datetime as dt
import random
import shutil
import sqlite3
import subprocess

import pytest

from click.testing import CliRunner
from fpdf import FPDF

from corpus.attribution import badge
from corpus.ids import deep_link
from corpus.store import MIGRATIONS, SCHEMA_VERSION, CorpusStore, _statements
from ingest.http_fetch import Fetcher
from ingest.run import ingest_paths
from simulator.evidence import evidence_from_row
from simulator.prompt import render_sources
from ui.cli import cli
from web_server import SiteServer

WORDS = ("gradient tensor loss batch layer network training weights model data token "
         "attention optimizer learning rate kernel image caption sentence vector hidden "
         "state memory sequence output input embedding neuron signal").split()
HEADER = "Published as a conference paper at ICLR 2016"


def words(seed: int, n: int = 5) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n))


def column(tag: str, page: int, n: int) -> list[str]:
    """Lines of one column, each starting with a marker that says where it is: Lc07 is the
    left column of page 3 (c), line 7 (the page as a letter: a number that follows the page
    would be a running head's page number)."""
    return [f"{tag}{mark(page)}{i:02d} {words(page * 1000 + i + ord(tag))}" for i in range(n)]


def mark(page: int) -> str:
    return chr(ord("a") + page - 1)


def new_pdf(title=None, author=None, created=None) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=10)
    if title:
        pdf.set_title(title)
    if author:
        pdf.set_author(author)
    pdf.set_creation_date(created or dt.datetime(2016, 3, 1, tzinfo=dt.timezone.utc))
    return pdf


def page(pdf: FPDF, n: int, left: list[str], right: list[str] | None = None,
         header: str | None = HEADER, number: bool = True, top: float = 30) -> None:
    """One page: a running header, the columns (the left one drawn first, as LaTeX does), and
    the page number at the bottom."""
    pdf.add_page()
    if header:
        pdf.set_font("Helvetica", size=8)
        pdf.text(20, 12, header)
        pdf.set_font("Helvetica", size=10)
    for i, line in enumerate(left):
        pdf.text(20, top + i * 5, line)
    for i, line in enumerate(right or []):
        pdf.text(112, top + i * 5, line)
    if number:
        pdf.text(104, 285, str(n))


def two_column_paper(path, pages=3, **meta):
    pdf = new_pdf(**meta)
    for n in range(1, pages + 1):
        left, right = column("L", n, 30), column("R", n, 30)
        if n == 1:  # a word broken at the end of the left column, finished atop the right one
            left[-1] += " a rep-"
            right[0] = "resentation of " + right[0]
            left[10] += " state-of-the-"
            left[11] = "art " + left[11]
        page(pdf, n, left, right)
    pdf.output(str(path))
    return path


def loaded(store, doc_id):
    doc = store.get(doc_id)
    assert doc is not None, f"{doc_id} not stored"
    return doc, store.chunks(doc_id)


# ---- reading order, hyphenation, running headers ---------------------------------------------
def test_a_two_column_page_reads_left_column_then_right(tmp_path, store):
    path = two_column_paper(tmp_path / "paper.pdf", title="Columns", author="Some One")
    summary = ingest_paths([path], store)
    assert (summary.loaded, summary.skipped) == (1, [])
    doc, _ = loaded(store, "paper:columns")
    first_page = doc.text[:doc.meta["pages"][0][1]]
    markers = [w for w in first_page.split() if w[:2] in ("La", "Ra") and w[2:].isdigit()]
    assert markers == [f"La{i:02d}" for i in range(30)] + [f"Ra{i:02d}" for i in range(30)]


def test_words_hyphenated_at_a_line_end_are_joined_and_compounds_keep_their_hyphens(
        tmp_path, store):
    ingest_paths([two_column_paper(tmp_path / "p.pdf", title="Hyphens")], store)
    doc, _ = loaded(store, "paper:hyphens")
    assert "a representation of" in doc.text
    assert "rep-" not in doc.text
    assert "state-of-the-art" in doc.text


def test_running_headers_and_page_numbers_are_dropped(tmp_path, store):
    ingest_paths([two_column_paper(tmp_path / "p.pdf", pages=4, title="Headers")], store)
    doc, _ = loaded(store, "paper:headers")
    assert "ICLR" not in doc.text
    for start, end, n in doc.meta["pages"]:
        text = doc.text[start:end]
        assert not text.rstrip().endswith(str(n)) and not text.startswith(str(n))
    assert [n for _, _, n in doc.meta["pages"]] == [1, 2, 3, 4]


def test_a_one_column_page_reads_top_to_bottom(tmp_path, store):
    pdf = new_pdf(title="One column")
    lines = [f"W{i:02d} {words(i, 12)}" for i in range(40)]
    page(pdf, 1, lines, header=None)
    pdf.output(str(tmp_path / "one.pdf"))
    ingest_paths([tmp_path / "one.pdf"], store)
    doc, _ = loaded(store, "paper:one-column")
    assert [w for w in doc.text.split() if w[:1] == "W" and w[1:].isdigit()] == \
        [f"W{i:02d}" for i in range(40)]


def test_a_first_page_with_a_wide_title_and_abstract_above_two_columns(tmp_path, store):
    """The title, byline and abstract span the page; the columns start below them. Without
    metadata, the title and authors come from the first page."""
    pdf = new_pdf()
    pdf.add_page()
    pdf.set_font("Helvetica", size=16)
    pdf.text(40, 20, "Visualizing and Understanding Recurrent Networks")
    pdf.set_font("Helvetica", size=10)
    pdf.text(55, 30, "Andrej Karpathy, Justin Johnson, Li Fei-Fei")
    pdf.text(20, 42, "Abstract " + words(1, 14) + " ABSTRACT-END")
    for i, line in enumerate(column("L", 1, 25)):
        pdf.text(20, 55 + i * 5, line)
    for i, line in enumerate(column("R", 1, 25)):
        pdf.text(112, 55 + i * 5, line)
    pdf.output(str(tmp_path / "untitled-download.pdf"))
    ingest_paths([tmp_path / "untitled-download.pdf"], store)
    doc, _ = loaded(store, "paper:visualizing-and-understanding-recurrent-networks")
    assert doc.title == "Visualizing and Understanding Recurrent Networks"
    order = doc.text.split()
    assert order.index("ABSTRACT-END") < order.index("La00") < order.index("La24") \
        < order.index("Ra00")
    assert doc.meta["authors"] == ["Andrej Karpathy", "Justin Johnson", "Li Fei-Fei"]
    assert doc.author == "Andrej Karpathy"


# ---- metadata, pages, deep links -------------------------------------------------------------
def test_title_authors_and_date_come_from_the_pdf_metadata(tmp_path, store):
    path = two_column_paper(tmp_path / "x.pdf", title="Deep Things", author="Ada Lovelace; "
                            "Alan Turing", created=dt.datetime(2015, 6, 5, tzinfo=dt.timezone.utc))
    ingest_paths([path], store)
    doc, _ = loaded(store, "paper:deep-things")
    assert (doc.kind, doc.title, doc.date) == ("paper", "Deep Things", "2015-06-05")
    assert doc.meta["authors"] == ["Ada Lovelace", "Alan Turing"]


def test_the_registry_names_a_paper_by_its_arxiv_id(tmp_path, store):
    """A file named for its arXiv id takes the registry's title, is his (co-authored), and links
    to its PDF on arXiv."""
    path = two_column_paper(tmp_path / "1506.02078v2.pdf", title="whatever.dvi")
    ingest_paths([path], store)
    doc, chunks = loaded(store, "paper:1506.02078")
    assert doc.title == "Visualizing and Understanding Recurrent Networks"
    assert doc.url == "https://arxiv.org/pdf/1506.02078"
    assert doc.date == "2015-06-01" and doc.meta["date_precision"] == "month"
    assert doc.author == "Andrej Karpathy" and all(c.speaker == "Andrej Karpathy" for c in chunks)


def test_every_chunk_lies_on_one_page_and_links_to_it(tmp_path, store):
    ingest_paths([two_column_paper(tmp_path / "1506.02078.pdf", pages=3)], store)
    doc, chunks = loaded(store, "paper:1506.02078")
    pages = {n: (s, e) for s, e, n in doc.meta["pages"]}
    assert {c.page for c in chunks} == {1, 2, 3}
    for c in chunks:
        start, end = pages[c.page]
        assert start <= c.start < c.end <= end
    row = store.chunk_rows([chunks[-1].id])[chunks[-1].id]
    assert row["page"] == 3
    evidence = evidence_from_row(row, 1.0, ("keyword",))
    assert evidence.url == "https://arxiv.org/pdf/1506.02078#page=3"
    assert evidence.badge == "his words (co-authored paper)"
    assert 'authorship="his words (co-authored paper)"' in render_sources([evidence])
    hit = store.search("Rc05")[0]
    assert hit.page == 3 and hit.as_row()["page"] == 3
    assert deep_link("https://arxiv.org/pdf/1.2#page=9", page=2) == \
        "https://arxiv.org/pdf/1.2#page=2"


def test_chunks_chunked_again_after_a_repair_keep_their_pages(tmp_path, store):
    ingest_paths([two_column_paper(tmp_path / "1506.02078.pdf", pages=2)], store)
    before = [(c.start, c.end, c.page) for c in store.chunks("paper:1506.02078")]
    for table in ("chunks_fts", "chunks_fts_plain"):  # what a repair that lost them leaves
        store.db.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM chunks)")
    store.db.execute("DELETE FROM chunks WHERE doc_id = 'paper:1506.02078'")
    assert store.restore_chunks() == 1
    assert [(c.start, c.end, c.page) for c in store.chunks("paper:1506.02078")] == before


# ---- authorship ------------------------------------------------------------------------------
def test_a_paper_he_co_authored_is_his_words_co_authored(tmp_path, store):
    path = two_column_paper(tmp_path / "a.pdf", title="With him",
                            author="Justin Johnson, Andrej Karpathy, Li Fei-Fei")
    ingest_paths([path], store)
    doc, chunks = loaded(store, "paper:with-him")
    assert doc.author == "Andrej Karpathy" and "co-author" in doc.authorship
    hit = store.search("Ra04", speaker="his")[0]
    assert hit.his_words
    assert badge(kind="paper", author=hit.author, speaker=hit.speaker, his_words=True,
                 meta=hit.meta) == "his words (co-authored paper)"


def test_a_paper_without_him_is_not_his_words(tmp_path, store):
    path = two_column_paper(tmp_path / "b.pdf", title="Without him",
                            author="Ilya Sutskever, Oriol Vinyals, Quoc Le")
    ingest_paths([path], store)
    doc, chunks = loaded(store, "paper:without-him")
    assert doc.author == "Ilya Sutskever" and "first author" in doc.authorship
    assert store.search("Ra04", speaker="his") == []
    hit = store.search("Ra04")[0]
    assert not hit.his_words
    assert badge(kind="paper", author=hit.author, speaker=hit.speaker, his_words=False,
                 meta=hit.meta) == "by Ilya Sutskever et al., paper"


def test_the_cli_search_shows_the_co_authored_mark(tmp_path, data_home):
    path = two_column_paper(tmp_path / "1506.02078.pdf")
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(path)]).exit_code == 0
    out = runner.invoke(cli, ["search", "Rb03"])
    assert out.exit_code == 0, out.output
    assert "his words (co-authored paper)" in out.output


# ---- the store's schema ----------------------------------------------------------------------
def test_a_store_from_before_pages_upgrades_in_place(tmp_path):
    path = tmp_path / "corpus.sqlite3"
    db = sqlite3.connect(path)
    for migration in MIGRATIONS[:4]:
        for statement in _statements(migration):
            db.execute(statement)
    db.execute("INSERT INTO documents (id, kind, title, author, origin, text, hash, meta, words,"
               " updated_at, authorship) VALUES ('blog:x', 'blog', 'X', 'Andrej Karpathy', 'x',"
               " 'old words', 'h', '{}', 2, 'now', 'his site')")
    db.execute("INSERT INTO chunks (id, doc_id, n, start, end, text, speaker) VALUES"
               " ('blog:x#0', 'blog:x', 0, 0, 9, 'old words', 'Andrej Karpathy')")
    db.execute("PRAGMA user_version = 4")
    db.commit()
    db.close()
    with CorpusStore(path) as s:
        assert s.schema_version == SCHEMA_VERSION == 5
        assert [(c.text, c.page) for c in s.chunks("blog:x")] == [("old words", None)]
        assert s.get("blog:x").text == "old words"


# ---- bad input -------------------------------------------------------------------------------
def good_and(tmp_path, name: str, data: bytes):
    """A folder with one good paper and one bad file."""
    folder = tmp_path / "papers"
    folder.mkdir()
    two_column_paper(folder / "good.pdf", title="Good one")
    (folder / name).write_bytes(data)
    return folder


def reasons(summary) -> str:
    return " | ".join(s["reason"] for s in summary.skipped)


def test_an_encrypted_pdf_is_skipped_with_its_reason_and_the_rest_kept(tmp_path, store):
    pdf = new_pdf(title="Secret")
    pdf.set_encryption(owner_password="owner", user_password="secret")
    page(pdf, 1, column("L", 1, 10))
    folder = good_and(tmp_path, "secret.pdf", bytes(pdf.output()))
    summary = ingest_paths([folder], store)
    assert summary.loaded == 1 and store.get("paper:good-one")
    assert "encrypted with a password" in reasons(summary)


def test_a_pdf_locked_only_against_editing_is_read(tmp_path, store):
    pdf = new_pdf(title="Owner only")
    pdf.set_encryption(owner_password="owner")
    page(pdf, 1, column("L", 1, 10))
    pdf.output(str(tmp_path / "locked.pdf"))
    summary = ingest_paths([tmp_path / "locked.pdf"], store)
    assert (summary.loaded, summary.skipped) == (1, [])
    assert "La03" in store.get("paper:owner-only").text


def test_a_scan_without_a_text_layer_is_skipped_and_a_page_without_one_is_said(tmp_path, store):
    scan = new_pdf(title="Scan")
    for _ in range(2):
        scan.add_page()
        scan.rect(20, 20, 150, 200, style="F")  # what a scan is to a text extractor: no text
    folder = good_and(tmp_path, "scan.pdf", bytes(scan.output()))
    mixed = new_pdf(title="Mixed")
    page(mixed, 1, column("L", 1, 10), header=None)
    mixed.add_page()
    mixed.rect(20, 20, 150, 200, style="F")
    (folder / "mixed.pdf").write_bytes(bytes(mixed.output()))
    summary = ingest_paths([folder], store)
    assert summary.loaded == 2
    assert "no page has a text layer" in reasons(summary) and "ocrmypdf" in reasons(summary)
    assert any(s["path"].endswith("mixed.pdf#page=2") and "no text layer" in s["reason"]
               for s in summary.skipped)
    assert "La05" in store.get("paper:mixed").text


def test_a_truncated_pdf_is_skipped_or_partly_loaded_and_says_so(tmp_path, store):
    data = two_column_paper(tmp_path / "whole.pdf", pages=4, title="Cut").read_bytes()
    folder = good_and(tmp_path, "cut.pdf", data[:len(data) // 2])
    summary = ingest_paths([folder], store)
    assert store.get("paper:good-one")
    assert "cut short" in reasons(summary)
    cut = store.get("paper:cut")
    if cut is not None:  # what pypdf could rebuild is kept, consistently chunked
        assert store.chunks("paper:cut") and all(c.page for c in store.chunks("paper:cut"))
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_an_html_page_named_pdf_is_skipped_with_what_it_is(tmp_path, store):
    html = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>captcha"
    folder = good_and(tmp_path, "paper.pdf", html)
    summary = ingest_paths([folder], store)
    assert summary.loaded == 1
    assert "HTML page, not a PDF" in reasons(summary)
    assert [d.id for d in store.documents()] == ["paper:good-one"]


def test_a_500_page_file_is_read_up_to_the_page_cap(tmp_path, store):
    from ingest.pdf import MAX_PAGES

    pdf = new_pdf(title="Long book")
    for n in range(1, 501):
        page(pdf, n, [f"P{7 * n:04d} {words(n, 6)}", words(n + 7, 6)], header=None)
    pdf.output(str(tmp_path / "book.pdf"))
    summary = ingest_paths([tmp_path / "book.pdf"], store)
    assert summary.loaded == 1
    assert f"500 pages, more than the {MAX_PAGES}" in reasons(summary)
    doc = store.get("paper:long-book")
    assert doc.meta["pages"][-1][2] == MAX_PAGES and doc.meta["page_count"] == 500
    assert f"P{7 * MAX_PAGES:04d}" in doc.text and f"P{7 * (MAX_PAGES + 1):04d}" not in doc.text


# ---- an arXiv URL ----------------------------------------------------------------------------
def test_an_arxiv_url_fetches_its_pdf(tmp_path, store, monkeypatch):
    data = two_column_paper(tmp_path / "p.pdf", pages=2, title="x").read_bytes()
    with SiteServer({"/pdf/1506.02078v2": ("application/pdf", data),
                     "/pdf/1412.2306": ("text/html", "<!DOCTYPE html><html>not found</html>")}
                    ) as web:
        monkeypatch.setenv("KTP_ARXIV", web.url)
        fetcher = Fetcher(tmp_path / "cache", delay=0, backoff=0.01)
        summary = ingest_paths(["https://arxiv.org/abs/1506.02078v2",
                                "https://arxiv.org/pdf/1412.2306"], store, fetcher=fetcher)
    assert summary.loaded == 1
    assert "HTML page, not a PDF" in reasons(summary)
    doc, chunks = loaded(store, "paper:1506.02078")
    assert doc.origin == "https://arxiv.org/abs/1506.02078v2"
    row = store.chunk_rows([chunks[0].id])[chunks[0].id]
    assert evidence_from_row(row, 1.0, ("keyword",)).url == \
        "https://arxiv.org/pdf/1506.02078#page=1"


def test_a_running_head_that_changes_with_the_chapter_is_dropped_by_its_page_number(
        tmp_path, store):
    """A book's head says which chapter it is in, so its words change, but it carries the page
    number (printed from 11 on: front matter came before) at one height on every page."""
    pdf = new_pdf(title="Book like")
    for n in range(1, 7):
        page(pdf, n, column("L", n, 20), header=f"Chapter {1 + n // 3}: {words(n // 3, 2)} "
                                                 f"{n + 10}", number=False)
    pdf.output(str(tmp_path / "book.pdf"))
    ingest_paths([tmp_path / "book.pdf"], store)
    doc, _ = loaded(store, "paper:book-like")
    assert "Chapter" not in doc.text and "Lf19" in doc.text


def test_the_arxiv_stamp_in_the_margin_names_the_paper_and_stays_out_of_its_text(
        tmp_path, store):
    pdf = new_pdf(title="Downloaded under another name")
    page(pdf, 1, column("L", 1, 20), column("R", 1, 20))
    with pdf.rotation(90, x=10, y=200):
        pdf.text(10, 200, "arXiv:1412.2306v2 [cs.CV] 14 Apr 2015")
    page(pdf, 2, column("L", 2, 20), column("R", 2, 20))
    pdf.output(str(tmp_path / "download.pdf"))
    ingest_paths([tmp_path / "download.pdf"], store)
    doc, _ = loaded(store, "paper:1412.2306")
    assert doc.title == "Deep Visual-Semantic Alignments for Generating Image Descriptions"
    assert "arXiv:" not in doc.text and "La05" in doc.text


def test_a_damaged_pdf_says_so_without_pypdf_s_own_warnings(tmp_path, data_home):
    data = two_column_paper(tmp_path / "whole.pdf", pages=2, title="Cut").read_bytes()
    (tmp_path / "cut.pdf").write_bytes(data[:len(data) // 2])
    out = CliRunner().invoke(cli, ["ingest", str(tmp_path / "cut.pdf")])
    assert out.exit_code == 0, out.output
    assert "cut short" in out.output and "EOF marker" not in out.output


def test_a_compound_broken_at_its_hyphen_keeps_it_when_the_paper_writes_it_so_elsewhere(
        tmp_path, store):
    pdf = new_pdf(title="Compounds")
    left = column("L", 1, 12)
    left[3] += " long-range structure and long-"
    left[4] = "range memory, then a rep-"
    left[5] = "resentation " + left[5]
    page(pdf, 1, left, header=None)
    pdf.output(str(tmp_path / "c.pdf"))
    ingest_paths([tmp_path / "c.pdf"], store)
    text = store.get("paper:compounds").text
    assert "long-range memory" in text and "a representation" in text


def test_words_split_by_kerning_are_joined_where_the_pdf_splits_many():
    """pypdf reads some justified PDFs (groff's, for one) with spaces inside words: where that
    is common, a split word the paper also writes whole is joined; two real words never."""
    from ingest.pdf_words import repair_words

    clean = ("we train networks in the lab, turn to the data, look in to the night and "
             "into the day ") * 20
    assert repair_words([clean]) == [clean]
    broken = ("these netw orks learn; the networks are small. the y said in to the model "
              "they know. ") * 5
    fixed = repair_words([broken])[0]
    assert "netw orks" not in fixed and "these networks learn" in fixed
    assert "they said in to the model" in fixed


def test_a_byline_of_names_run_together_still_names_him(tmp_path, store):
    """A first page that sets its authors on one line without commas ("Justin Johnson  Andrej
    Karpathy  Li Fei-Fei"): his name in it is enough; no metadata says more."""
    pdf = new_pdf()
    pdf.add_page()
    pdf.set_font("Helvetica", size=16)
    pdf.text(40, 20, "Densely Captioned Small Images")
    pdf.set_font("Helvetica", size=10)
    pdf.text(40, 30, "Justin Johnson Andrej Karpathy Li Fei-Fei")
    for i, line in enumerate(column("L", 1, 10)):
        pdf.text(20, 45 + i * 5, line)
    pdf.output(str(tmp_path / "d.pdf"))
    ingest_paths([tmp_path / "d.pdf"], store)
    doc, chunks = loaded(store, "paper:densely-captioned-small-images")
    assert doc.author == "Andrej Karpathy" and "byline" in doc.authorship
    assert {c.speaker for c in chunks} == {"Andrej Karpathy"}


def test_a_paper_set_by_a_real_typesetter_reads_in_order(tmp_path, store):
    """groff's two-column `ms` layout: justified, hyphenated, a running head and "Page N"
    footers, each line drawn in several pieces. Skipped where groff's PDF output is not
    installed (`apt-get install groff`)."""
    if not shutil.which("groff") or not shutil.which("gropdf"):
        pytest.skip("groff with its PDF output (gropdf) is not installed")
    rng = random.Random(3)
    vocabulary = ("networks learn representations of characters and words while cells keep "
                  "track of quotes brackets and line lengths across long-range structure in "
                  "the text").split()
    paragraphs = "".join(f".PP\n{' '.join(rng.choice(vocabulary) for _ in range(70))} M{k:02d}.\n"
                         for k in range(30))
    source = (".ds CH\n.ds CF Page %\n.ds LH Notes on small models\n.nr HY 1\n.TL\n"
              "Reading Order Check\n.AU\nAndrej Karpathy\n.AU\nSomeone Else\n.AB\n"
              "A short abstract.\n.AE\n.2C\n" + paragraphs)
    pdf = subprocess.run(["groff", "-ms", "-Tpdf"], input=source.encode(), capture_output=True,
                         check=True, timeout=60).stdout
    (tmp_path / "groff.pdf").write_bytes(pdf)
    ingest_paths([tmp_path / "groff.pdf"], store)
    doc, _ = loaded(store, "paper:reading-order-check")
    assert doc.meta["page_count"] > 2
    assert [w.strip(".") for w in doc.text.split() if w.startswith("M") and w[1:3].isdigit()] \
        == [f"M{k:02d}" for k in range(30)]
    assert "Page" not in doc.text and "Notes on small models" not in doc.text
    assert "longrange" not in doc.text and "long-range" in doc.text
    assert doc.author == "Andrej Karpathy"
