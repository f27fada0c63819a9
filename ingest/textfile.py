"""Markdown and plain-text files, with optional YAML front matter, as documents.

Front matter keys used: `id`, `kind`, `title`, `date`, `url` (or `permalink`), `author`. Without
them: the title is the first `# heading` (else the file name), the date comes from a
`YYYY-MM-DD-` file-name prefix, and the id is derived from the URL when it names a known kind of
source (`http://karpathy.github.io/2019/04/25/recipe/` -> `blog:recipe`), else it is
`<kind>:<slug of the file name>`.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from urllib.parse import urljoin, urlsplit

from corpus.dates import DateError, iso_date
from corpus.ids import doc_id_for_url, slugify
from corpus.textnorm import fenced_blocks
from corpus.model import DOC_KINDS, ID_PREFIXES, Document
from corpus.subject import is_his
from ingest.authorship import (Attribution, by_domain, by_name, by_provenance, by_registry,
                               by_repo_owner, first)
from ingest.errors import SkipItem
from ingest.known import known, repo_named
from ingest.provenance import Provenance, provenance_of
from ingest.quoted import quoted_spans
from ingest.safe_yaml import YAMLProblem, load_yaml

MAX_BYTES = 20 * 1024 * 1024  # a single post or transcript is far smaller; bigger is a mistake
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_DATED_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)$")
_KIND_OF_PREFIX = {"blog": "blog", "tweet": "tweet", "yt": "transcript", "repo": "readme",
                   "paper": "paper"}
_PLAIN_SLUG = re.compile(r"[\w.-]+")
_HEADING = re.compile(r"^#[ \t]+([^\n]{1,300})", re.M)  # trimmed in Python: a lazy .+? before
# \s*#*\s*$ is cubic on a line of spaces


def read_text_file(path: Path) -> Document:
    text = decode(path)
    meta, body = split_front_matter(text, path)
    if not body.strip():
        raise SkipItem("no text after the front matter")
    stem = path.stem
    dated = _DATED_NAME.match(stem)
    provenance = provenance_of(path)
    site = _site_of(path, provenance)
    url = meta.get("url") or meta.get("permalink")
    if url and not str(url).startswith("http"):  # a Jekyll permalink: a page of the site
        plain = not urlsplit(str(url)).scheme  # never "javascript:…" joined into a link
        url = urljoin(site.rstrip("/") + "/", str(url).lstrip("/")) if site and plain else None
    from_url = doc_id_for_url(str(url)) if url and str(url).startswith("http") else None
    if from_url and from_url.startswith("url:"):
        from_url = None  # an unknown site: the file name names it better than its URL
    kind, doc_id = _kind_and_id(path, meta, from_url, dated, _first_heading(body))
    registered = known(doc_id)
    if not url and registered:
        url = registered.url
    elif not url and dated and kind == "blog" and site:
        url = _jekyll_url(site, dated.group(1), dated.group(2))
    if not url and provenance and by_provenance(provenance):
        url = provenance.link  # his repo's file; a copy found in another's repo is no source
    title = str(meta.get("title") or _first_heading(body) or (registered.title if registered
                                                              else None)
                or (dated.group(2) if dated else stem))
    if provenance and provenance.repo_path and kind != "readme" and \
            title.strip().lower() == provenance.name.lower():
        title = f"{title} — {provenance.repo_path}"  # not the repo's README, which shares it
    date = front_matter_date(meta.get("date")) or (file_name_date(dated.group(1)) if dated
                                                   else None) \
        or (registered.date if registered else None)
    extra = {k: v for k, v in meta.items()
             if k not in {"id", "kind", "title", "date", "url", "permalink", "author"}}
    text = reading_text(body) if path.suffix.lower() in (".md", ".markdown") else body.strip()
    excerpt = extra.pop("excerpt", None)
    if isinstance(excerpt, str) and " ".join(excerpt.split()) not in " ".join(text.split()):
        text = f"{excerpt.strip()}\n\n{text}"  # a post's summary, in the author's own words
    author, how = attribute_text(path, meta, doc_id, url, provenance)
    if is_his(author) and (spans := quoted_spans(text)):
        extra["quoted"] = spans
    try:
        return Document(id=doc_id, kind=kind, title=" ".join(title.split()), text=text,
                        author=author, date=date, url=str(url) if url else None,
                        origin=str(path), meta=_jsonable(extra), authorship=how)
    except ValueError as e:
        raise SkipItem(f"front matter: {e}") from None


# Every pattern here runs over untrusted text in linear time: no lazy `.*?` that could scan to
# the end of the file from each of many unclosed openers (`<script ` fifty thousand times took
# minutes); tags stop at the next `<` or `>`, Liquid tags are short, fences are found by lines.
_HTML_TAG = re.compile(r"<(/?[a-zA-Z][^<>]*)>")
_ALT = re.compile(r"\balt=[\"']([^\"'<>]*)[\"']", re.I)
_LIQUID = re.compile(r"{%[^\n]{0,400}?%}|{{[^\n]{0,400}?}}")
_HIDDEN_OPEN = re.compile(r"<(script|style)\b", re.I)


def reading_text(markdown: str) -> str:
    """What a reader of the page sees: inline HTML tags (Jekyll posts are full of image
    captions and styled divs) and Liquid tags removed, their text and image alt text kept;
    fenced code is left exactly as written."""
    out, pos = [], 0
    for start, end in fenced_blocks(markdown):
        out.append(_strip_markup(markdown[pos:start]))
        out.append(markdown[start:end])
        pos = end
    out.append(_strip_markup(markdown[pos:]))
    return re.sub(r"\n{3,}", "\n\n", "".join(out)).strip()


def _strip_markup(text: str) -> str:
    text = _without_hidden(_LIQUID.sub("", text))
    return _HTML_TAG.sub(_alt_text, text)


def _alt_text(tag: re.Match) -> str:
    """An image keeps its alt text (a caption in words); every other tag goes."""
    inner = tag.group(1)
    if not inner[:3].lower() == "img":
        return ""
    alt = _ALT.search(inner)
    return alt.group(1) if alt else ""


def _without_hidden(text: str) -> str:
    """Script and style elements dropped whole (never shown to a reader). An unclosed one is
    more likely prose about a tag than a script: the text after it stays."""
    out, pos = [], 0
    while m := _HIDDEN_OPEN.search(text, pos):
        out.append(text[pos:m.start()])
        found = re.compile(rf"</{m.group(1)}", re.I).search(text, m.end())
        close = found.start() if found else -1  # (offsets of `text` itself, not of a lower())
        if close < 0:
            out.append(text[m.start():])
            return "".join(out)
        gt = text.find(">", close)
        pos = len(text) if gt < 0 else gt + 1
    out.append(text[pos:])
    return "".join(out)


def attribute_text(path: Path, meta: dict, doc_id: str, url,
                   provenance: Provenance | None = None) -> Attribution:
    """Who wrote a text file: its front matter `author`, a URL on his site, the owner of the
    repo a README belongs to, a Jekyll site of his, a provenance manifest tracing it to a repo
    of his, or the registry; else unknown."""
    site = _site_of(path, provenance) if doc_id.startswith("blog:") else None
    owner = doc_id.split(":", 1)[1].split("/")[0] if doc_id.startswith("repo:") else None
    return first(
        by_name(meta.get("author"), "the file's front matter names its author"),
        by_domain(urlsplit(str(url)).hostname) if url else None,
        by_repo_owner(owner),
        by_domain(urlsplit(site).hostname) if site else None,
        by_provenance(provenance),
        by_registry(known(doc_id)))


_SAFE_ID = re.compile(r"^([a-z]+):[\w./@+-]{1,200}$")


def _kind_and_id(path: Path, meta: dict, from_url: str | None, dated,
                 heading: str | None = None) -> tuple[str, str]:
    """Explicit front matter first; then the URL; then what the file is: a dated Jekyll post
    (`2019-04-25-recipe.md` -> blog:recipe), a README (-> repo:<owner>/<name>), or a note.
    A front-matter `kind` or `id` the product does not know is ignored (it could otherwise
    masquerade as another kind of source, or smuggle markup into the prompt)."""
    kind = str(meta["kind"]) if str(meta.get("kind")) in DOC_KINDS else None
    given = _SAFE_ID.match(str(meta.get("id") or ""))
    if given and given.group(1) in ID_PREFIXES:
        prefix_kind = {"yt": "transcript", "repo": "readme"}.get(given.group(1), given.group(1))
        return str(kind or (prefix_kind if prefix_kind in DOC_KINDS else "doc")), given.group(0)
    if from_url:
        return str(kind or _KIND_OF_PREFIX[from_url.split(":")[0]]), from_url
    if dated and path.suffix.lower() in (".md", ".markdown") and kind in (None, "blog"):
        slug = dated.group(2)  # Jekyll keeps the file name's slug, case and all, in the URL
        return "blog", "blog:" + (slug if _PLAIN_SLUG.fullmatch(slug) else slugify(slug))
    if re.fullmatch(r"(.+[_-])?readme", path.stem.lower()):
        if repo := _repo_of(path):
            return str(kind or "readme"), repo
        kind = str(kind or "doc")  # a README of no known repo: its folder tells it apart,
        folder = path.parent.name  # unless the folder says nothing (an upload, a download)
        name = heading if folder.lower() in _GENERIC_FOLDERS and heading else folder
        return kind, f"{kind}:{slugify(name)}-{slugify(path.stem)}"
    kind = str(kind or "doc")
    return kind, f"{kind}:{slugify(dated.group(2) if dated else path.stem)}"


_GENERIC_FOLDERS = {"upload", "uploads", "download", "downloads", "tmp", "temp", "readmes",
                    "docs", "notes", "files", "in", "input"}


def _repo_of(readme: Path) -> str | None:
    """repo:<owner>/<name> of a README: from the git remote of the checkout whose top-level
    README it is, else a registered repo whose name prefixes the file name (`nanoGPT_README.md`).
    A README deeper inside some other checkout (a folder of notes) is not that repo's. (Its
    first heading is not evidence enough: a fork's README has the same one.)"""
    for folder in readme.resolve().parents:
        config = folder / ".git" / "config"
        if config.exists() and folder == readme.resolve().parent:
            m = re.search(r"url\s*=\s*\S*github\.com[:/]([\w.-]+)/([\w.-]+?)(?:\.git)?\s*$",
                          config.read_text(errors="replace"), re.M)
            return f"repo:{m.group(1)}/{m.group(2)}" if m else None
    prefix = re.sub(r"[_-]?readme$", "", readme.stem, flags=re.I)
    source = repo_named(prefix) if prefix else None
    return source.id if source else None


