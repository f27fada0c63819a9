"""The X (Twitter) archive: the downloaded zip, its extracted folder, or a lone `tweets.js`.

`data/tweets.js` (and `tweets-part1.js`, ... as `manifest.js` lists them) is a JavaScript
assignment `window.YTD.tweets.part0 = [...]` in which every number is a string and `full_text`
is HTML-escaped. Long posts are cut short there; their whole text is in `note-tweet.js`, joined
back by creation time (to the second; the note's id is not the tweet's). t.co links are expanded
from `entities.urls`, media links dropped, retweets marked (not his words), and a chain of
self-replies becomes one thread document that keeps each tweet's id, link and offsets.

A truncated file loads every complete tweet before the break and reports where it broke.
"""
from __future__ import annotations

import html
import json
import re
import zipfile
from pathlib import Path
from typing import Iterator

from corpus.model import UNKNOWN_AUTHOR, Document
from ingest.authorship import Attribution, by_handle
from ingest.base import Loaded, Skipped, SkipItem
from corpus.dates import iso_date
from corpus.textnorm import well_formed
from ingest.tweets import thread_document, tweet_document

# An archive file over this is not one X makes (a heavy account's tweets.js is tens of MB), and
# reading it would take several times its size in memory.
MAX_FILE_BYTES = 256 << 20
MAX_RATIO = 200  # how much a zip member may expand: JSON text compresses ~10x, a bomb 1000x
_ASSIGNMENT = re.compile(r"^\s*window\.[\w.]+\s*=\s*")
# Where the next top-level entry starts: `}, {"tweet" : {` (an entry is one key holding an
# object); nested objects inside a tweet rarely look like that, and if one does, it is read as
# an entry without a tweet id and skipped.
_NEXT_ENTRY = re.compile(r"\}\s*,\s*(?=\{\s*\"\w+\"\s*:\s*\{)")
_RETWEET = re.compile(r"^RT @(\w+):")
_STATUS = re.compile(r"(?:twitter|x)\.com/(\w+)/status/(\d+)")


class Archive:
    """The files of one archive, wherever they live (zip, folder, or beside a tweets.js)."""

    def __init__(self, path: Path):
        self.path = path
        self.zip = None
        self.given = None  # a lone tweets file: it is the tweets, whatever manifest.js lists
        if path.is_file() and zipfile.is_zipfile(path):
            try:
                self.zip = zipfile.ZipFile(path)
            except zipfile.BadZipFile as e:
                raise SkipItem(f"damaged zip file ({e}); download the archive again") from None
            names = self.zip.namelist()
            self.files = {n.rsplit("/", 1)[-1]: n for n in names if n.endswith(".js")}
        else:
            folder = path if path.is_dir() else path.parent
            if (folder / "data").is_dir():
                folder = folder / "data"
            self.files = {p.name: str(p) for p in folder.glob("*.js")}
            if path.is_file():
                self.files[path.name] = str(path)
                self.given = path.name

    def read(self, name: str) -> str | None:
        where = self.files.get(name)
        if where is None:
            return None
        try:
            data = self._member(where) if self.zip else self._file(Path(where))
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise SkipItem(f"cannot read {name} from the archive ({e})") from None
        return data.decode("utf-8-sig", errors="replace")

    def _member(self, where: str) -> bytes:
        """A zip member, read in pieces and never past MAX_FILE_BYTES, whatever its header
        claims; a member that expands far more than text does is a zip bomb."""
        info = self.zip.getinfo(where)
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
            raise SkipItem(f"{where} would expand {info.file_size / info.compress_size:,.0f} "
                           f"times (text expands at most ~{MAX_RATIO}): a damaged or hostile "
                           "zip; download the archive again")
        if info.file_size > MAX_FILE_BYTES:
            raise SkipItem(_too_big(where, info.file_size))
        out, size = [], 0
        with self.zip.open(info) as member:
            while piece := member.read(1 << 20):
                size += len(piece)
                if size > MAX_FILE_BYTES:
                    raise SkipItem(_too_big(where, size))
                out.append(piece)
        return b"".join(out)

    @staticmethod
    def _file(path: Path) -> bytes:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SkipItem(_too_big(path.name, size))
        return path.read_bytes()

    def tweet_files(self) -> tuple[list[str], list[str]]:
        """(tweet files to read, files manifest.js lists that are missing)."""
        if self.given:
            return [self.given], []
        present = sorted(n for n in self.files if re.fullmatch(r"tweets[\w.-]*\.js", n))
        manifest = self.read("manifest.js")
        if manifest:
            config, _ = parse_js(manifest, "manifest.js")
            listed = config.get("dataTypes", {}).get("tweets", {}).get("files", []) \
                if isinstance(config, dict) else []
            names = [f["fileName"].rsplit("/", 1)[-1] for f in listed if "fileName" in f]
            found = [n for n in names if n in self.files]
            missing = [n for n in names if n not in self.files]
            return (found or present), missing
        return present, []

    def account(self) -> tuple[str | None, str | None, str | None]:
        """(handle, account id, which file said so) from manifest.js or account.js."""
        config, _ = parse_js(self.read("manifest.js") or "{}", "manifest.js")
        user = config.get("userInfo", {}) if isinstance(config, dict) else {}
        if user.get("userName"):
            return user.get("userName"), user.get("accountId"), "manifest.js"
        entries, _ = parse_js(self.read("account.js") or "[]", "account.js")
        for entry in entries if isinstance(entries, list) else []:
            account = entry.get("account", {}) if isinstance(entry, dict) else {}
            if account.get("username"):
                return account["username"], account.get("accountId"), "account.js"
        return None, None, None


