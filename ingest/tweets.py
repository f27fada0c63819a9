"""Tweets from scraper exports: CSV (e.g. Nitter scrapes), JSON and JSON Lines dumps, and plain
text (one tweet per line, or per blank-line-separated block).

Column and field names vary between tools, so each field is looked up under its common names
(`tweet_id`/`id`/`id_str`, `text`/`full_text`/`content`, `like_count`/`favorite_count`, ...);
column order and extra columns do not matter. Every row is its own item: a bad row is skipped
with its line number and the rest load.
"""
from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
from typing import Any, Iterator, Mapping

from corpus.dates import iso_date
from corpus.model import UNKNOWN_AUTHOR, Chunk, Document
from corpus.subject import is_his
from corpus.textnorm import well_formed
from ingest.authorship import (Attribution, by_handle, by_name, first, handle_in_filename,
                               named_in_filename)
from ingest.base import Loaded, Skipped, SkipItem
from ingest.quoted import quoted_spans

FIELDS = {
    "id": ("tweet_id", "id_str", "id", "status_id", "rest_id", "tweetId"),
    "text": ("full_text", "text", "content", "tweet", "rawContent", "body"),
    "date": ("created_at", "date", "timestamp", "time", "createdAt", "datetime"),
    "likes": ("like_count", "likes", "favorite_count", "favorites", "likeCount", "likes_count"),
    "retweets": ("retweet_count", "retweets", "retweetCount", "retweets_count"),
    "replies": ("comment_count", "reply_count", "replies", "replyCount", "replies_count"),
    "quotes": ("quote_count", "quotes", "quoteCount"),
    "is_retweet": ("is_retweet", "retweeted", "isRetweet"),
    "is_reply": ("is_reply", "isReply"),
    "is_quote": ("is_quote", "is_quote_status", "isQuote"),
    "reply_to": ("in_reply_to_status_id_str", "in_reply_to_status_id", "inReplyToId"),
    "url": ("url", "link", "tweet_url", "permalink"),
    "lang": ("lang", "language"),
    "handle": ("username", "screen_name", "user_screen_name", "handle", "user_name",
               "author_username", "user"),
    "retweet_of": ("retweeted_user", "retweeted_username", "original_author", "rt_user",
                   "retweeted_screen_name"),
}
_STATUS_URL = re.compile(r"/status(?:es)?/(\d+)")
_RT_PREFIX = re.compile(r"RT @(\w+):")


def field(row: Mapping[str, Any], name: str) -> Any:
    for key in FIELDS[name]:
        value = row.get(key)
        if value not in (None, ""):
            return value
    return None


def tweet_document(*, tweet_id: str, text: str, date: str | None, origin: str,
                   handle: str | None = None, attribution: Attribution | None = None,
                   **meta) -> Document:
    """One tweet as a document. `attribution`: (author, how it is known) of the account that
    posted it; a retweet's author is the original poster instead. `meta`: likes, retweets,
    replies, is_retweet, retweet_of, is_reply, ..."""
    text = text.strip()
    first_line = text.split("\n", 1)[0]
    title = first_line if len(first_line) <= 90 else first_line[:89].rsplit(" ", 1)[0] + "…"
    author, how = attribution or (UNKNOWN_AUTHOR, "nothing in the export says whose post it is")
    if meta.get("is_retweet"):
        original = meta.get("retweet_of")
        poster = f" by {handle_label(handle)}" if handle else ""
        author, how = (original, f"retweet of {original}{poster}") if original else (
            UNKNOWN_AUTHOR, f"a retweet{poster}; the export does not say whose post it was")
    elif is_his(author) and (spans := quoted_spans(text)):
        meta["quoted"] = spans
    url = (f"https://x.com/{handle.lstrip('@')}/status/{tweet_id}" if handle else
           f"https://x.com/i/web/status/{tweet_id}") if tweet_id.isdigit() else None
    clean = {k: v for k, v in meta.items() if v is not None and v is not False}
    return Document(id=f"tweet:{tweet_id}", kind="tweet", title=title or "(no text)", text=text,
                    author=author, date=date, url=url, origin=origin, meta=clean,
                    authorship=how)


def handle_label(handle: str | None) -> str:
    return f"@{handle.lstrip('@')}" if handle else "an unknown account"


def export_attribution(row: Mapping[str, Any], origin: str) -> tuple[str | None, Attribution]:
    """(handle, attribution) of one exported row: its own user column, else the export's name
    (`karpathy_tweets.csv`), else unknown."""
    handle = field(row, "handle")
    if isinstance(handle, dict):  # {"user": {"screen_name": ...}}
        handle = handle.get("screen_name") or handle.get("username")
    handle = str(handle).strip().lstrip("@") if handle else None
    if handle:
        return handle, by_handle(handle, f"the export says @{handle} posted it")
    return handle_in_filename(origin), first(
        named_in_filename(origin), by_name(row.get("creator"), "the export's creator field"))