def _jekyll_url(site: str, date: str, slug: str) -> str:
    """A post's public URL on its Jekyll site (url + /YYYY/MM/DD/slug/)."""
    return f"{site.rstrip('/')}/{date.replace('-', '/')}/{slug}/"


def _site_of(path: Path, provenance: Provenance | None) -> str | None:
    """The site a page or post is published on: the `url:` of its Jekyll `_config.yml`, else
    the GitHub Pages site of the repo its provenance manifest names (`<owner>.github.io`)."""
    return _jekyll_site(path) or (provenance.pages_site if provenance else None)


def _jekyll_site(path: Path) -> str | None:
    """The `url:` of the Jekyll site (`_config.yml`) a post lives in."""
    for folder in path.resolve().parents:
        config = folder / "_config.yml"
        if config.exists():
            try:
                site = (load_yaml(config.read_text(encoding="utf-8")) or {}).get("url")
            except (OSError, ValueError, AttributeError):  # ValueError: YAML and decoding
                return None
            return str(site) if site else None
    return None


def decode(path: Path, limit: int | None = None) -> str:
    """The file as text: UTF-8 (with or without BOM) or UTF-16 with a BOM; else a clear skip."""
    size, limit = path.stat().st_size, limit or MAX_BYTES
    if size > limit:
        raise SkipItem(f"file is {size / 2**20:.0f} MiB, over the {limit // 2**20} MiB limit "
                       "for one text document; split it into smaller files")
    data = path.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with its byte-order mark
        return utf16_text(data)
    if b"\x00" in data[:8192]:
        raise SkipItem("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SkipItem(f"not UTF-8 (bad byte at offset {e.start}); convert it first, e.g. "
                       f"`iconv -f latin1 -t utf-8 {path.name} > fixed.md`") from None


