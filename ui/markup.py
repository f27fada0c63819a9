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


_TOKEN = re.compile(r"\*\*(.+?)\*\*|\[(S\d+(?:\s*,\s*S?\d+)*)\]|(?<![\w*])\*([^*\n]+?)\*(?!\w)")
_LEAD = re.compile(r"^(\s*(?:[-*•] |\d+\. ))")


def md_answer(text: str) -> str:
    """An answer (the framework reading, or an LLM's) as safe Markdown: its own bold, italics
    and list marks kept, every other character (quotes of sources, titles) escaped, and each
    [Sn] a link to its evidence card (anchor `source-n`)."""
    lines = []
    for line in text.splitlines():
        lead = _LEAD.match(line)
        head = lead.group(1) if lead else ""
        body, out, pos = line[len(head):], [], 0
        for m in _TOKEN.finditer(body):
            out.append(md_escape(body[pos:m.start()]))
            if m.group(1) is not None:
                out.append(f"**{md_escape(m.group(1))}**")
            elif m.group(2) is not None:
                numbers = re.findall(r"\d+", m.group(2))
                out.append("[" + ", ".join(f"[S{n}](#source-{n})" for n in numbers) + "]")
            else:
                out.append(f"*{md_escape(m.group(3))}*")
            pos = m.end()
        out.append(md_escape(body[pos:]))
        lines.append(head + "".join(out))
    return "  \n".join(lines)


_MARKUP = [(re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
           (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
           (re.compile(r"\*\*|__|`"), ""), (re.compile(r"^\s{0,3}(?:#{1,6}|>)\s*", re.M), "")]


def plain_text(text: str) -> str:
    """A passage as a reader sees it: Markdown links, emphasis, headings and quote marks of
    block quotes removed (then escaped for display)."""
    for pattern, repl in _MARKUP:
        text = pattern.sub(repl, text)
    return text
