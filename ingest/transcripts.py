"""Transcripts of his talks and podcasts as documents whose chunks know their start second.

Formats: WebVTT (including YouTube's rolling auto-captions with inline `<c>` word timings),
SRT, YouTube json3, timed-segment JSON (a list, or `{"segments": [...]}`, of
`{start, duration|end, text}`), and text or Markdown with `[m:ss]` / `[h:mm:ss]` stamps.
Every format becomes a list of `Segment`s; rolling repeats are merged away so each spoken word
appears once, and `transcript_document` packs segments into chunks that start on a segment.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from corpus.model import UNKNOWN_AUTHOR, Chunk, Document
from corpus.textnorm import trim_span
from ingest.base import Loaded, SkipItem
from ingest.speakers import Roster, split_turns

CHUNK_CHARS = 1100
MIN_OVERLAP = 3  # words; shorter overlaps between caption lines are too often chance
_TIME = r"(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3}"
_VTT_TIME = re.compile(rf"^({_TIME})\s*-->\s*({_TIME})")
_TAG = re.compile(r"<[^<>]*>")  # stops at the next <: linear over many unclosed ones
_STAMP = re.compile(r"^\s*(?:\*\*)?\[(\d+(?::\d{2}){1,2})\](?:\*\*)?\s*(.*)$")
_SPEAKER = re.compile(r"^([A-Z][\w .'-]{0,40}):\s+(.+)$")
# `<v.class.other Name>`: each class is word characters (no dot), so a run of dots cannot be
# split between repetitions in exponentially many ways.
_VOICE = re.compile(r"<v(?:\.[\w-]*){0,20}\s+([^<>]{1,60})>")


@dataclass(frozen=True)
class Segment:
    start: float  # seconds
    text: str
    speaker: str | None = None


# ---- formats -> segments ---------------------------------------------------------------------
def parse_vtt(text: str) -> tuple[list[Segment], int]:
    """(segments, number of cues with unreadable timestamps). Rolling captions: a cue line with
    inline word timings (`<00:00:01.000>`) holds new words; a plain line that repeats the line
    before it is the window scrolling, and is dropped."""
    segments, broken, pending = [], 0, None  # pending: start of a cue still without text
    # Cues are separated by empty lines. YouTube puts a single-space line inside a cue; where a
    # tool has emptied it, the cue's text arrives as the next block, and is joined back to it.
    for block in re.split(r"\n{2,}", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = block.split("\n")
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing is None:
            if pending is not None:
                segments.extend(_cue_lines(pending, lines))
                pending = None
            continue  # header, NOTE, STYLE or REGION block
        m = _VTT_TIME.match(lines[timing].strip())
        if not m:
            broken, pending = broken + 1, None
            continue
        cue = _cue_lines(to_seconds(m.group(1)), lines[timing + 1:])
        segments.extend(cue)
        pending = None if cue else to_seconds(m.group(1))
    return merge_rolling(segments), broken


def _cue_lines(start: float, lines: list[str]) -> list[Segment]:
    """A cue's lines; a WebVTT voice tag (`<v Lex Fridman>`) names the line's speaker."""
    out = []
    for line in lines:
        voice = _VOICE.search(line)
        words = html.unescape(_TAG.sub("", line)).strip()
        if words:
            out.append(Segment(start, words, voice.group(1).strip() if voice else None))
    return out


def parse_srt(text: str) -> tuple[list[Segment], int]:
    return parse_vtt(text)  # same cue structure; commas in times and index lines are handled


def parse_json3(data: dict) -> list[Segment]:
    segments = []
    for event in data.get("events", []):
        words = "".join(s.get("utf8", "") for s in event.get("segs") or [])
        if words.strip():
            start = event.get("tStartMs", 0)
            segments.append(Segment(_seconds(start / 1000 if isinstance(start, (int, float))
                                             else start, segments), " ".join(words.split())))
    return merge_rolling(segments)


def parse_timed_json(data) -> list[Segment]:
    rows = data.get("segments") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise SkipItem("JSON with no list of timed segments")
    segments: list[Segment] = []
    for row in rows:
        if isinstance(row, dict) and isinstance(row.get("text"), str) and row["text"].strip():
            start = row.get("start", row.get("offset", row.get("start_time", 0)))
            speaker = row.get("speaker") if isinstance(row.get("speaker"), str) else None
            segments.append(Segment(_seconds(start, segments), html.unescape(
                " ".join(row["text"].split())), speaker))
    return segments


def _seconds(value, before: list[Segment]) -> float:
    """A segment's start in seconds; one that is not a usable number ("abc", -1, inf) starts
    where the segment before it did, so its words are kept and no link points nowhere."""
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        seconds = -1.0
    if not 0 <= seconds < 1e7:  # more than 100 days of video is not a time in it
        return before[-1].start if before else 0.0
    return seconds


def parse_stamped(text: str) -> list[Segment]:
    """Lines like `[12:34] words` (or `**[1:02:03]** Name: words`); other lines are ignored."""
    segments = []
    for line in text.splitlines():
        m = _STAMP.match(line)
        if not m or not m.group(2).strip():
            continue
        words, speaker = html.unescape(m.group(2).strip()), None
        if sm := _SPEAKER.match(words):
            speaker, words = sm.group(1), sm.group(2)
        segments.append(Segment(to_seconds(m.group(1)), words, speaker))
    return merge_rolling(segments)


def looks_stamped(text: str) -> bool:
    lines = [line for line in text.splitlines()[:400] if line.strip()]
    return sum(bool(_STAMP.match(line)) for line in lines) >= max(5, len(lines) // 3)


# ---- rolling captions ------------------------------------------------------------------------
def merge_rolling(segments: list[Segment]) -> list[Segment]:
    """Drop the words each caption repeats from the one before (see `ingest.captions`)."""
    out: list[Segment] = []
    tail: list[str] = []
    for seg in segments:
        words = seg.text.split()
        k = _overlap(tail, words)
        new = words[k:]
        if new:
            out.append(Segment(seg.start, " ".join(new), seg.speaker))
        tail = (tail + new)[-60:]
    return out


def _overlap(tail: list[str], words: list[str]) -> int:
    for k in range(min(len(tail), len(words)), 0, -1):
        if tail[len(tail) - k:] == words[:k] and (k >= MIN_OVERLAP or k == len(words)):
            return k
    return 0


# ---- segments -> document --------------------------------------------------------------------
def transcript_document(segments: list[Segment], *, doc_id: str, title: str, origin: str,
                        date: str | None = None, url: str | None = None,
                        meta: dict | None = None, roster: Roster | None = None,
                        authorship: str = "", his_lines: tuple[str, ...] = ()) -> Loaded:
    """The transcript as one document split into speaker turns (see `ingest.speakers`); every
    chunk lies inside one turn, names its speaker and starts at a segment's second."""
    if not segments:
        raise SkipItem("no spoken text found in the transcript")
    roster = roster or Roster(subject=UNKNOWN_AUTHOR, known=False)
    if not _labelled(segments):  # a stray "Note: …" line is not a speaker label
        segments = [Segment(s.start, f"{s.speaker}: {s.text}" if s.speaker else s.text)
                    for s in segments]
    timed = has_real_times(segments)
    parts, labels, text = [], [], ""
    for seg in segments:
        joiner = "\n\n" if text and seg.speaker else (" " if text else "")
        start = len(text) + len(joiner)
        text += joiner + (f"{seg.speaker}: {seg.text}" if seg.speaker else seg.text)
        parts.append((start, len(text), seg.start))
        if seg.speaker:
            labels.append((start, len(text), seg.speaker))
        elif labels:  # an unlabelled line continues the labelled turn before it
            labels[-1] = (labels[-1][0], len(text), labels[-1][2])
    turns = split_turns(text, roster, labels if labels else None, his_lines)
    chunks = _turn_chunks(doc_id, text, parts, turns, timed)
    author = roster.subject if roster.known else UNKNOWN_AUTHOR
    doc = Document(id=doc_id, kind="transcript", title=title, text=text, date=date, url=url,
                   origin=origin, author=author, authorship=authorship,
                   meta={"segments": len(segments), "timed": timed, "turns": turns,
                         "speakers": _speaker_shares(turns), **(meta or {}),
                         "parts": [[s, e, t] for s, e, t in parts],
                         **({"interviewer": roster.others[0]} if roster.others else {})})
    return Loaded(doc, chunks)