def utf16_text(data: bytes, strict: bool = True) -> str:
    """Text behind a UTF-16 byte-order mark, if it really is text. NUL bytes in UTF-16 are the
    high halves of ASCII and Latin letters, so a file with NULs must decode to mostly such
    letters; binary data behind two lucky bytes decodes to a scatter of CJK and controls."""
    try:
        text = data.decode("utf-16", errors="strict" if strict else "ignore")
    except UnicodeDecodeError:
        raise SkipItem("declares UTF-16 (byte-order mark) but does not decode as it") from None
    body = text.lstrip("\ufeff")
    latin = sum(ch < "\u0250" for ch in body)
    controls = sum(ch < " " and ch not in "\t\n\r" for ch in body)
    if strict and (controls or (b"\x00" in data[2:] and latin < 0.8 * len(body)) or not body):
        raise SkipItem("binary data behind a UTF-16 byte-order mark, not text")
    return text


def split_front_matter(text: str, path: Path) -> tuple[dict, str]:
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    try:
        meta = load_yaml(m.group(1)) or {}
    except YAMLProblem as e:  # its lines counted in the file (the first --- is line 1)
        where = f" at line {e.line + 1}" if e.line else ""
        raise SkipItem(f"front matter is not valid YAML{where}: {e.problem}") from None
    if not isinstance(meta, dict):
        raise SkipItem("front matter must be a YAML mapping (key: value lines)")
    return meta, text[m.end():]


def _first_heading(body: str) -> str | None:
    m = _HEADING.search(body)
    return (m.group(1).strip().rstrip("#").strip() or None) if m else None


def front_matter_date(value) -> str | None:
    try:
        return iso_date(value)
    except DateError as e:
        raise SkipItem(f"front matter date: {e}") from None


def file_name_date(text: str) -> str | None:
    try:
        return iso_date(text)
    except DateError as e:
        raise SkipItem(f"the date in the file name: {e}") from None


def _jsonable(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
