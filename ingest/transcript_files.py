"""Transcript files: pick the parser for the format, then find out which talk it is.

The video is identified, in order, by front matter (`video_id`, `url`), header lines such as
`**Video ID:** abc123`, a sibling `metadata.yml`, or yt-dlp's `Title [id].en.vtt` file name; a
known video then takes its title and date from the registry when the file lacks them.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

from corpus.ids import doc_id_for_url, slugify
from corpus.subject import current_subject, is_his
from ingest.authorship import by_channel, by_name, by_registry, first
from ingest.base import Loaded, Skipped, SkipItem
from ingest.known import known, quotes_of
from corpus.dates import DateError, iso_date
from ingest.safe_yaml import load_yaml
from ingest.textfile import decode, split_front_matter
from ingest.speakers import Roster
from ingest.transcripts import (parse_json3, parse_stamped, parse_timed_json, parse_vtt,
                                transcript_document)

_VIDEO_ID = re.compile(r"\*\*Video ID:\*\*\s*([\w-]{11})|[?&]v=([\w-]{11})|youtu\.be/([\w-]{11})")
_YTDLP_NAME = re.compile(r"\[([\w-]{11})\]")
_HEADING = re.compile(r"^#[ \t]+(?:YouTube Transcript:[ \t]*)?([^\n]{1,300})", re.M)  # trimmed after


def read_transcript_file(path: Path) -> Iterator[Loaded | Skipped]:
    text = decode(path)
    meta, body = split_front_matter(text, path)
    broken = 0
    if body.lstrip().startswith("WEBVTT") or path.suffix.lower() in (".vtt", ".srt"):
        segments, broken = parse_vtt(body)
    elif path.suffix.lower() in (".json", ".json3") or re.match(r"\s*(\{|\[\s*[{\]])", body):
        try:
            data = json.loads(body)
        except ValueError as e:
            raise SkipItem(f"not valid JSON ({e.msg} at line {e.lineno})") from None
        meta = {**_json_meta(data), **meta}
        segments = parse_json3(data) if isinstance(data, dict) and "events" in data \
            else parse_timed_json(data)
    else:
        segments = parse_stamped(body)
    if broken and not segments:
        raise SkipItem(f"all {broken} caption cues have unreadable timestamps")
    video = _video_id(path, meta, body)
    sidecar = _sidecar(path)
    registered = known(f"yt:{video}") if video else None
    title = str(meta.get("title") or sidecar.get("title") or _heading(body)
                or (registered.title if registered else None) or path.stem)
    date = _date(meta.get("date")) or _date(sidecar.get("date") or sidecar.get("upload_date")) \
        or (registered.date if registered else None)
    doc_id = f"yt:{video}" if video else f"transcript:{slugify(path.stem)}"
    url = f"https://www.youtube.com/watch?v={video}" if video else meta.get("url")
    channel = _first_text(meta.get("channel"), meta.get("creator"), sidecar.get("channel"),
                          sidecar.get("uploader"))
    extra = {k: v for k, v in (("video_id", video), ("channel", channel)) if v}
    roster, how = transcript_roster(registered, channel, meta)
    yield transcript_document(segments, doc_id=doc_id, title=" ".join(title.split()),
                              origin=str(path), date=date, url=url, meta=extra, roster=roster,
                              authorship=how, his_lines=quotes_of(doc_id) if roster.others else ())
    if broken:
        yield Skipped(str(path), f"{broken} caption cue(s) with unreadable timestamps were left "
                      "out; the rest was loaded")


def transcript_roster(registered, channel: str | None, meta: dict) -> tuple[Roster, str]:
    """Who speaks in this recording, and how that is known: the registry (a podcast or chat
    names its other speakers), his own channel, or a front-matter speaker; else nobody known."""
    subject = current_subject().name
    named = by_name(meta.get("speaker") or meta.get("author"), "the file names its speaker")
    author, how = first(by_registry(registered), by_channel(channel), named)
    if not is_his(author):
        return Roster(subject=subject, known=False), how
    others = tuple(str(o) for o in (registered.extra.get("other_speakers") or ())) \
        if registered else ()
    if registered and not others and registered.kind == "podcast":
        show = registered.extra.get("host")
        others = (f"host of {show}" if show else "the host",)
    if others:
        how += f"; an interview with {', '.join(others)}, split into speaker turns"
    return Roster(subject=subject, others=others), how


def _first_text(*values) -> str | None:
    return next((" ".join(str(v).split()) for v in values if v and str(v).strip()), None)


def _video_id(path: Path, meta: dict, body: str) -> str | None:
    for key in ("video_id", "videoId", "id"):
        if isinstance(meta.get(key), str) and re.fullmatch(r"[\w-]{11}", meta[key]):
            return meta[key]
    if meta.get("url") and (doc := doc_id_for_url(str(meta["url"]))).startswith("yt:"):
        return doc[3:]
    if m := _YTDLP_NAME.search(path.name):
        return m.group(1)
    if m := _VIDEO_ID.search(body[:3000]):
        return next(g for g in m.groups() if g)
    sidecar = _sidecar(path)
    vid = sidecar.get("video_id") or sidecar.get("videoId") or sidecar.get("id")
    return vid if isinstance(vid, str) and re.fullmatch(r"[\w-]{11}", vid) else None


def _sidecar(path: Path) -> dict:
    """metadata.yml / .yaml / .json beside the transcript (as some tools write), if any."""
    for name in ("metadata.yml", "metadata.yaml", "metadata.json", f"{path.stem}.info.json"):
        candidate = path.with_name(name)
        if candidate.exists():
            try:
                text = candidate.read_text(encoding="utf-8")
                data = json.loads(text) if candidate.suffix == ".json" else load_yaml(text)
            except (OSError, UnicodeDecodeError, ValueError, RecursionError):
                return {}  # a broken sidecar leaves the transcript as its own text says
            return data if isinstance(data, dict) else {}
    return {}


def _json_meta(data) -> dict:
    if not isinstance(data, dict):
        return {}
    found = {"video_id": data.get("videoId") or data.get("video_id"), "title": data.get("title")}
    return {k: v for k, v in found.items() if v}


def _heading(body: str) -> str | None:
    m = _HEADING.search(body[:2000])
    return (m.group(1).strip() or None) if m else None


def _date(value) -> str | None:
    """A sidecar's or front matter's date; a wrong one leaves the transcript undated (its
    text is still good) rather than skipping it."""
    try:
        return iso_date(value)
    except DateError:
        return None