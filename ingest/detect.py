"""Which reader handles an input, decided by its content (the extension only breaks ties).

    reader = reader_for(path)            # or reader_for(path, forced="tweets")
    for item in reader(path): ...        # Loaded | Skipped; SkipItem for a wholly unusable input
"""
from __future__ import annotations

import csv
import json
import re
import zipfile
from pathlib import Path
from typing import Callable, Iterator

from ingest.base import Loaded, Skipped, SkipItem
from ingest.github import is_repo_url, read_github_readme
from ingest.http_fetch import Fetcher
from ingest.pdf import is_arxiv_url, is_pdf, not_a_pdf, read_arxiv, read_pdf_file
from ingest.provenance import is_manifest
from ingest.textfile import decode, read_text_file, split_front_matter, utf16_text
from ingest.transcript_files import read_transcript_file
from ingest.transcripts import looks_stamped
from ingest.tweets import (is_markdown_tweets, looks_like_tweet_table, read_csv_tweets,
                           read_json_tweets, read_jsonl_tweets, read_markdown_tweets,
                           read_text_tweets)
from ingest.webpages import read_html_file, read_url
from ingest.x_archive import read_x_archive
from ingest.youtube import is_video_url, read_video_url

Reader = Callable[[Path], Iterator["Loaded | Skipped"]]
FORMATS = ("x-archive", "tweets", "transcript", "text")  # what --kind can force
_SRT = re.compile(r"^\d+\s*\n\d{1,2}:\d{2}:\d{2},\d{3}\s*-->")
TABLE_LIMIT = 2 * 1024**3  # tweet exports hold a whole timeline: only memory limits them


def is_x_archive_folder(folder: Path) -> bool:
    """A folder holding an X archive's tweet files (`tweets.js`, parts, or a cut sample):
    read as one input, so its README.txt and other data files never become documents."""
    data = folder / "data" if (folder / "data").is_dir() else folder
    if (data / "tweets.js").exists():
        return True
    for path in data.glob("tweets*.js"):
        try:
            if sniff(path, 64).startswith("window.YTD.tweets"):
                return True
        except (OSError, SkipItem):
            continue
    return False


SIDECARS = ("metadata.yml", "metadata.yaml", "metadata.json")


def sidecar_of(path: Path) -> Path | None:
    """The file a sidecar describes (a video's `metadata.yml` beside its transcript, yt-dlp's
    `Title [id].info.json` beside its subtitles), or None for an ordinary file."""
    name = path.name.lower()
    if name in SIDECARS:
        return next((p for p in sorted(path.parent.iterdir())
                     if p != path and p.is_file() and p.name.lower() not in SIDECARS
                     and not p.name.startswith(".")), None)
    if name.endswith(".info.json"):
        stem = path.name[:-len(".info.json")]
        return next((p for p in sorted(path.parent.glob(f"{glob_escape(stem)}*"))
                     if p != path and not p.name.endswith(".info.json")), None)
    return None


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def reader_for(path: Path, forced: str | None = None) -> Reader:
    if forced == "x-archive" or (path.is_dir() and is_x_archive_folder(path)):
        return read_x_archive
    if forced == "tweets":
        return _tweets
    if forced == "text":
        return _text
    if forced == "transcript":
        return read_transcript_file
    if zipfile.is_zipfile(path):
        return _zip
    if is_pdf(path):
        return read_pdf_file
    if path.suffix.lower() == ".pdf":  # named a paper, but not one: say what it is instead
        with path.open("rb") as f:
            raise SkipItem(not_a_pdf(f.read(1024), "named .pdf, but the file"))
    head = sniff(path)
    if head.startswith("window.YTD.tweets") or head.startswith("window.YTD.note_tweet"):
        return _ytd
    if head.startswith("window."):
        raise SkipItem("an X archive data file other than tweets; ingest the archive folder or "
                       "its tweets.js")
    if head[:15].lower().startswith(("<!doctype html", "<html")) or \
            path.suffix.lower() in (".html", ".htm"):
        return read_html_file
    if head.startswith("WEBVTT") or _SRT.match(head) or path.suffix.lower() in (".vtt", ".srt"):
        return read_transcript_file
    if head[:1] in "[{" and path.suffix.lower() in (".json", ".jsonl", ".ndjson", ".js", ""):
        return read_transcript_file if _timed_json(head) else _tweets
    if path.suffix.lower() == ".csv":
        return _tweets
    return _text_or_transcript


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def url_reader(url: str, fetcher: Fetcher) -> Reader:
    """The reader for a URL: a YouTube video, playlist or channel (its subtitles), a GitHub
    repo's README, an arXiv paper (its PDF), or a web page / blog / feed."""
    if is_video_url(url):
        return read_video_url
    if is_arxiv_url(url):
        return lambda u: read_arxiv(u, fetcher)
    if is_repo_url(url):
        return lambda u: read_github_readme(u, fetcher)
    return lambda u: read_url(u, fetcher)