def read_x_archive(path: Path) -> Iterator[Loaded | Skipped]:
    archive = Archive(path)
    handle, account_id, said_by = archive.account()
    notes = _notes(archive)
    tweets: list[dict] = []
    files, missing = archive.tweet_files()
    for name in missing:
        yield Skipped(f"{path}:{name}", "listed in manifest.js but missing from the archive"
                      + (f"; read {', '.join(files)} instead" if files else ""))
    if not files:
        raise SkipItem("no tweets.js in this archive (looked in data/ and beside the file)")
    for name in files:
        text = archive.read(name)
        entries, problem = parse_js(text, name)
        if problem:
            yield Skipped(f"{path}:{name}", problem)
        for n, entry in enumerate(entries if isinstance(entries, list) else [], 1):
            tweet = entry.get("tweet", entry) if isinstance(entry, dict) else None
            if not isinstance(tweet, dict) or not (tweet.get("id_str") or tweet.get("id")):
                yield Skipped(f"{path}:{name}#{n}", "an entry without a tweet id")
                continue
            try:
                tweets.append(_tweet(tweet, notes))
            except Exception as e:  # noqa: BLE001 - one odd entry must not end the archive
                yield Skipped(f"{path}:{name}#{n}", f"unreadable entry ({e})")
    if not handle and (handle := _owner(tweets)):
        said_by = "the links of its own media"
    attribution: Attribution = by_handle(handle, f"X archive of @{handle} ({said_by})") \
        if handle else (UNKNOWN_AUTHOR, "an X archive that does not say whose it is (no "
                        "manifest.js or account.js)")
    yield from _documents(tweets, handle, account_id, attribution, str(path))


def parse_js(text: str, name: str) -> tuple[object, str | None]:
    """The JSON value of a `window.X = ...` file: (value, problem). Item by item for arrays:
    a damaged entry is passed over and reading goes on at the next entry, and a truncated file
    still gives every complete entry before the break."""
    body = _ASSIGNMENT.sub("", text, count=1).strip()
    if not body:
        return [], f"{name} is empty"
    if body[0] != "[":
        try:
            return json.loads(body), None
        except ValueError as e:
            return {}, f"{name} is not valid JSON after its `window… =` prefix ({e.msg})"
        except RecursionError:
            return {}, f"{name} is nested too deeply to be an X archive file"
    decoder, items, pos, damaged = json.JSONDecoder(), [], 1, []
    while True:
        pos = _skip(body, pos, " \t\r\n,")
        if pos >= len(body):
            return items, _problem(name, items, damaged, (
                f"it is cut short after {len(items)} complete entries (the file is truncated)"))
        if body[pos] == "]" and not body[pos + 1:].strip(" \t\r\n;"):
            return items, _problem(name, items, damaged)
        try:
            if body[pos] == "]":
                raise ValueError("a ] before the end")  # inside an entry we resynced into
            value, pos = decoder.raw_decode(body, pos)
        except (ValueError, RecursionError) as e:
            # Look for the next entry from where decoding broke, not from where it began: the
            # entries in between were read and found wanting once already.
            broke = getattr(e, "pos", pos) if isinstance(e, json.JSONDecodeError) else pos
            resume = _NEXT_ENTRY.search(body, max(pos, broke - 1) + 1)
            if resume is None:
                return items, _problem(name, items, damaged, (
                    f"it breaks at character {pos} after {len(items)} complete entries "
                    "(truncated or damaged)"))
            damaged.append(pos)
            pos = resume.end()
            continue
        items.append(value)


def _problem(name: str, items: list, damaged: list[int], end: str | None = None) -> str | None:
    parts = []
    if damaged:
        where = ", ".join(str(p) for p in damaged[:5]) + (" …" if len(damaged) > 5 else "")
        parts.append(f"{len(damaged)} damaged entr{'y' if len(damaged) == 1 else 'ies'} "
                     f"passed over (at character {where})")
    if end:
        parts.append(end)
    if not parts:
        return None
    return f"{name}: " + "; ".join(parts) + f"; the {len(items)} readable entries were kept"


