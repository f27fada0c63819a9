"""Stable document ids, derived from a URL or a name, shared by the ingestors and the graph.

The same source always gets the same id, wherever it is met: a framework quote that cites
`https://x.com/karpathy/status/123` and the ingested tweet both become `tweet:123`.
"""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qs, urlsplit

_TWEET = re.compile(r"^/(?:[^/]+|i/web)/status(?:es)?/(\d+)")
_GITHUB_IO_POST = re.compile(r"^/\d{4}/\d{2}/\d{2}/([^/]+)/?$")
_REPO = re.compile(r"^/([^/]+)/([^/]+?)(?:\.git)?/?$")
_ARXIV = re.compile(r"^/(?:abs|pdf)/(\d{4}\.\d{4,5})")


def slugify(text: str) -> str:
    """'Hacker's guide to Neural Networks!' -> 'hackers-guide-to-neural-networks'."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"['’]", "", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "untitled"


def normalize_url(url: str) -> str:
    """Compare URLs by what they point at: no scheme, no www, no trailing slash, no fragment."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.").removeprefix("mobile.")
    if host == "twitter.com":
        host = "x.com"
    query = f"?{parts.query}" if parts.query and host not in ("x.com",) else ""
    return f"{host}{parts.path.rstrip('/')}{query}"


def doc_id_for_url(url: str) -> str:
    """The corpus id a document at this URL gets (or would get, once ingested)."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.").removeprefix("mobile.")
    path = parts.path
    if host in ("x.com", "twitter.com") and (m := _TWEET.match(path)):
        return f"tweet:{m.group(1)}"
    if host == "youtube.com" and (vid := parse_qs(parts.query).get("v")):
        return f"yt:{vid[0]}"
    if host == "youtu.be" and path.strip("/"):
        return f"yt:{path.strip('/').split('/')[0]}"
    if host == "karpathy.github.io" and (m := _GITHUB_IO_POST.match(path)):
        return f"blog:{m.group(1)}"
    if host == "github.com" and (m := _REPO.match(path)):
        return f"repo:{m.group(1)}/{m.group(2)}"
    if host == "arxiv.org" and (m := _ARXIV.match(path)):
        return f"paper:{m.group(1)}"
    return f"url:{normalize_url(url)}"


def deep_link(url: str, at: float | None = None, page: int | None = None) -> str:
    """A link that lands on the moment: YouTube URLs get `t=<seconds>s` when a time is known;
    a PDF's gets `#page=<n>` (the open-parameter every PDF viewer in a browser follows)."""
    if page is not None:
        return f"{url.split('#')[0]}#page={int(page)}"
    if at is None or doc_id_for_url(url).split(":", 1)[0] != "yt":
        return url
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}t={int(at)}s"
