"""Undo rolling captions: YouTube auto-captions show each spoken line two or three times, as the
window scrolls ("A", "A B", "B", "B C", ...). Merging each line into the text by its overlap with
what came before gives every spoken word once."""
from __future__ import annotations

MIN_OVERLAP = 3  # words; shorter overlaps are too often chance ("it ... it")


def merge_rolling_lines(lines: list[str]) -> str:
    words: list[str] = []
    for line in lines:
        new = line.split()
        if not new:
            continue
        words.extend(new[_overlap(words, new):])
    return " ".join(words)


def _overlap(words: list[str], new: list[str]) -> int:
    """Length of the longest tail of `words` that `new` starts with (0 if only by chance)."""
    for k in range(min(len(words), len(new)), 0, -1):
        if words[len(words) - k:] == new[:k] and (k >= MIN_OVERLAP or k == len(new)):
            return k
    return 0