def _labelled(segments: list[Segment]) -> bool:
    """Speaker labels are real when several lines carry them and a few names recur."""
    names = [s.speaker for s in segments if s.speaker]
    return len(names) >= 3 and len(set(names)) <= 8 and len(names) >= 0.05 * len(segments)


def rechunk(doc: Document) -> list[Chunk]:
    """The chunks of a stored transcript for its (possibly relabelled) turns."""
    return _turn_chunks(doc.id, doc.text, [tuple(p) for p in doc.meta["parts"]],
                        doc.meta["turns"], bool(doc.meta.get("timed")))


def _turn_chunks(doc_id: str, text: str, parts: list[tuple[int, int, float]],
                 turns: list[list], timed: bool) -> list[Chunk]:
    """Pack segments into chunks of about CHUNK_CHARS, cut at every turn boundary."""
    chunks: list[Chunk] = []
    seg = 0
    for t_start, t_end, speaker in turns:
        pieces = []  # (start, end, start time) of each segment's share of this turn
        while seg < len(parts) and parts[seg][1] <= t_start:
            seg += 1
        k = seg
        while k < len(parts) and parts[k][0] < t_end:
            s, e = max(parts[k][0], t_start), min(parts[k][1], t_end)
            if text[s:e].strip():
                pieces.append((s, e, parts[k][2]))
            k += 1
        first = 0
        for i, (_, end, _) in enumerate(pieces):
            last = i == len(pieces) - 1
            if last or pieces[i + 1][1] - pieces[first][0] > CHUNK_CHARS:
                s, e = trim_span(text, pieces[first][0], end)
                if e > s:
                    n = len(chunks)
                    chunks.append(Chunk(id=f"{doc_id}#{n}", doc_id=doc_id, n=n, start=s, end=e,
                                        text=text[s:e], speaker=speaker,
                                        start_time=pieces[first][2] if timed else None))
                first = i + 1
    return chunks


def _speaker_shares(turns: list[list]) -> dict[str, int]:
    """Characters of the transcript each speaker is credited with."""
    shares: dict[str, int] = {}
    for start, end, speaker in turns:
        shares[speaker] = shares.get(speaker, 0) + end - start
    return dict(sorted(shares.items()))


def has_real_times(segments: list[Segment]) -> bool:
    """Stamps are usable when they (almost) never run backwards and spread over a plausible
    span (on average half a second or more per segment). Some caption dumps lose the minutes
    and cycle 0:00-0:59 for hours; linking to those seconds would mislead."""
    starts = [s.start for s in segments]
    backwards = sum(b < a for a, b in zip(starts, starts[1:]))
    return backwards <= 0.02 * len(starts) and max(starts) - min(starts) >= 0.5 * len(starts) > 0


def to_seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    return sum(float(p) * 60 ** i for i, p in enumerate(reversed(parts)))
