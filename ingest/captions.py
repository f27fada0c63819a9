"""Undo rolling captions in plain lines of text: YouTube auto-captions show each spoken line
two or three times as the window scrolls ("A", "A B", "B", "B C", ...). The merge itself
(by word overlap with what came before) lives with the timed segments in `ingest.transcripts`;
this is its form for lines without times."""
from __future__ import annotations

from ingest.transcripts import Segment, merge_rolling


def merge_rolling_lines(lines: list[str]) -> str:
    return " ".join(s.text for s in merge_rolling([Segment(0.0, line) for line in lines
                                                   if line.split()]))
