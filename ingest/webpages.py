"""Web pages as documents: one article, or the posts of a blog found from its feed or index.

    for item in read_url("http://karpathy.github.io/", fetcher): ...

Article extraction (BeautifulSoup): title from og:title / the first h1 / <title>; date from
article:published_time / <time datetime> / a /YYYY/MM/DD/ URL; body from <article>, <main> or the
block holding the most paragraph text. Scripts, styles, navigation, headers, footers and forms
are dropped; code blocks keep their lines; MathJax `math/tex` scripts are kept as $…$ text.

Bounded for what a hostile page can send (up to the fetcher's 20 MB): the parsed tree costs
~1 KB a tag (`<p>x</p>` × n took ~600 MB and ~30 s at 4 MB, with html.parser or lxml alike),
so a page with more than MAX_HTML of HTML or MAX_MARKUP tags and attributes is a skip with its
reason, not parsed at all (a cut-off page would be a silently partial article). Every walk over
the tree is iterative and linear (a page nested 100 000 deep is not a RecursionError, nor hours
of work), and so is every regular expression here; feeds are parsed as a stream that keeps only
their links.
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
MAX_HTML = 4 << 20  # bytes of HTML parsed into a tree
MAX_MARKUP = 200_000  # tags and attributes in it (each ~1 KB once parsed): ~250 MB at most
MAX_FEED_DEPTH = 256  # elements nested in a feed (a real one: under 20)
MAX_POST_PARENTS = 20  # how far up from a link <article> or <li> is looked for
_DROP = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe",
         "svg", "button", "template"]
_BLOCKS = {"p", "pre", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "figcaption",
           "dt", "dd"}
# Every regular expression of this module (tests/test_ingest_web.py runs each on hostile
# input: each must stay linear).
_URL_DATE = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/")
_MATH_TEX = re.compile(r"math/tex")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINE = re.compile(r"\n\s*\n")
_FEED_TYPES = ("application/rss+xml", "application/atom+xml")
_END_BLOCK = object()
_LOOKED_UP = frozenset({"meta", "link", "h1", "title", "time", "article", "main", "body", "div",
                        "section", *_DROP})  # block_text: the end of a block element


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
    feed = article["feed"]
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
    """title, date, text and author of a page; also its canonical URL (rel=canonical or og:url)
    and its feed (a <link> of an RSS or Atom type), absolute, or None. Raises SkipItem for a
    page too large to parse."""
    soup = _soup(html, url)
    tags = _Tags(soup)
    canonical = _canonical(tags)
    url = url or canonical or ""
    feed = _feed_link(tags, url)
    title = (_meta(tags, "og:title") or _text_of(tags.first("h1")) or _text_of(tags.first("title"))
             or url)
    date = (_meta(tags, "article:published_time") or _attr(tags.first("time"), "datetime")
            or _url_date(url))
    for script in tags.all("script"):
        if _MATH_TEX.search(script.get("type") or ""):
            display = "mode=display" in (script.get("type") or "")
            script.replace_with(f"$${script.string or ''}$$" if display
                                else f"${script.string or ''}$")
    for tag in tags.all(*_DROP):
        if not _dropped(tag):  # (not inside one dropped before)
            tag.decompose()
    body = (tags.first("article") or tags.first("main") or _densest(soup, tags)
            or tags.first("body") or soup)
    author = _meta_name(tags, "author") or _meta(tags, "article:author")
    return {"title": " ".join(title.split()), "date": date, "text": block_text(body),
            "author": author, "canonical": canonical, "feed": feed}


def _soup(html: str, url: str):
    """The parsed page, if it is small enough to parse (see the module's docstring)."""
    from bs4 import BeautifulSoup

    size = len(html) if html.isascii() else len(html.encode("utf-8", "replace"))
    markup = html.count("<") - html.count("</") + html.count("=")
    where = f"{url}: " if url else ""
    if size > MAX_HTML:
        raise SkipItem(f"{where}the page is {_size(size)} of HTML, more than the "
                       f"{_size(MAX_HTML)} read as one page; not read (save its text as a "
                       ".txt file to ingest it)")
    if markup > MAX_MARKUP:
        raise SkipItem(f"{where}the page has about {markup:,} tags and attributes, more than "
                       f"the {MAX_MARKUP:,} read as one page; not read (save its text as a "
                       ".txt file to ingest it)")
    return BeautifulSoup(html, "html.parser")


class _Tags:
    """The tags extract_article asks for, found in one walk over the page: each soup.find()
    is a walk of its own, and one for a tag the page lacks walks all of it (20 of them were
    most of the time a large page took)."""

    def __init__(self, soup):
        from bs4 import Tag

        self.in_order = [el for el in soup.descendants
                         if isinstance(el, Tag) and el.name in _LOOKED_UP]

    def all(self, *names: str) -> list:
        """In the page's order, less those dropped from it since."""
        return [t for t in self.in_order if t.name in names and not _dropped(t)]

    def first(self, name: str):
        return next((t for t in self.in_order if t.name == name and not _dropped(t)), None)


def _dropped(tag) -> bool:
    """Whether the tag was decomposed. (bs4's own `tag.decomposed` looks the attribute up as
    `tag.find("_decomposed")` while the tag is alive: a walk over all it holds.)"""
    return vars(tag).get("_decomposed", False)


def _canonical(tags: _Tags) -> str | None:
    for link in tags.all("link"):
        rels = [rel.lower() for rel in link.get_attribute_list("rel") if rel]
        if "canonical" in rels and str(link.get("href") or "").strip():
            return str(link["href"]).strip()
    return _meta(tags, "og:url")


def _feed_link(tags: _Tags, base: str) -> str | None:
    for link in tags.all("link"):
        href = str(link.get("href") or "").strip()
        if href and str(link.get("type") or "").strip().lower() in _FEED_TYPES:
            return urljoin(base, href)
    return None


def _meta_name(tags: _Tags, name: str) -> str | None:
    tag = next((m for m in tags.all("meta") if m.get("name") == name), None)
    return " ".join(str(tag.get("content") or "").split()) or None if tag else None


def read_html_file(path) -> Iterator[Loaded]:
    """A saved web page: extracted like a fetched one; its URL from rel=canonical or og:url."""
    from corpus.ids import slugify
    from ingest.textfile import decode

    html = decode(path)
    article = extract_article(html, "")
    url = article["canonical"]
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
    """Text with a blank line between blocks; <pre> keeps its line breaks. (Iterative: a page
    can nest tags deeper than Python recurses.) Comments and declarations are not text."""
    is_text = _text_test()
    out: list[str] = []
    todo = [node]  # what is left to walk, the next one last
    while todo:
        el = todo.pop()
        if el is _END_BLOCK:
            out.append("\n\n")
            continue
        name = getattr(el, "name", None)
        if name is None:
            if is_text(el):
                out.append(str(el))
        elif name == "pre":
            out.append("\n\n" + el.get_text() + "\n\n")
        elif name == "br":
            out.append("\n")
        else:
            if name in _BLOCKS:
                out.append("\n\n")
                todo.append(_END_BLOCK)
            todo.extend(reversed(el.contents))
    text = "".join(out)
    paragraphs = [_SPACES.sub(" ", p).strip() if "\n" not in p.strip()
                  else p.strip("\n") for p in _BLANK_LINE.split(text)]
    return "\n\n".join(p for p in paragraphs if p.strip())


def _text_test():
    """Whether a string is of the page's text, not a comment, a doctype or a processing
    instruction (bs4 is imported only when a page is read)."""
    from bs4.element import CData, PreformattedString

    return lambda string: not isinstance(string, PreformattedString) or isinstance(string, CData)


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


def _feed_links(xml_text: str, base: str) -> tuple[list[str], str | None]:
    """The post links of an RSS or Atom feed, and what is wrong with it if it breaks off or is
    malformed: the links read before that point are kept."""
    links, problem = _links_until_broken(xml_text.encode())
    feed_home = normalize_url(urljoin(base, "/"))
    posts = [urljoin(base, link.strip()) for link in links]
    return _unique(p for p in posts if normalize_url(p) != feed_home)[:MAX_POSTS], problem


class _TooDeep(Exception):
    pass


def _links_until_broken(xml: bytes) -> tuple[list[str], str | None]:
    """The links of a feed's XML (an RSS <link>'s text, an Atom <link>'s href), up to where it
    breaks off or goes wrong (and what went wrong there). Streamed: each element is dropped
    from the tree once it has closed, so memory goes to the links (the first few thousand
    different ones), not to the elements (a 20 MB feed of empty elements made a 1-2 GB tree)."""
    parser = ET.XMLPullParser(events=("start", "end"))
    opened: list = []
    links: dict[str, None] = {}

    def read() -> None:
        for event, el in parser.read_events():  # raises at the spot where the XML goes wrong
            if event == "start":
                opened.append(el)
                if len(opened) > MAX_FEED_DEPTH:
                    raise _TooDeep
                continue
            opened.pop()
            link = _link_of(el)
            if link and len(links) < 4 * MAX_POSTS:
                links[link] = None
        # Done with every closed element: each open one keeps only its child that is open too.
        for parent, child in zip(opened, opened[1:] + [None]):
            del parent[:-1 if child is not None and len(parent) and parent[-1] is child else None]

    try:
        for start in range(0, len(xml), 1 << 16):
            parser.feed(xml[start:start + (1 << 16)])
            read()
        parser.close()  # raises if the XML was cut short
        read()
    except ET.ParseError as e:
        return list(links), str(e)
    except _TooDeep:
        return list(links), f"elements nested more than {MAX_FEED_DEPTH} deep"
    return list(links), None


def _link_of(el) -> str | None:
    if el.tag.endswith("link") and el.text:  # RSS
        return el.text
    if el.tag.endswith("}link") and el.get("href") and el.get("rel", "alternate") == \
            "alternate":  # Atom
        return el.get("href")
    return None


def _index_links(html: str, base: str) -> list[str]:
    """Links on an index page that look like its posts: same site (www. or not), dated or in a
    post list. Links elsewhere on an index are its blogroll and profiles, not its posts."""
    soup = _soup(html, base)
    found = []
    for a in soup.find_all("a", href=True):
        url = urljoin(base, a["href"]).split("#")[0]
        parts = urlsplit(url)
        if same_site(url, base) and normalize_url(url) != normalize_url(base) and (
                _URL_DATE.search(parts.path) or _in_post_list(a)):
            found.append(url)
    return list(dict.fromkeys(found))[:MAX_POSTS]


def _in_post_list(a) -> bool:
    """Inside an <article> or <li>, near enough (a page nested 100 000 deep with a link at
    every level would otherwise cost 100 000 steps a link)."""
    for depth, parent in enumerate(a.parents):
        if depth >= MAX_POST_PARENTS:
            return False
        if parent.name in ("article", "li"):
            return True
    return False


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
            document = web_document(extract_article(page.text, page.url), page.url,
                                    origin=link)
        except (FetchError, SkipItem) as e:
            yield Skipped(link, str(e))
        except Exception as e:  # noqa: BLE001 (one odd post must not cost the ones after it)
            yield Skipped(link, f"{link}: the page could not be read ({type(e).__name__}: "
                                f"{str(e) or 'no details'})")
        else:
            yield Loaded(document)


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


def _meta(tags: _Tags, prop: str) -> str | None:
    metas = tags.all("meta")
    tag = next((m for m in metas if m.get("property") == prop), None) or next(
        (m for m in metas if m.get("name") == prop), None)
    return tag.get("content") if tag and tag.get("content") else None


def _attr(tag, name: str) -> str | None:
    return tag.get(name) if tag is not None and tag.get(name) else None


def _text_of(tag) -> str | None:
    return tag.get_text(" ", strip=True) if tag is not None and tag.get_text(strip=True) else None


def _url_date(url: str) -> str | None:
    m = _URL_DATE.search(urlsplit(url).path)
    return "-".join(m.groups()) if m else None


def _densest(soup, tags: _Tags):
    """The element whose direct paragraphs hold the most text (a common shape of post pages).
    Each element's text length is summed up from its children in one pass: asking each <p>
    for its text would read a <div><p> nested n deep n times."""
    from bs4 import Tag

    is_text = _text_test()
    length: dict[int, int] = {}  # id(tag) -> the length of its text
    todo: list = [(soup, False)]
    while todo:  # children before their parents, without recursion
        el, children_done = todo.pop()
        if children_done:
            length[id(el)] = sum(length.get(id(c), 0) if isinstance(c, Tag)
                                 else len(c) if is_text(c) else 0 for c in el.contents)
        else:
            todo.append((el, True))
            todo.extend((c, False) for c in el.contents if isinstance(c, Tag))
    best, best_len = None, 0
    for el in tags.all("div", "section"):
        text = sum(length[id(p)] for p in el.contents if getattr(p, "name", None) == "p")
        if text > best_len:
            best, best_len = el, text
    return best


def _size(n: int) -> str:
    return f"{n / (1 << 20):.3g} MB" if n >= 1 << 20 else f"{n >> 10} KB"
