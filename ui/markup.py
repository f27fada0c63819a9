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
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def md_link(label: str, url: str | None) -> str:
    if not url or not re.match(r"^https?://", url):
        return md_escape(label)
    safe = quote(url, safe=":/?&=#%+@,;~!*'")
    safe = safe.replace("(", "%28").replace(")", "%29")
    return f"[{md_escape(label)}]({safe})"
