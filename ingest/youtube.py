"""Talks from YouTube (or any page yt-dlp understands), through yt-dlp's Python API: for a video,
playlist or channel URL, the subtitles only, never the media. Uploader-made subtitles are taken
first, automatic captions otherwise; title, upload date, duration and chapters come along.

The subtitle text is read in memory and parsed like a caption file, so an interrupted fetch
leaves nothing half-written behind.
"""
from __future__ import annotations

import json
import re
from typing import Iterator

from ingest.base import Loaded, Skipped, SkipItem
from ingest.known import known, quotes_of
from ingest.transcript_files import transcript_roster
from ingest.transcripts import parse_json3, parse_vtt, transcript_document

_YOUTUBE = re.compile(r"^https?://(?:www\.|m\.)?(?:youtube\.com|youtu\.be)/", re.I)
LANGUAGES = ("en", "en-US", "en-GB", "en-orig")
MAX_VIDEOS = 500


def is_video_url(url: str) -> bool:
    return bool(_YOUTUBE.match(url))


class _QuietLog:
    """yt-dlp's messages, kept instead of printed (the run reports one line per problem)."""

    def __init__(self):
        self.errors: list[str] = []

    def debug(self, msg):
        pass

    def info(self, msg):
        pass

    def warning(self, msg):
        pass

    def error(self, msg):
        self.errors.append(msg)


def read_video_url(url: str, timeout: float = 20.0) -> Iterator[Loaded | Skipped]:
    import yt_dlp

    log = _QuietLog()
    options = {"skip_download": True, "quiet": True, "no_warnings": True, "noprogress": True,
               "logger": log, "socket_timeout": timeout, "retries": 2,
               "extract_flat": "in_playlist", "playlistend": MAX_VIDEOS}
    with yt_dlp.YoutubeDL(options) as ydl:
        try:
            info = ydl.extract_info(url, download=False)
        except yt_dlp.utils.DownloadError as e:
            raise SkipItem(_reason(e)) from None
        entries = info.get("entries") if info.get("_type") == "playlist" else [info]
        for entry in entries or []:
            try:
                if entry.get("_type") == "url":  # a flat playlist entry: look the video up
                    entry = ydl.extract_info(entry["url"], download=False)
                yield _video(entry, ydl)
            except yt_dlp.utils.DownloadError as e:
                yield Skipped(str(entry.get("url") or url), _reason(e))
            except SkipItem as e:
                yield Skipped(str(entry.get("webpage_url") or url), str(e))


def _video(info: dict, ydl) -> Loaded:
    track, automatic = _pick_track(info)
    if track is None:
        raise SkipItem("the video has no English subtitles or captions")
    with ydl.urlopen(track["url"]) as response:
        raw = response.read().decode("utf-8", errors="replace")
    if track.get("ext") == "json3":
        segments = parse_json3(json.loads(raw))
    else:
        segments, _ = parse_vtt(raw)
    vid = str(info.get("id") or "")
    youtube = (info.get("extractor_key") or "").lower().startswith("youtube")
    date = info.get("upload_date")
    chapters = [{"start": c.get("start_time"), "title": c.get("title")}
                for c in info.get("chapters") or []]
    channel = info.get("channel") or info.get("uploader")
    registered = known(f"yt:{vid}") if youtube else None
    roster, how = transcript_roster(registered, info.get("channel_id"), {})
    if not roster.known and channel:  # the channel's name may be the one we know
        roster, how = transcript_roster(registered, channel, {})
    return transcript_document(
        segments, doc_id=f"yt:{vid}" if youtube else f"video:{vid}", roster=roster,
        authorship=how, his_lines=quotes_of(f"yt:{vid}") if roster.others else (),
        title=str(info.get("title") or vid), origin=str(info.get("webpage_url") or vid),
        date=f"{date[:4]}-{date[4:6]}-{date[6:]}" if date and len(date) == 8 else None,
        url=f"https://www.youtube.com/watch?v={vid}" if youtube else info.get("webpage_url"),
        meta={"video_id": vid, "duration": info.get("duration"), "chapters": chapters,
              "captions": "automatic" if automatic else "uploader",
              "channel": channel})


def _pick_track(info: dict) -> tuple[dict | None, bool]:
    """The best subtitle track: uploader-made before automatic, VTT before json3."""
    for automatic, tracks in ((False, info.get("subtitles") or {}),
                              (True, info.get("automatic_captions") or {})):
        for lang in [*LANGUAGES, *sorted(k for k in tracks if k.startswith("en"))]:
            for ext in ("vtt", "json3"):
                for track in tracks.get(lang, []):
                    if track.get("ext") == ext and track.get("url"):
                        return track, automatic
    return None, False


def _reason(error: Exception) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).replace("ERROR: ", "").strip()
    first = text.splitlines()[0] if text else "unknown error"
    if "Errno" in first or "resolution" in first or "timed out" in first.lower():
        return f"cannot reach the video site ({first[:160]})"
    return first[:200]
