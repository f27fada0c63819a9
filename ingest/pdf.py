"""Papers from PDF: a file, or an arXiv URL (https://arxiv.org/abs/<id> or /pdf/<id>, whose PDF
is fetched), as one `paper` document whose chunks know their page.

    for item in read_pdf_file(Path("1506.02078v2.pdf")): ...   # Loaded | Skipped
    for item in read_arxiv("https://arxiv.org/abs/1506.02078", fetcher): ...

The text is read page by page with pypdf (ingest/pdf_layout.py: reading order for two columns,
running headers, footers and page numbers dropped, hyphenation at line ends repaired). The
document's text is its pages separated by blank lines; meta["pages"] holds each page's
[start, end, page number] and every chunk lies on one page and records it, so a citation
links to `<pdf url>#page=N`.

Title, authors and date: the registry of his sources by arXiv id (the id from the URL, the
file's name, or the arXiv stamp in the first page's margin), else the PDF's metadata (/Title,
/Author, /CreationDate), else the first page (its largest line is the title, the lines below
it the byline). A paper is his words, co-authored, when he is among its authors (or the
registry lists it as his); otherwise it is its first author's, never his.

Bad input is a skip with its reason, or a partial load that says what was left out: a
password, no text layer (a scan), a file cut short, more than MAX_PAGES pages, an HTML page
saved under a .pdf name. Pages are read one at a time, so a long file costs time, not memory.
The arXiv host can be pointed elsewhere (a mirror, or a test server) with KTP_ARXIV.
"""
from __future__ import annotations

import io
import logging
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from corpus.chunking import chunk_document
from corpus.dates import DateError, iso_date
from corpus.ids import slugify
from corpus.model import Document
from corpus.subject import current_subject
from ingest.authorship import by_registry, first
from ingest.base import Loaded, Skipped, SkipItem
from ingest.http_fetch import Fetcher, FetchError
from ingest.known import known
from ingest.pdf_words import repair_words
from ingest.pdf_layout import (Line, PageLines, numbered_edges, page_lines, page_text,
                               reading_order, running_lines, without_running)

MAX_BYTES = 100 * 1024 * 1024  # a paper with its figures is a few MB; a book of scans is not one
MAX_PAGES = 300  # a paper runs to tens of pages, a thesis to ~200; beyond that: a book, cut
MAX_SECONDS = 60.0  # reading one file: a pathological page must not hold up the run
PDF_MAGIC = b"%PDF-"
_ARXIV_URL = re.compile(r"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/"
                        r"(\d{4}\.\d{4,5})(v\d+)?(?:\.pdf)?/?$")
# New-style arXiv ids (since April 2007): yymm.nnnn(n), the month a real one
_ARXIV_ID = re.compile(r"(?<![\d.])((?:0[7-9]|[1-9]\d)(?:0[1-9]|1[0-2])\.\d{4,5})(v\d+)?(?!\d)")
_STAMP = re.compile(r"arXiv:(\d{4}\.\d{4,5})(v\d+)?")
_NAME_SPLIT = re.compile(r"\s*(?:,|;|\band\b|&|\n)\s*")
_NAME_NOISE = re.compile(r"[\d*†‡§¶∗]+|\S+@\S+")


def is_pdf(path: Path) -> bool:
    """The PDF header in the first kilobyte (the format allows a little junk before it)."""
    with path.open("rb") as f:
        return PDF_MAGIC in f.read(1024)


def is_arxiv_url(url: str) -> bool:
    return bool(_ARXIV_URL.match(url.strip()))


# ---- inputs ----------------------------------------------------------------------------------
def read_pdf_file(path: Path) -> Iterator[Loaded | Skipped]:
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SkipItem(f"a PDF of {size / 2**20:.0f} MB, more than the {MAX_BYTES >> 20} MB read "
                       "as one paper; split it (e.g. `qpdf --split-pages`) to ingest its parts")
    data = path.read_bytes()
    if PDF_MAGIC not in data[:1024]:
        raise SkipItem(not_a_pdf(data[:1024], "the file"))
    arxiv = _ARXIV_ID.search(path.stem)
    yield from read_pdf_bytes(data, str(path), arxiv_id=arxiv.group(1) if arxiv else None)


