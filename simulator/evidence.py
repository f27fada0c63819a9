"""Evidence: one passage of his, handed to the simulator and shown to the user, with a link
that lands on the words themselves.

Deep links: a tweet's own URL (inside a thread, the URL of the tweet that holds the passage);
a YouTube URL at the passage's second (`t=754s`); a paper's PDF at the passage's page
(`#page=3`: a PDF viewer follows no text fragment); a web page with a text fragment
(`#:~:text=first%20words,last%20words`) so the browser scrolls to the quoted words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import quote

from corpus.attribution import badge
from corpus.ids import deep_link
from corpus.model import UNKNOWN_AUTHOR
from corpus.quotable import chunk_quoted


@dataclass(frozen=True)
class Evidence:
    chunk_id: str
    doc_id: str
    kind: str
    title: str
    date: str | None
    url: str | None  # the deep link
    origin: str  # the file or URL the document was ingested from
    text: str
    score: float
    why: tuple[str, ...]  # how it was found: "keyword", "vector", "graph"
    start_time: float | None = None
    supports: tuple[str, ...] = field(default=())  # framework items this passage backs
    similarity: float | None = None  # cosine to the question, when the vector index found it
    # Who said it: the document's author, the passage's speaker, whether those are his words,
    # the badge a user sees ("his tweet", "retweet of @x", "Lex Fridman, host"), how the author
    # is known, and spans of the passage he quotes from others ((start, end, source), offsets
    # into `text`).
    author: str = UNKNOWN_AUTHOR
    speaker: str | None = None
    his_words: bool = False
    badge: str = "author unknown"
    authorship: str = ""
    quoted: tuple[tuple[int, int, str], ...] = ()
    retweet_of: str | None = None
    genre: str | None = None  # "fiction": his words, not his views (the registry says so)

    def as_row(self) -> dict:
        return {"chunk_id": self.chunk_id, "doc_id": self.doc_id, "kind": self.kind,
                "title": self.title, "date": self.date, "url": self.url, "origin": self.origin,
                "text": self.text, "score": self.score, "why": list(self.why),
                "supports": list(self.supports), "similarity": self.similarity,
                "author": self.author, "speaker": self.speaker, "his_words": self.his_words,
                "badge": self.badge, "authorship": self.authorship, "genre": self.genre,
                "quoted": [list(q) for q in self.quoted]}


def evidence_from_row(row: dict, score: float, why: tuple[str, ...],
                      supports: tuple[str, ...] = (), similarity: float | None = None) -> Evidence:
    meta = row.get("meta") or {}
    his = bool(row.get("his_words"))
    speaker = row.get("speaker") or row.get("author")
    return Evidence(chunk_id=row["id"], doc_id=row["doc_id"], kind=row["kind"],
                    title=row["title"], date=row["date"], url=passage_link(row),
                    origin=row["origin"], text=row["text"], score=round(score, 6), why=why,
                    start_time=row["start_time"], supports=supports, similarity=similarity,
                    author=row.get("author") or UNKNOWN_AUTHOR, speaker=speaker, his_words=his,
                    badge=badge(kind=row["kind"], author=row.get("author"), speaker=speaker,
                                his_words=his, meta=meta),
                    authorship=row.get("authorship") or "",
                    quoted=chunk_quoted(meta.get("quoted"), row.get("start", 0), row.get("end")),
                    retweet_of=(row.get("author") if meta.get("is_retweet") else None))


def passage_link(row: dict) -> str | None:
    url, kind = row["url"], row["kind"]
    if kind == "thread":
        for tweet in row["meta"].get("tweets", []):
            if tweet["start"] <= row["start"] < tweet["end"] or tweet["start"] < row["end"] <= \
                    tweet["end"]:
                return tweet["url"]
    if not url:
        return None
    if row.get("start_time") is not None or row.get("page") is not None:
        return deep_link(url, row.get("start_time"), page=row.get("page"))
    if kind in ("tweet", "thread", "transcript", "paper"):
        return url
    return url.split("#")[0] + text_fragment(row["text"])


def text_fragment(text: str, words: int = 5) -> str:
    """`#:~:text=start,end`: the first and last few words of the passage (of one line each,
    since a text fragment cannot cross block boundaries reliably)."""
    lines = [line for line in (re.sub(r"[#*_`>\[\]]", " ", t).strip() for t in
                               text.splitlines()) if len(line.split()) >= 2]
    if not lines:
        return ""
    first, last = lines[0].split(), lines[-1].split()

    def enc(part: list[str]) -> str:
        return quote(" ".join(part), safe="").replace("-", "%2D").replace(",", "%2C")

    if len(lines) == 1 and len(first) <= 2 * words:
        return f"#:~:text={enc(first)}"
    return f"#:~:text={enc(first[:words])},{enc(last[-words:])}"


def with_genres(evidence, framework) -> list[Evidence]:
    """Passages of a source the registry calls fiction (his short stories) say so: in their
    badge, which the reading and the prompt show, and in `genre`, which the quotes weigh. His
    words there are a character's, not his views."""
    out = []
    for e in evidence:
        source = framework.registry.get(e.doc_id)
        genre = source.extra.get("genre") if source else None
        out.append(replace(e, genre=genre, badge=f"{e.badge}, {genre}") if genre else e)
    return out