def read_csv_tweets(text: str, origin: str) -> Iterator[Loaded | Skipped]:
    csv.field_size_limit(1 << 26)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or not _has_columns(reader.fieldnames):
        yield Skipped(origin, "a CSV without tweet id and text columns (looked for "
                      f"{'/'.join(FIELDS['id'][:3])} and {'/'.join(FIELDS['text'][:3])})")
        return
    try:
        for row in reader:
            yield from _guarded(row, f"{origin}:{reader.line_num}", origin)
    except csv.Error as e:
        yield Skipped(f"{origin}:{reader.line_num}", f"CSV is malformed from here on ({e}); "
                      "the rows before it were kept")


def read_json_tweets(data: Any, origin: str) -> Iterator[Loaded | Skipped]:
    rows = data
    if isinstance(data, dict):
        rows = next((data[k] for k in ("tweets", "items", "data", "results") if
                     isinstance(data.get(k), list)), [data])
    sample = [r.get("tweet", r) if isinstance(r, dict) else r for r in rows[:20]]
    if rows and not any(isinstance(r, dict) and _has_columns(r) for r in sample):
        keys = sorted(data)[:8] if isinstance(data, dict) else sorted(sample[0])[:8] \
            if isinstance(sample[0], dict) else []
        raise SkipItem(f"JSON that holds neither tweets nor a transcript (keys: "
                       f"{', '.join(keys) or 'none'}); use --kind to say what it is")
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            yield Skipped(f"{origin}#{n}", "not a JSON object")
            continue
        yield from _guarded(row.get("tweet", row) if isinstance(row.get("tweet"), dict)
                            else row, f"{origin}#{n}", origin)


def read_jsonl_tweets(text: str, origin: str) -> Iterator[Loaded | Skipped]:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            yield Skipped(f"{origin}:{n}", f"not valid JSON ({e.msg})")
            continue
        yield from read_json_tweets([row], f"{origin}:{n}")


def read_text_tweets(text: str, origin: str) -> Iterator[Loaded | Skipped]:
    """One tweet per blank-line-separated block, or per line when there are no blank lines."""
    blocks = re.split(r"\n[ \t]*\n", text) if re.search(r"\n[ \t]*\n", text) else text.splitlines()
    for block in (b.strip() for b in blocks):
        if block:
            digest = hashlib.sha256(block.encode()).hexdigest()[:16]
            yield Loaded(tweet_document(tweet_id=f"text-{digest}", text=block, date=None,
                                        origin=origin, attribution=named_in_filename(origin)))


def looks_like_tweet_table(fieldnames: list[str]) -> bool:
    return _has_columns(fieldnames)


def _has_columns(names) -> bool:
    names = set(names)
    return bool(names & set(FIELDS["id"])) and bool(names & set(FIELDS["text"]))


MAX_TWEET_CHARS = 100_000  # X's longest posts are 25,000 characters; a field past this is not one


def _guarded(row: Mapping[str, Any], where: str, origin: str) -> Iterator[Loaded | Skipped]:
    """One row, whatever it holds: a value no reader expected is a skip of that row only."""
    try:
        yield from list(_row(row, where, origin))
    except Exception as e:  # noqa: BLE001 - one bad row must not end the file
        yield Skipped(where, f"unreadable row ({type(e).__name__}: {e})")


def _row(row: Mapping[str, Any], where: str, origin: str) -> Iterator[Loaded | Skipped]:
    tweet_id, text = field(row, "id"), field(row, "text")
    if tweet_id is None:
        tweet_id = _id_from_url(str(field(row, "url") or ""))
    if tweet_id is None or not re.fullmatch(r"\d{1,25}", str(tweet_id).strip()):
        yield Skipped(where, f"no usable tweet id ({tweet_id!r})")
        return
    if not isinstance(text, str) or not text.strip():
        yield Skipped(where, f"tweet {tweet_id} has no text (a media-only post?)")
        return
    if len(text) > MAX_TWEET_CHARS:
        yield Skipped(where, f"tweet {tweet_id} has {len(text):,} characters of text, more "
                      f"than any post can ({MAX_TWEET_CHARS:,}); is the column right?")
        return
    try:
        date = iso_date(field(row, "date"))
    except ValueError as e:
        yield Skipped(where, f"tweet {tweet_id}: {e}")
        return
    handle, attribution = export_attribution(row, origin)
    retweet_of = field(row, "retweet_of")
    if m := _RT_PREFIX.match(text.strip()):  # "RT @user: …" names the original poster
        retweet_of = retweet_of or m.group(1)
    yield Loaded(tweet_document(
        tweet_id=str(tweet_id).strip(), text=well_formed(html.unescape(text)), date=date,
        origin=origin, handle=handle, attribution=attribution,
        retweet_of=f"@{str(retweet_of).lstrip('@')}" if retweet_of else None,
        likes=_int(field(row, "likes")), retweets=_int(field(row, "retweets")),
        replies=_int(field(row, "replies")), quotes=_int(field(row, "quotes")),
        is_retweet=_bool(field(row, "is_retweet")) or bool(_RT_PREFIX.match(text.strip())),
        is_reply=_bool(field(row, "is_reply")),
        is_quote=_bool(field(row, "is_quote")), lang=field(row, "lang"),
        in_reply_to=_str(field(row, "reply_to"))))