def sniff(path: Path, size: int = 8192) -> str:
    """The start of a file as text, for deciding its format (never the whole file)."""
    with path.open("rb") as f:
        data = f.read(size)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return utf16_text(data, strict=False).lstrip()
    if b"\x00" in data:
        raise SkipItem("binary file (contains NUL bytes), not text")
    return data.decode("utf-8-sig", errors="ignore").lstrip()


def _text(path: Path) -> Iterator[Loaded]:
    yield Loaded(read_text_file(path))


def _text_or_transcript(path: Path) -> Iterator[Loaded | Skipped]:
    """Markdown or text: a saved tweet page, a transcript when most lines carry [m:ss] stamps,
    else a document."""
    text = decode(path)
    meta, body = split_front_matter(text, path)
    if is_markdown_tweets(meta):
        yield from read_markdown_tweets(meta, body, str(path))
    elif looks_stamped(text):
        yield from read_transcript_file(path)
    else:
        yield from _text(path)


def _timed_json(head: str) -> bool:
    """json3 captions or timed segments, judged from the first few kilobytes."""
    compact = re.sub(r"\s+", "", head)
    return '"wireMagic"' in compact or '"tStartMs"' in compact or (
        '"start":' in compact and '"text":' in compact and '"full_text"' not in compact
        and '"id_str"' not in compact)


def _zip(path: Path) -> Iterator[Loaded | Skipped]:
    try:
        names = zipfile.ZipFile(path).namelist()
    except zipfile.BadZipFile as e:
        raise SkipItem(f"damaged zip file ({e})") from None
    if not any(n.rsplit("/", 1)[-1].startswith("tweets") and n.endswith(".js") for n in names):
        raise SkipItem("a zip file that is not an X archive (no data/tweets.js inside)")
    yield from read_x_archive(path)


def _ytd(path: Path) -> Iterator[Loaded | Skipped]:
    if path.name.startswith("note-tweet"):
        raise SkipItem("note-tweet.js only completes tweets.js; ingest the archive folder or "
                       "its tweets.js, and long posts are joined from it")
    yield from read_x_archive(path)


def _tweets(path: Path) -> Iterator[Loaded | Skipped]:
    text, origin = decode(path, limit=TABLE_LIMIT), str(path)
    stripped = text.lstrip()
    if stripped.startswith("window."):
        yield from read_x_archive(path)
    elif stripped[:1] in "[{":
        try:
            data = json.loads(text)
        except ValueError as e:
            if stripped[:1] == "{" and "\n" in stripped.strip():
                yield from read_jsonl_tweets(text, origin)  # one JSON object per line
                return
            raise SkipItem(f"not valid JSON ({e.msg} at line {e.lineno}); if it is cut short, "
                           "export it again") from None
        if is_manifest(data, path):
            raise SkipItem("a provenance manifest, not a source: it is read for the files it "
                           "lists (which repo each came from)")
        yield from read_json_tweets(data, origin)
    elif _csv_header(text):
        yield from read_csv_tweets(text, origin)
    else:
        yield from read_text_tweets(text, origin)


def _csv_header(text: str) -> bool:
    first = text.split("\n", 1)[0]
    try:
        return looks_like_tweet_table(next(csv.reader([first])))
    except (csv.Error, StopIteration):
        return False