def read_arxiv(url: str, fetcher: Fetcher) -> Iterator[Loaded | Skipped]:
    """An arXiv abstract or PDF URL: the PDF (the version asked for, else the latest)."""
    arxiv_id, version = _ARXIV_URL.match(url.strip()).groups()
    base = os.environ.get("KTP_ARXIV", "https://arxiv.org").rstrip("/")
    pdf_url = f"{base}/pdf/{arxiv_id}{version or ''}"
    try:
        page = fetcher.get(pdf_url)
    except FetchError as e:
        raise SkipItem(str(e)) from None
    if PDF_MAGIC not in page.body[:1024]:
        raise SkipItem(not_a_pdf(page.body[:1024], pdf_url))
    yield from read_pdf_bytes(page.body, url, arxiv_id=arxiv_id)


def not_a_pdf(head: bytes, what: str) -> str:
    text = head.decode("utf-8", "ignore").lstrip().lower()
    if text.startswith(("<!doctype html", "<html", "<head", "<?xml")) or "<html" in text:
        return (f"{what} is an HTML page, not a PDF (a download that got a web page instead: a "
                "login, a captcha, an error); download the PDF again, or name it .html to "
                "ingest it as a page")
    return f"{what} is not a PDF (it does not begin with %PDF-); is it damaged?"


def read_pdf_bytes(data: bytes, origin: str, arxiv_id: str | None = None
                   ) -> Iterator[Loaded | Skipped]:
    """One paper from the bytes of a PDF; skips for what could not be read, said first."""
    with _pypdf_quiet():
        reader, cut_short = _open(data, origin)
        read = _read_pages(reader, origin, cut_short)
        info = _metadata(reader)
    stamp = _STAMP.search(read.sideways)
    yield from (Skipped(where, why) for where, why in read.problems)
    if not any(text.strip() for _, text in read.pages):
        raise SkipItem("no page has a text layer (a scanned paper?); run OCR on it first "
                       "(e.g. `ocrmypdf in.pdf out.pdf`) and ingest the result")
    yield build_paper(read, origin, info, len(reader.pages),
                      arxiv_id or (stamp.group(1) if stamp else None))