def _too_big(name: str, size: int) -> str:
    return (f"{name} is {size / (1 << 20):,.0f} MB, more than ktp reads from one archive file "
            f"({MAX_FILE_BYTES >> 20} MB); is it really an X archive?")


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _notes(archive: Archive) -> dict[str, dict]:
    """Long-post notes by creation second: '2023-10-13T14:58:50Z' -> note core."""
    text = archive.read("note-tweet.js")
    if not text:
        return {}
    entries, _ = parse_js(text, "note-tweet.js")
    notes = {}
    for entry in entries if isinstance(entries, list) else []:
        note = entry.get("noteTweet", {}) if isinstance(entry, dict) else {}
        created, core = note.get("createdAt"), note.get("core")
        if created and isinstance(core, dict) and core.get("text"):
            notes[iso_date(created)] = core
    return notes


def _tweet(t: dict, notes: dict[str, dict]) -> dict:
    tweet_id = str(t.get("id_str") or t.get("id"))
    date = iso_date(t.get("created_at"))
    text = well_formed(str(t.get("full_text") or t.get("text") or ""))
    if "&" in text:
        text = html.unescape(text)
    note = notes.get(date)
    if note and _continues(text, note["text"]):
        text = _expand(note["text"], [(u.get("shortUrl"), u.get("expandedUrl"))
                                      for u in note.get("urls", [])])
    else:
        note = None
        entities = t.get("entities", {})
        text = _expand(text, [(u.get("url"), u.get("expanded_url"))
                              for u in entities.get("urls", [])])
        for media in t.get("extended_entities", entities).get("media", []):
            text = text.replace(media.get("url", "\0"), "").strip()
    retweet = _RETWEET.match(text)
    links = [m for u in t.get("entities", {}).get("urls", [])
             if (m := _STATUS.search(u.get("expanded_url") or ""))]
    quoted = [m.group(2) for m in links if m.group(2) != tweet_id]
    own = [m.group(1) for media in t.get("entities", {}).get("media", [])
           if (m := _STATUS.search(media.get("expanded_url") or "")) and m.group(2) == tweet_id]
    return {"id": tweet_id, "date": date, "text": text,
            "likes": _int(t.get("favorite_count")), "retweets": _int(t.get("retweet_count")),
            "is_retweet": bool(retweet), "retweet_of": f"@{retweet.group(1)}" if retweet else None,
            "reply_to": t.get("in_reply_to_status_id_str") or t.get("in_reply_to_status_id"),
            "reply_to_user": t.get("in_reply_to_user_id_str"),
            "reply_to_name": t.get("in_reply_to_screen_name"),
            "quotes_tweet": quoted[0] if quoted else None, "lang": t.get("lang"),
            "long_post": note is not None, "owner": own[0] if own else None}


def _owner(tweets: list[dict]) -> str | None:
    """Without manifest.js: the handle in the media links of the archive's own tweets."""
    return next((t["owner"] for t in tweets if t["owner"]), None)


def _continues(truncated: str, full: str) -> bool:
    """Is the note the whole of this (possibly truncated) tweet? Compare the opening words."""
    head = re.sub(r"https://t\.co/\w+|…", "", truncated).split()[:8]
    return " ".join(full.split()[:len(head)]) == " ".join(head)


def _expand(text: str, links: list[tuple[str | None, str | None]]) -> str:
    for short, full in links:
        if short and full:
            text = text.replace(short, full)
    return text


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _documents(tweets: list[dict], handle: str | None, account_id: str | None,
               attribution: Attribution, origin: str) -> Iterator[Loaded | Skipped]:
    by_id = {t["id"]: t for t in tweets}

    def self_parent(t: dict) -> str | None:
        mine = t["reply_to_user"] == account_id if account_id else \
            bool(handle) and (t["reply_to_name"] or "").lower() == handle.lower()
        return t["reply_to"] if mine and t["reply_to"] in by_id else None

    children: dict[str, list[str]] = {}
    for t in tweets:
        if parent := self_parent(t):
            children.setdefault(parent, []).append(t["id"])
    for t in sorted(tweets, key=lambda t: (t["date"] or "", t["id"])):
        if self_parent(t):
            continue  # part of a thread, emitted with its root
        chain = [t]
        while kids := sorted(children.get(chain[-1]["id"], [])):
            chain.append(by_id[kids[0]])
        try:  # one odd tweet (or thread) is a skip; the archive goes on
            yield Loaded(_single(t, handle, attribution, origin)) if len(chain) == 1 else \
                thread_document(chain, handle, attribution, origin)
        except Exception as e:  # noqa: BLE001
            yield Skipped(f"{origin}#{t['id']}", f"unreadable tweet ({type(e).__name__}: {e})")


def _single(t: dict, handle: str | None, attribution: Attribution, origin: str) -> Document:
    return tweet_document(
        tweet_id=t["id"], text=t["text"], date=t["date"], origin=origin, handle=handle,
        attribution=attribution, likes=t["likes"], retweets=t["retweets"],
        is_retweet=t["is_retweet"],
        retweet_of=t["retweet_of"], is_reply=bool(t["reply_to"]), in_reply_to=t["reply_to"],
        is_quote=bool(t["quotes_tweet"]), quotes_tweet=t["quotes_tweet"], lang=t["lang"],
        long_post=t["long_post"])
