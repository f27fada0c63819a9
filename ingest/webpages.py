"""Web pages as documents: one article, or the posts of a blog found from its feed or index.

    for item in read_url("http://karpathy.github.io/", fetcher): ...

Article extraction (BeautifulSoup): title from og:title / the first h1 / <title>; date from
article:published_time / <time datetime> / a /YYYY/MM/DD/ URL; body from <article>, <main> or the
block holding the most paragraph text. Scripts, styles, navigation, headers, footers and forms
are dropped; code blocks keep their lines; MathJax `math/tex` scripts are kept as $…$ text.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Iterable, Iterator
from urllib.parse import urljoin, urlsplit

from corpus.ids import doc_id_for_url, normalize_url
from corpus.model import Document
from corpus.subject import is_his
from ingest.authorship import by_domain, by_name, by_registry, first
from ingest.base import Loaded, Skipped, SkipItem
from ingest.http_fetch import Fetcher, FetchError, Page, Refused, same_site
from ingest.known import registry
from ingest.quoted import quoted_spans
from corpus.dates import iso_date

MAX_POSTS = 500
_DROP = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe",
         "svg", "button", "template"]
_BLOCKS = {"p", "pre", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "figcaption",
           "dt", "dd"}
_URL_DATE = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/")


def read_url(url: str, fetcher: Fetcher) -> Iterator[Loaded | Skipped]:
    try:
        page = fetcher.get(url)
    except FetchError as e:
        raise SkipItem(str(e)) from None
    if _is_feed(page.content_type, page.body):
        yield from _feed_posts(page, fetcher)
        return
    html = page.text
    article = extract_article(html, page.url)
    feed = _feed_link(html, page.url)
    if feed and _looks_like_index(html, article, page.url):
        yield from _index_posts(html, page.url, feed, fetcher)
    elif _looks_like_index(html, article, page.url) and (links := _index_links(html, page.url)):
        yield from _posts(links, fetcher, page.url)
    else:
        yield Loaded(web_document(article, page.url, origin=url))


def _feed_posts(feed: Page, fetcher: Fetcher) -> Iterator[Loaded | Skipped]:
    """The posts of a feed the user named; where it breaks off, the posts listed before."""
    links, problem = _feed_links(feed.text, feed.url)
    if problem and not links:
        raise SkipItem(f"{feed.url}: the feed cannot be read ({problem}); is it complete?")
    if problem:
        yield Skipped(feed.url, f"{feed.url}: the feed is cut short or malformed ({problem}); "
                                f"kept the {_posts_count(links)} listed before that point")
    yield from _posts(links, fetcher, feed.url)


def _index_posts(html: str, url: str, feed: str, fetcher: Fetcher
                 ) -> Iterator[Loaded | Skipped]:
    """The posts of an index page from its feed; if the feed cannot be had, or breaks off,
    from the page's own links (with the feed's posts read before the break)."""
    try:
        links, problem = _feed_links(fetcher.get(feed, found_on=url).text, feed)
        note = problem and (f"{feed}: the feed is cut short or malformed ({problem}); the "
                            "index page's links were used as well")
    except Refused as e:  # a rule the user can change: say so
        links, note = [], f"{e}; the index page's links were used instead"
    except FetchError:  # the index page has the links too: nothing worth reporting
        links, note = [], None
    if note:
        yield Skipped(feed, note)
    if note or not links:
        links = _unique(links + _index_links(html, url))
    yield from _posts(links, fetcher, url)


def extract_article(html: str, url: str) -> dict:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = _meta(soup, "og:title") or _text_of(soup.find("h1")) or _text_of(soup.title) or url
    date = (_meta(soup, "article:published_time") or _attr(soup.find("time"), "datetime")
            or _url_date(url))
    for script in soup.find_all("script", type=re.compile(r"math/tex")):
        display = "mode=display" in (script.get("type") or "")
        script.replace_with(f"$${script.string or ''}$$" if display else f"${script.string or ''}$")
    for tag in soup(_DROP):
        tag.decompose()
    body = soup.find("article") or soup.find("main") or _densest(soup) or soup.body or soup
    author = _meta_name(soup, "author") or _meta(soup, "article:author")
    return {"title": " ".join(title.split()), "date": date, "text": block_text(body),
            "author": author}


def _meta_name(soup, name: str) -> str | None:
    tag = soup.find("meta", attrs={"name": name})
    return " ".join(str(tag.get("content") or "").split()) or None if tag else None


def read_html_file(path) -> Iterator[Loaded]:
    """A saved web page: extracted like a fetched one; its URL from rel=canonical or og:url."""
    from corpus.ids import slugify
    from ingest.textfile import decode

    html = decode(path)
    m = re.search(r"<link[^>]+rel=[\"']canonical[\"'][^>]*href=[\"']([^\"']+)", html, re.I) or \
        re.search(r"<meta[^>]+property=[\"']og:url[\"'][^>]*content=[\"']([^\"']+)", html, re.I)
    url = m.group(1) if m else None
    article = extract_article(html, url or "")
    if url:
        yield Loaded(web_document(article, url, origin=str(path)))
    elif not article["text"].strip():
        raise SkipItem("no readable text on the page")
    else:
        author, how = first(by_name(article.get("author"), "the page's author metadata"))
        yield Loaded(Document(id=f"web:{slugify(path.stem)}", kind="web", title=article["title"],
                              text=article["text"], origin=str(path), author=author,
                              authorship=how))


def web_document(article: dict, url: str, origin: str) -> Document:
    known = _registered(url)
    doc_id = known.id if known else doc_id_for_url(url)
    kind = known.kind if known else {"blog": "blog", "repo": "readme"}.get(doc_id.split(":")[0],
                                                                          "web")
    if not article["text"].strip():
        raise SkipItem(f"{url}: no readable text on the page")
    try:
        date = iso_date(article["date"]) if article["date"] else None
    except ValueError:
        date = None
    author, how = first(by_domain(urlsplit(url).hostname), by_registry(known),
                        by_name(article.get("author"), "the page's author metadata"))
    meta = {"quoted": spans} if is_his(author) and (spans := quoted_spans(
        article["text"])) else {}
    return Document(id=doc_id, kind=kind, title=article["title"], text=article["text"],
                    date=date or (known.date if known else None), url=url, origin=origin,
                    author=author, authorship=how, meta=meta)


def block_text(node) -> str:
    """Text with a blank line between blocks; <pre> keeps its line breaks."""
    out: list[str] = []

    def walk(el) -> None:
        name = getattr(el, "name", None)
        if name is None:
            out.append(str(el))
            return
        if name == "pre":
            out.append("\n\n" + el.get_text() + "\n\n")
            return
        if name == "br":
            out.append("\n")
            return
        if name in _BLOCKS:
            out.append("\n\n")
        for child in el.children:
            walk(child)
        if name in _BLOCKS:
            out.append("\n\n")

    walk(node)
    text = "".join(out)
    paragraphs = [re.sub(r"[ \t\r\f\v]+", " ", p).strip() if "\n" not in p.strip()
                  else p.strip("\n") for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p.strip())


# ---- feeds and index pages -------------------------------------------------------------------
def _is_feed(content_type: str, body: bytes) -> bool:
    head = body[:2000].lstrip().lower()
    if b"<html" in head[:500]:
        return False
    if head.startswith((b"<rss", b"<feed")):
        return True
    if head.startswith(b"<?xml"):
        return b"<rss" in head or b"<feed" in head
    return "rss" in content_type or "atom" in content_type


def _feed_link(html: str, base: str) -> str | None:
    m = re.search(r"<link[^>]+type=[\"']application/(?:rss|atom)\+xml[\"'][^>]*>", html, re.I)
    href = re.search(r"href=[\"']([^\"']+)", m.group(0)) if m else None
    return urljoin(base, href.group(1)) if href else None


def _feed_links(xml_text: str, base: str) -> tuple[list[str], str | None]:
    """The post links of an RSS or Atom feed, and what is wrong with it if it breaks off or is
    malformed: the links read before that point are kept."""
    elements, problem = _parsed_until_broken(xml_text.encode())
    links = []
    for el in elements:
        if el.tag.endswith("link") and el.text:  # RSS
            links.append(el.text)
        elif el.tag.endswith("}link") and el.get("href") and el.get("rel", "alternate") == \
                "alternate":  # Atom
            links.append(el.get("href"))
    feed_home = normalize_url(urljoin(base, "/"))
    posts = [urljoin(base, link.strip()) for link in links]
    return _unique(p for p in posts if normalize_url(p) != feed_home)[:MAX_POSTS], problem


def _parsed_until_broken(xml: bytes) -> tuple[list, str | None]:
    """The elements of an XML document as they close, up to where it breaks off or goes wrong
    (and what went wrong there)."""
    parser = ET.XMLPullParser(events=("end",))
    elements: list = []
    try:
        parser.feed(xml)
        for _, el in parser.read_events():  # raises at the spot where the XML goes wrong
            elements.append(el)
        parser.close()  # raises if the XML was cut short
        elements.extend(el for _, el in parser.read_events())
    except ET.ParseError as e:
        return elements, str(e)
    return elements, None


def _index_links(html: str, base: str) -> list[str]:
    """Links on an index page that look like its posts: same site (www. or not), dated or in a
    post list. Links elsewhere on an index are its blogroll and profiles, not its posts."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    found = []
    for a in soup.find_all("a", href=True):
        url = urljoin(base, a["href"]).split("#")[0]
        parts = urlsplit(url)
        if same_site(url, base) and normalize_url(url) != normalize_url(base) and (
                _URL_DATE.search(parts.path) or a.find_parent(["article", "li"])):
            found.append(url)
    return list(dict.fromkeys(found))[:MAX_POSTS]