@contextmanager
def _pypdf_quiet():
    """pypdf logs what it works around ("EOF marker not found") as warnings, which would
    print in the middle of the run's output; the run reports what matters itself."""
    log = logging.getLogger("pypdf")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _open(data: bytes, origin: str):
    """(a pypdf reader, whether the file is cut short); SkipItem for one it cannot open."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PdfReadError

    # pypdf rebuilds what it can of a file cut short (strict=False); the run says so
    cut = b"%%EOF" not in data[-2048:]
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise SkipItem("the PDF is encrypted with a password; save an unprotected copy "
                           "(e.g. `qpdf --decrypt --password=… in.pdf out.pdf`) and ingest that")
        len(reader.pages)  # reads the page tree: where a damaged file fails
    except SkipItem:
        raise
    except DependencyError as e:
        raise SkipItem(f"the PDF is encrypted in a way this install cannot read ({e}); save an "
                       "unprotected copy and ingest that") from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as e:
        how = "cut short" if cut else "damaged"
        raise SkipItem(f"the PDF is {how} and cannot be read ({type(e).__name__}: {e}); "
                       "download it again") from None
    return reader, cut


@dataclass(frozen=True)
class PagesRead:
    pages: list[tuple[int, str]]  # (page number, text in reading order)
    first_lines: list[Line]  # the first page's lines, top to bottom (title, byline)
    sideways: str  # the first page's sideways text (the arXiv stamp)
    problems: list[tuple[str, str]]  # (where, why) for what was left out


def _read_pages(reader, origin: str, cut_short: bool) -> PagesRead:
    """Every page's text, up to MAX_PAGES and MAX_SECONDS. Running headers are found over all
    the pages read, then dropped from each."""
    problems: list[tuple[str, str]] = []
    total = len(reader.pages)
    laid_out: list[tuple[int, PageLines]] = []
    started = time.monotonic()
    for index in range(min(total, MAX_PAGES)):
        if time.monotonic() - started > MAX_SECONDS:
            problems.append((origin, f"reading stopped after {MAX_SECONDS:.0f} s at page "
                                     f"{index + 1} of {total}; the pages before it were kept"))
            break
        try:
            laid_out.append((index + 1, page_lines(reader.pages[index])))
        except Exception as e:  # noqa: BLE001 - one bad page must not cost the others
            problems.append((f"{origin}#page={index + 1}", f"page {index + 1} cannot be read "
                             f"({type(e).__name__}: {e}); the other pages were kept"))
    if total > MAX_PAGES:
        problems.append((origin, f"{total} pages, more than the {MAX_PAGES} read from one PDF "
                                 f"(a paper is far shorter: is it a book?); pages 1-{MAX_PAGES} "
                                 "were kept"))
    if cut_short:
        problems.append((origin, f"the file is cut short (no end marker); the {len(laid_out)} "
                                 "pages that could be read were kept; download it again for "
                                 "the rest"))
    running = running_lines([p.lines for _, p in laid_out])
    numbered = numbered_edges([(n, p.lines) for n, p in laid_out])
    texts = repair_words([page_text(reading_order(without_running(p.lines, running, numbered,
                                                                  n))) for n, p in laid_out])
    pages = [(n, text) for (n, _), text in zip(laid_out, texts)]
    empty = [n for n, text in pages if not text.strip()]
    if len(empty) < len(pages):  # (none with text: the whole file is skipped, and says why)
        problems += [(f"{origin}#page={n}", f"page {n} has no text layer (a scanned image or a "
                                            "figure only?); the other pages were kept")
                     for n in empty]
    first = laid_out[0][1] if laid_out else None
    return PagesRead(pages, list(first.lines) if first else [], first.rotated if first else "",
                     problems)


# ---- the document ----------------------------------------------------------------------------
def build_paper(read: PagesRead, origin: str, info: dict, page_count: int,
                arxiv_id: str | None) -> Loaded:
    body, spans = "", []
    for n, text in read.pages:
        text = text.strip()
        if not text:
            continue
        if body:
            body += "\n\n"
        spans.append([len(body), len(body) + len(text), n])
        body += text
    first_lines = read.first_lines
    registered = known(f"paper:{arxiv_id}") if arxiv_id else None
    title = (registered.title if registered else None) or info.get("title") or \
        _title_from(first_lines) or Path(origin).stem
    byline = _byline(first_lines)
    authors = info.get("authors") or _names(byline)
    author, how = _attribution(authors, registered, info, " ".join(byline))
    doc_id = f"paper:{arxiv_id}" if arxiv_id else f"paper:{slugify(title)[:80]}"
    url = f"https://arxiv.org/pdf/{arxiv_id}" if arxiv_id else None
    meta = {"pages": spans, "page_count": page_count, "authors": authors,
            **({"arxiv_id": arxiv_id} if arxiv_id else {}),
            **({"co_authored": True} if len(authors) > 1 or not authors else {})}
    date, precision = _date(registered, arxiv_id, info)
    if precision:
        meta["date_precision"] = precision
    doc = Document(id=doc_id, kind="paper", title=title, text=body, author=author, date=date,
                   url=url, origin=origin, meta=meta, authorship=how)
    return Loaded(doc, chunk_document(doc))  # one page each (corpus/chunking.py)


def _metadata(reader) -> dict:
    """Title, authors and creation date from the PDF's document information, where usable."""
    try:
        info = reader.metadata or {}
        title = " ".join(str(info.get("/Title") or "").split())
        author = str(info.get("/Author") or "")
        created = info.creation_date if hasattr(info, "creation_date") else None
    except Exception:  # noqa: BLE001 - metadata is a nicety: a damaged entry is no metadata
        return {}
    found = {}
    if title and not re.fullmatch(r"(untitled|microsoft word.*|.*\.(dvi|tex|docx?|pdf))", title,
                                  re.I):
        found["title"] = title
    if names := split_names(author):
        found["authors"] = names
    if created is not None:
        found["created"] = created
    return found


