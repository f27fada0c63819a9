"""Safe text for Streamlit markdown: source and user text is always shown as text.

Streamlit renders Markdown (and $…$ as LaTeX), so a quote containing `*`, `[link](…)`, `$` or
`<script>` would change the page. Everything that is not our own markup goes through `md_escape`,
and links are only made from http(s) URLs.
"""
from __future__ import annotations

import re
from urllib.parse import quote

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~&:])")


def md_escape(text: str) -> str:
    """Markdown-inert text; runs of whitespace become one space (edges kept, for joining)."""
    return _SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", str(text)))


def md_highlight(marked: str) -> str:
    """Text whose matches are wrapped in \\x02 … \\x03 (FTS5 highlight) as safe Markdown, the
    matches shown bold on a coloured background."""
    parts = re.split(r"\x02(.*?)\x03", marked)
    return "".join(md_escape(p) if i % 2 == 0 else f":orange-background[**{md_escape(p)}**]"
                   for i, p in enumerate(parts) if p)


def md_link(label: str, url: str | None) -> str:
    if not url or not re.match(r"^https?://", url):
        return md_escape(label)
    safe = quote(url, safe=":/?&=#%+@,;~!*'")
    safe = safe.replace("(", "%28").replace(")", "%29")
    return f"[{md_escape(label)}]({safe})"