def _looks_like_index(html: str, article: dict, url: str) -> bool:
    """A home or index page: little prose of its own, and many links to posts."""
    path = urlsplit(url).path.strip("/")
    dated_links = len(set(_URL_DATE.findall(html)))
    return (not path or path in ("blog", "posts", "archive")) and (
        dated_links >= 3 or len(article["text"]) < 2000)


def _posts(links: list[str], fetcher: Fetcher, found_on: str) -> Iterator[Loaded | Skipped]:
    if not links:
        raise SkipItem("an index page with no posts found on it")
    for link in links:
        try:
            page = fetcher.get(link, found_on=found_on)
            yield Loaded(web_document(extract_article(page.text, page.url), page.url,
                                      origin=link))
        except (FetchError, SkipItem) as e:
            yield Skipped(link, str(e))


def _posts_count(links: list[str]) -> str:
    return "post" if len(links) == 1 else f"{len(links)} posts"


def _unique(urls: Iterable[str]) -> list[str]:
    """The URLs in order, without a second one that normalizes like an earlier one."""
    first: dict[str, str] = {}
    for url in urls:
        first.setdefault(normalize_url(url), url)
    return list(first.values())


# ---- small helpers ---------------------------------------------------------------------------
def _registered(url: str):
    wanted = normalize_url(url)
    return next((s for s in registry().values() if normalize_url(s.url) == wanted), None)


def _meta(soup, prop: str) -> str | None:
    tag = soup.find("meta", attrs={"property": prop}) or soup.find("meta", attrs={"name": prop})
    return tag.get("content") if tag and tag.get("content") else None


def _attr(tag, name: str) -> str | None:
    return tag.get(name) if tag is not None and tag.get(name) else None


def _text_of(tag) -> str | None:
    return tag.get_text(" ", strip=True) if tag is not None and tag.get_text(strip=True) else None


def _url_date(url: str) -> str | None:
    m = _URL_DATE.search(urlsplit(url).path)
    return "-".join(m.groups()) if m else None


def _densest(soup):
    """The element whose direct paragraphs hold the most text (a common shape of post pages)."""
    best, best_len = None, 0
    for el in soup.find_all(["div", "section"]):
        length = sum(len(p.get_text()) for p in el.find_all("p", recursive=False))
        if length > best_len:
            best, best_len = el, length
    return best