def split_names(text: str) -> list[str]:
    """'A. Karpathy, J. Johnson and L. Fei-Fei' -> three names (footnote marks and e-mail
    addresses dropped)."""
    names = [" ".join(_NAME_NOISE.sub(" ", part).split()) for part in
             _NAME_SPLIT.split(text or "")]
    return [n for n in names if n and len(n.split()) <= 5 and not re.search(r"\d", n)]


def _title_from(lines: list) -> str | None:
    """The first page's largest text near its top: the title (its lines joined)."""
    top = lines[:12]
    if not top:
        return None
    biggest = max(ln.size for ln in top)
    title = " ".join(ln.text for ln in top if ln.size >= biggest - 0.5)
    return title[:300] or None


def _byline(lines: list) -> list[str]:
    """The lines between the title and the abstract of the first page: names, affiliations."""
    top = lines[:12]
    if not top:
        return []
    biggest = max(ln.size for ln in top)
    found = []
    for line in top:
        if line.text.lower().startswith(("abstract", "introduction", "1 ")):
            break
        if line.size < biggest - 0.5:
            found.append(line.text)
    return found


def _names(byline: list[str]) -> list[str]:
    return [n for text in byline for n in split_names(text) if _looks_like_name(n)][:30]


def _looks_like_name(text: str) -> bool:
    words = text.split()
    return 2 <= len(words) <= 4 and all(w[:1].isupper() for w in words) and not any(
        w.lower() in ("university", "institute", "department", "inc.", "lab", "research")
        for w in words)


def _attribution(authors: list[str], registered, info: dict, byline: str
                 ) -> tuple[str, str]:
    """His words (co-authored) when he is an author (the PDF's author list or the first page's
    byline names him) or the registry lists the paper as his; else the first author's; else
    unknown."""
    subject = current_subject()
    listed = "PDF metadata" if info.get("authors") else "the first page's byline"
    if any(subject.is_named(name) for name in authors):
        others = len(authors) - 1
        return subject.name, (f"an author of the paper ({listed}"
                              + (f", with {others} co-author{'s' * (others > 1)})" if others
                                 else ")"))
    if registered is not None:
        return by_registry(registered)
    if subject.name.lower() in " ".join(byline.split()).lower():  # names run together
        return subject.name, "an author of the paper (named in the first page's byline)"
    if authors:
        return authors[0], f"first author of the paper ({listed})"
    return first()


def _date(registered, arxiv_id: str | None, info: dict) -> tuple[str | None, str | None]:
    """(date, precision): the registry's day; else the month of the arXiv id (yymm.nnnnn:
    when it was first submitted); else the PDF's creation date; else the registry's year."""
    listed = registered.date if registered else None
    if listed and len(str(listed)) >= 10:
        return _checked(listed), None
    if arxiv_id:
        year, month = 2000 + int(arxiv_id[:2]), int(arxiv_id[2:4])
        if (not listed or str(listed)[:4] == str(year)) and 1 <= month <= 12:
            return f"{year}-{month:02d}-01", "month"
    if info.get("created") is not None:
        date = _checked(info["created"])
        if date:
            return date[:10], None
    if listed:
        return f"{str(listed)[:4]}-01-01", "year"
    return None, None


def _checked(value) -> str | None:
    try:
        return iso_date(value)
    except DateError:
        return None
