"""Safe text for the web UI: a string from a source (or typed by the user) is always shown as
text, never as markup, on every page.

Streamlit renders Markdown (with raw HTML dropped, `$…$` as LaTeX, `:name[…]` directives, GFM
autolinks) in `st.markdown`, captions, alerts, headings and every widget label (expanders,
radio options, buttons, tabs); labels keep images. `st.html` takes HTML. One function, `esc`,
makes a string inert in both: every character that means something in Markdown or HTML becomes
a numeric character reference (`[` -> `&#91;`), which CommonMark and HTML both decode back to
the same character as plain text. Nothing of the source survives as syntax: no image, tag,
link, emphasis, code span, math or directive. (A bare http(s) URL in the text is still made a
link to itself by GFM, which finds them in the decoded text; a link, never a fetch.)

The rest is built on it:
- `md_link` makes a link only of an absolute http(s) URL (percent-encoded, so no quote, space or
  bracket can end the target early); anything else is shown as escaped text.
- `md_code` is a code span for ids and paths; inside code spans character references are not
  decoded, so it fences the text with a backtick run longer than any inside it instead.
- `md_highlight` and `md_answer` escape everything but their own markup.

Plain-text contexts take the raw string and must NOT be escaped (they would show `&#91;`):
selectbox and multiselect options, text input values, dataframe cells, chart data, `st.code`.
"""
from __future__ import annotations

import re
from typing import Iterable
from urllib.parse import quote, urlsplit

# Everything that starts or ends syntax in CommonMark + GFM + Streamlit's extensions, or in HTML
# text and attribute values. Letters, digits, spaces and non-ASCII text stay as they are.
_SPECIAL = re.compile(r"""[\\`*_{}\[\]()#+\-.!|<>$~&:"'@]""")


def esc(text) -> str:
    """Markup-inert text, for Markdown and HTML alike; runs of whitespace (newlines included)
    become one space, so a string cannot open a heading, a list or a block quote either."""
    text = re.sub(r"\s+", " ", str(text))
    text = _EMAIL_AT.sub("@\u2060", text)  # see below
    return _SPECIAL.sub(lambda m: f"&#{ord(m.group())};", text)


# GFM finds autolinks in the decoded text, after escaping has done its work: an http(s) or www.
# URL in a passage becomes a link to itself (allowed: it is http), but `name@host.org` would
# become a mailto: link. An invisible word joiner after such an `@` keeps it text.
_EMAIL_AT = re.compile(r"(?<=[-.\w+])@(?=[-\w])")


def safe_url(url) -> str | None:
    """The URL ready for a link target (Markdown or an HTML attribute), or None when it is not
    an absolute http(s) URL with a host (javascript:, data:, relative paths, junk)."""
    if not isinstance(url, str) or re.search(r"[\x00-\x1f\x7f]", url):
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return quote(url, safe=":/?&=#%+@,;~!").replace("(", "%28").replace(")", "%29")


def md_link(label, url) -> str:
    """A Markdown link with an escaped label, when the URL is http(s); else the label alone."""
    target = safe_url(url)
    return f"[{esc(label)}]({target})" if target else esc(label)


def md_code(text) -> str:
    """An inline code span holding `text` literally, whatever backticks it contains."""
    text = re.sub(r"\s+", " ", str(text))
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}" if text else ""


def md_message(text) -> str:
    """A message in our own words that names commands in backticks (`ktp doctor`) and may quote
    anything (a path, an id): the backticked parts as code spans, the rest escaped."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: no code at all
        return esc(text)
    return "".join(md_code(p) if i % 2 else esc(p) for i, p in enumerate(parts))


def md_highlight(marked: str) -> str:
    """Text whose matches are wrapped in \\x02 … \\x03 (FTS5 highlight) as safe Markdown, the
    matches shown bold on a coloured background."""
    parts = re.split(r"\x02(.*?)\x03", marked)
    return "".join(esc(p) if i % 2 == 0 else f":orange-background[**{esc(p)}**]"
                   for i, p in enumerate(parts) if p)


_TOKEN = re.compile(r"\*\*([^\n]{1,400}?)\*\*|\[(S\d+(?:\s*,\s*S?\d+)*)\]|(?<![\w*])\*([^*\n]+?)\*(?!\w)")
_LEAD = re.compile(r"^(\s*(?:[-*•] |\d+\. ))")


def md_answer(text: str, literal: Iterable[str] = ()) -> str:
    """An answer (the framework reading, or an LLM's) as safe Markdown: its own bold, italics
    and list marks kept, every other character escaped, and each [Sn] a link to its evidence
    card (anchor `source-n`). What the answer quotes (“…”) and every string of `literal` found
    in it (the sources' titles, URLs, speakers; the framework's labels) is held out of that
    reading altogether, so a title's own `**` or `[S1]` is shown as text, not markup."""
    held: list[str] = []

    def hold(piece: str) -> str:
        held.append(piece)
        return f"\ue000{len(held) - 1}\ue001"

    text = re.sub("[\ue000\ue001]", "", text)
    text = re.sub(r"“([^“”\n]+)”", lambda m: f"“{hold(m.group(1))}”", text)
    for piece in sorted({p for p in literal if isinstance(p, str) and len(p.strip()) >= 3},
                        key=len, reverse=True):
        if piece in text:
            text = text.replace(piece, hold(piece))
    markdown = _answer_markup(text)
    return re.sub("\ue000(\\d+)\ue001", lambda m: esc(held[int(m.group(1))]), markdown)


def _answer_markup(text: str) -> str:
    lines = []
    for line in text.splitlines():
        lead = _LEAD.match(line)
        head = lead.group(1) if lead else ""
        body, out, pos = line[len(head):], [], 0
        for m in _TOKEN.finditer(body):
            out.append(esc(body[pos:m.start()]))
            if m.group(1) is not None:
                out.append(f"**{esc(m.group(1))}**")
            elif m.group(2) is not None:
                numbers = re.findall(r"\d+", m.group(2))
                out.append("[" + ", ".join(f"[S{n}](#source-{n})" for n in numbers) + "]")
            else:
                out.append(f"*{esc(m.group(3))}*")
            pos = m.end()
        out.append(esc(body[pos:]))
        lines.append(head + "".join(out))
    return "  \n".join(lines)


# Link and image text may not hold a bracket, nor a target a parenthesis: so every attempt
# stops at the next opener, and a run of `![` costs linear time, not quadratic.
_MARKUP = [(re.compile(r"!\[([^\[\]\n]*)\]\([^()\n]*\)"), r"\1"),
           (re.compile(r"\[([^\[\]\n]+)\]\([^()\n]*\)"), r"\1"),
           (re.compile(r"\*\*|__|`"), ""), (re.compile(r"^\s{0,3}(?:#{1,6}|>)\s*", re.M), "")]


def plain_text(text: str) -> str:
    """A passage as a reader sees it: Markdown links, emphasis, headings and quote marks of
    block quotes removed (then escaped for display with `esc`)."""
    for pattern, repl in _MARKUP:
        text = pattern.sub(repl, text)
    return text