def _id_from_url(url: str) -> str | None:
    m = _STATUS_URL.search(url)
    return m.group(1) if m else None


def _int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):  # "inf", "1e999"
        return None


def _bool(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def thread_document(chain: list[dict], handle: str | None, attribution: Attribution,
                    origin: str) -> Loaded:
    """A self-reply chain as one document: one chunk per tweet, each tweet's id and link kept."""
    root = chain[0]
    parts, text, pos = [], "", 0
    base = f"https://x.com/{handle.lstrip('@')}/status/" if handle else "https://x.com/i/web/status/"
    for t in chain:
        start = pos + (2 if text else 0)
        text += ("\n\n" if text else "") + t["text"].strip()
        pos = len(text)
        parts.append({"id": t["id"], "url": base + t["id"],
                      "date": t["date"], "likes": t.get("likes"), "start": start, "end": pos})
    doc_id = f"thread:{root['id']}"
    head = tweet_document(tweet_id=root["id"], text=text, date=root["date"], origin=origin,
                          handle=handle, attribution=attribution)
    meta = {"tweets": parts, "likes": sum(p["likes"] or 0 for p in parts)}
    if head.meta.get("quoted"):
        meta["quoted"] = head.meta["quoted"]
    doc = Document(id=doc_id, kind="thread", title=head.title, text=text, author=head.author,
                   date=root["date"], url=head.url, origin=origin, meta=meta,
                   authorship=head.authorship)
    chunks = [Chunk(id=f"{doc_id}#{n}", doc_id=doc_id, n=n, start=p["start"], end=p["end"],
                    text=text[p["start"]:p["end"]], speaker=doc.author)
              for n, p in enumerate(parts)]
    return Loaded(doc, chunks)


_TWEET_HEADING = re.compile(r"^#{2,4}\s*Tweet\s+\d+\s*$", re.M)
_BULLET = re.compile(r"^-[ \t]*(Date|URL|Tweet ID):[ \t]*(\S(?:[^\n]*\S)?)[ \t]*$", re.M)


def is_markdown_tweets(meta: Mapping[str, Any]) -> bool:
    return str(meta.get("platform") or meta.get("source_type") or "").lower() in (
        "twitter", "x")


def read_markdown_tweets(meta: Mapping[str, Any], body: str, origin: str) -> Iterator[Loaded]:
    """A tweet or thread saved as Markdown: front matter with `platform: twitter`, then one
    `### Tweet N` section per tweet with `- Date:`, `- URL:`, `- Tweet ID:` lines."""
    sections = _TWEET_HEADING.split(body)[1:]
    chain = []
    for section in sections:
        facts = dict(_BULLET.findall(section))
        text = _BULLET.sub("", section).strip()
        tweet_id = facts.get("Tweet ID") or _id_from_url(facts.get("URL", ""))
        if tweet_id and text:
            chain.append({"id": tweet_id, "text": text, "date": iso_date(facts.get("Date")),
                          "likes": None})
    if not chain:
        raise SkipItem("a tweet page with no `### Tweet N` sections to read")
    found = _STATUS_HANDLE.search(str(meta.get("url") or "")) or next(
        (m for t in sections if (m := _STATUS_HANDLE.search(t))), None)
    handle = found.group(1) if found else None
    attribution = first(by_handle(handle, f"its tweet URL names @{handle}") if handle else None,
                        by_name(meta.get("author"), "the page's author field"),
                        by_name(meta.get("creator"), "the page's creator field"))
    if len(chain) == 1:
        t = chain[0]
        yield Loaded(tweet_document(tweet_id=t["id"], text=t["text"], date=t["date"],
                                    origin=origin, handle=handle, attribution=attribution))
    else:
        yield thread_document(chain, handle, attribution, origin)


_STATUS_HANDLE = re.compile(r"(?:x|twitter)\.com/(\w+)/status/")
