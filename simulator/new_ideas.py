"""What is new in his thinking: his recent passages that no framework item covers, grouped into
a handful of themes by meaning, each named by its own most distinctive words and shown with his
quotes. For whoever edits the framework's YAML: where the authored framework is falling behind
what he now says.

    found = new_ideas(home, framework, store, graph)             # the last 12 months
    found = new_ideas(home, framework, store, graph, since="2025-06")
    found.themes[0].words, found.themes[0].quotes[0].quote, found.as_json()

How it is decided (cheap and deterministic: nothing is embedded, nothing is random):
- Recent: his own words (never a host's turn or a retweet), dated on or after `since` by the
  passage's own date (a thread's tweet by its time). By default `since` is 12 months before
  his newest dated passage, so an old corpus still has a "recent". Undated passages cannot
  be recent: they are counted apart. A copy of another passage (corpus/duplicates.py) is left
  out: its text was said where its canonical was. So is a passage under MIN_WORDS words.
- Not covered: its best cosine to every axiom and mental model is below the similarity at
  which evidence linking links a passage to an item (graph.evidence_links.SUPPORT_THRESHOLD),
  and the graph does not link it to any item (a quote's passage). The vectors are the build's:
  the passages' from the exact-search table under the home's vectors/ folder, the items' from
  the cache the retriever keeps (graph/vector_cache.py).
- Themes: spherical k-means over those vectors (cosine), k-means++ starts from a seeded
  generator, the best of N_INIT runs; k = the number of passages over PER_THEME, rounded up,
  between 2 and MAX_THEMES (1 below 4 passages). Themes are listed largest first.
- A theme's name: its words that are most over-represented in it against the other themes
  (share of its passages holding the word, minus the share of the others' passages), taken
  from the passages as written; stop words and numbers are not names.
- A theme's quotes: in each of its READ passages closest to its centre, the quotable stretch
  (corpus/quotable.py) whose build vector is closest to the centre, with the theme's words
  weighed in as an answer's quotes weigh the question's (a question or an unpunctuated caption
  line counts less); the best of those, one per document; verbatim, with the passage's date
  and a link to the words (as `ktp timeline` links them).
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

import numpy as np

from corpus.dates import bound
from corpus.errors import KtpError
from corpus.query import STOPWORDS
from corpus.quotable import is_sentenced
from corpus.textnorm import content_stems
from graph.evidence_links import SUPPORT_THRESHOLD, item_text, linked_items
from simulator.dating import day, passage_date
from simulator.evidence import evidence_from_row, with_genres
from simulator.quotes import MEANING, WORDS, candidate_spans, shorten, word_overlap
from simulator.timeline import TimelineQuote, quote_link

WINDOW_DAYS = 365  # "recent" by default: this long before his newest dated passage
MIN_WORDS = 8  # a passage shorter than this ("lol", "+1") carries no idea of its own
PER_THEME = 25  # passages per theme, roughly, before MAX_THEMES caps the count
MAX_THEMES = 8
N_INIT, ROUNDS, SEED = 4, 50, 0
NAME_WORDS = 4
QUOTES = 3
READ = 20  # passages nearest a theme's centre read for its quotes
# Words that name nothing in talk (fillers of speech, the commonest verbs), beside STOPWORDS.
FILLERS = frozenset("""
also actually always another anything around back basically bit cant come comes could dont
doesnt done even ever every get gets getting give going gonna good got great isnt ive kind
know let lets like lot lots look make makes many maybe much need never new okay one ones
pretty probably put really right see seem something still stuff sure take thats theres
thing things way well yeah yes youre youll youve want will just thats also able via
""".split())


@dataclass(frozen=True)
class Theme:
    words: tuple[str, ...]  # its most distinctive words, most first
    passages: tuple[str, ...]  # chunk ids, closest to the theme's centre first
    documents: int
    start: str  # YYYY-MM-DD of its oldest passage
    end: str  # and of its newest
    quotes: tuple[TimelineQuote, ...]

    @property
    def name(self) -> str:
        return ", ".join(self.words) or "(no distinctive words)"

    def as_json(self) -> dict:
        return {"theme": self.name, "words": list(self.words), "count": len(self.passages),
                "documents": self.documents, "start": self.start, "end": self.end,
                "passages": list(self.passages), "quotes": [q.as_json() for q in self.quotes]}


@dataclass(frozen=True)
class NewIdeas:
    since: str  # YYYY-MM-DD
    newest: str | None  # his newest dated passage
    since_rule: str  # how `since` was set, in words
    threshold: float
    recent: int  # his recent passages considered (copies and short ones left out)
    covered: int  # of those, the ones some framework item covers
    copies_left_out: int
    short_left_out: int
    undated_left_out: int  # his undated passages: never recent
    themes: tuple[Theme, ...]

    @property
    def uncovered(self) -> int:
        return sum(len(t.passages) for t in self.themes)

    def as_json(self) -> dict:
        return {"since": self.since, "newest": self.newest, "since_rule": self.since_rule,
                "threshold": self.threshold, "recent": self.recent, "covered": self.covered,
                "uncovered": self.uncovered, "copies_left_out": self.copies_left_out,
                "short_left_out": self.short_left_out,
                "undated_left_out": self.undated_left_out,
                "themes": [t.as_json() for t in self.themes]}


def new_ideas(home, framework, store, graph, since: str | None = None) -> NewIdeas:
    table, embedder_name = passage_table(home)
    his = table.his & (table.ts > 0)
    copy = table.canon != np.arange(len(table), dtype=np.int32)
    newest_day = int(table.ts[his].max()) if his.any() else 0
    if not newest_day:
        raise KtpError("no dated passage of his in the corpus, so nothing is recent",
                       fix="ingest his dated material (tweets, posts, talks) and run "
                           "`ktp build`")
    newest = _iso(newest_day)
    if since:
        low, rule = bound(since, "since"), f"given: --since {since}"
    else:
        low = (dt.date.fromisoformat(newest) - dt.timedelta(days=WINDOW_DAYS - 1)).isoformat()
        rule = f"the last {WINDOW_DAYS} days up to his newest dated document ({newest})"
    # A thread's tweets have their own dates, later than the thread's: read every thread.
    thread = table.kind == table.kinds.index("thread") if "thread" in table.kinds else False
    maybe = his & ((table.ts >= int(low.replace("-", ""))) | thread)
    rows = store.chunk_rows([table.ids[r] for r in np.flatnonzero(maybe)])
    said = {cid for cid, row in rows.items()
            if row["his_words"] and day(passage_date(row)) >= low}
    recent = [table.row_of(cid) for cid in sorted(said) if not copy[table.row_of(cid)]]
    copies = len(said) - len(recent)
    long_enough = [r for r in recent if len(rows[table.ids[r]]["text"].split()) >= MIN_WORDS]
    items = linked_items(framework)
    vectors = np.asarray(table.vectors[long_enough], dtype=np.float32) if long_enough else \
        np.zeros((0, table.dim), dtype=np.float32)
    best = _best_item_similarity(home, embedder_name, items, vectors)
    open_rows = [r for r, b in zip(long_enough, best)
                 if b < SUPPORT_THRESHOLD and not graph.supports(table.ids[r])]
    themes = _themes(table, rows, open_rows, framework)
    undated = int((table.his & (table.ts == 0) & ~copy).sum())
    return NewIdeas(low, newest, rule, SUPPORT_THRESHOLD, len(long_enough),
                    len(long_enough) - len(open_rows), copies, len(recent) - len(long_enough),
                    undated, tuple(themes))


def passage_table(home):
    """(the exact-search table the index pointer names, the embedder that made it), read from
    the files alone: Chroma is never opened."""
    from graph.exact_search import VectorTable
    from graph.pipeline import index_pointer
    from graph.vector_index import VectorIndex

    pointer = VectorIndex.pointer_for(home)
    if not pointer.exists():
        raise KtpError("no vector index yet: what is new is found by meaning",
                       fix="run `ktp build` first")
    state = index_pointer(pointer)
    if not state.get("vectors"):
        raise KtpError(f"{pointer.name} names no exact-search table",
                       fix="run `ktp build` to write it")
    try:
        return VectorTable.load(pointer.parent / "vectors" / state["vectors"]), state["embedder"]
    except (OSError, ValueError, KeyError) as e:
        raise KtpError(f"the index's vectors cannot be read ({type(e).__name__})",
                       fix="run `ktp build --reindex` to write them again") from None


def _best_item_similarity(home, embedder_name: str, items, vectors: np.ndarray) -> np.ndarray:
    """Each passage's best cosine to any item."""
    if not items or not len(vectors):
        return np.zeros(len(vectors))
    return (vectors @ item_vectors(home, embedder_name, items).T).max(axis=1)


def item_vectors(home, embedder_name: str, items) -> np.ndarray:
    """The items' unit vectors from the retriever's cache (embedded only when the framework
    changed since the cache was written, and then kept for the next process)."""
    from graph.embedder import load_embedder
    from graph.vector_cache import cached_vectors

    embedder = load_embedder(embedder_name, home.root / "models")  # loads only to embed
    vectors = np.asarray(cached_vectors(embedder, [item_text(i) for i in items],
                                        home.root / "cache"), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)


# ---- themes ----------------------------------------------------------------------------------
def theme_count(n: int) -> int:
    if n < 4:
        return 1 if n else 0
    return max(2, min(MAX_THEMES, math.ceil(n / PER_THEME)))


def cluster(vectors: np.ndarray, k: int, seed: int = SEED) -> np.ndarray:
    """Spherical k-means (cosine): the label of each row. k-means++ starts drawn from a
    generator seeded with `seed`, the best of N_INIT runs by total cosine to the centres; the
    same vectors give the same labels on every run."""
    if k <= 1:
        return np.zeros(len(vectors), dtype=np.int64)
    rng = np.random.default_rng(seed)
    best, best_fit = None, -np.inf
    for _ in range(N_INIT):
        labels, fit = _kmeans(vectors, _plus_plus(vectors, k, rng))
        if fit > best_fit + 1e-9:
            best, best_fit = labels, fit
    return best


def _plus_plus(x: np.ndarray, k: int, rng) -> np.ndarray:
    centres = [x[int(rng.integers(len(x)))]]
    for _ in range(1, k):
        gap = np.clip(1.0 - _cosines(x, np.array(centres)).max(axis=1), 0.0, None)
        if gap.sum() <= 0:
            break
        centres.append(x[int(rng.choice(len(x), p=gap / gap.sum()))])
    return np.array(centres)


def _kmeans(x: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, float]:
    labels = None
    for _ in range(ROUNDS):
        new = np.argmax(_cosines(x, centres), axis=1)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        for c in range(len(centres)):
            members = x[labels == c]
            if len(members):
                mean = members.sum(axis=0)
                centres[c] = mean / (np.linalg.norm(mean) or 1.0)
    return labels, float((x * centres[labels]).sum())


def _cosines(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """x @ centres.T in this thread: a small product handed to BLAS's worker threads waits
    for a core whenever the machine is busy (measured: 4 k-means runs over 219 passages took
    0.39 s through BLAS on a loaded machine; see graph/exact_search._products)."""
    return np.einsum("ij,kj->ik", x, centres)


def _themes(table, rows: dict, chosen: list[int], framework) -> list[Theme]:
    if not chosen:
        return []
    x = np.asarray(table.vectors[chosen], dtype=np.float32)
    labels = cluster(x, theme_count(len(chosen)))
    groups = [np.flatnonzero(labels == c) for c in range(int(labels.max()) + 1)]
    groups = [g for g in groups if len(g)]
    words_of = [_words(rows[table.ids[chosen[i]]]["text"]) for i in range(len(chosen))]
    themes = []
    for g in groups:
        centre = x[g].sum(axis=0)
        centre /= np.linalg.norm(centre) or 1.0
        order = sorted(g.tolist(), key=lambda i: (-float(x[i] @ centre), table.ids[chosen[i]]))
        ids = [table.ids[chosen[i]] for i in order]
        days = sorted(day(passage_date(rows[c])) for c in ids)
        inside = set(g.tolist())
        name = _distinctive([words_of[i] for i in inside],
                            [words_of[i] for i in range(len(chosen)) if i not in inside])
        themes.append(Theme(name, tuple(ids), len({rows[c]["doc_id"] for c in ids}), days[0],
                            days[-1], tuple(theme_quotes(table, rows, ids, centre, name,
                                                         framework))))
    return sorted(themes, key=lambda t: (-len(t.passages), t.passages[0]))


def _words(text: str) -> set[str]:
    text = re.sub(r"https?://\S+|@\w+", " ", text.lower())
    words = {w.replace("’", "'").strip("'") for w in re.findall(r"[a-z][a-z0-9'’\-]*[a-z0-9]", text)}
    return {w for w in words if len(w) > 2 and w not in STOPWORDS
            and w.replace("'", "") not in FILLERS and "'" not in w}


def _distinctive(inside: list[set[str]], outside: list[set[str]]) -> tuple[str, ...]:
    """The theme's words most over-represented in it, each in at least two of its passages
    (one, when the theme has a single passage)."""
    df_in: dict[str, int] = {}
    for words in inside:
        for w in words:
            df_in[w] = df_in.get(w, 0) + 1
    df_out: dict[str, int] = {}
    for words in outside:
        for w in words:
            df_out[w] = df_out.get(w, 0) + 1
    least = 2 if len(inside) > 1 else 1
    floor = 1 / (len(inside) + len(outside))  # a word none of the others use is not infinite
    score = {w: n / len(inside) * math.log((n / len(inside) + floor)
                                           / (df_out.get(w, 0) / max(1, len(outside)) + floor))
             for w, n in df_in.items() if n >= least}
    ranked = sorted(score, key=lambda w: (-score[w], -df_in[w], w))
    chosen: list[str] = []
    for w in ranked:  # "value" and "values" name one thing
        if len(chosen) < NAME_WORDS and not any(w.rstrip("s") == c.rstrip("s") for c in chosen):
            chosen.append(w)
    return tuple(chosen)


def theme_quotes(table, rows: dict, ids: list[str], centre: np.ndarray, words, framework,
                 k: int = QUOTES) -> list[TimelineQuote]:
    """Up to k quotes, from distinct documents, read from the first READ passages of `ids`
    (closest to the centre first): in each, the stretch closest to the centre by its build
    vector, `words` (the theme's name, an era's title) saying which sentence is on it; the k
    best of those. Nothing is embedded. Also the Eras tab's quotes (simulator/framework_time.py)."""
    wanted = content_stems(" ".join(words))
    best: dict[str, tuple] = {}  # document -> (score, order, evidence, text): its best line
    for order, cid in enumerate(ids[:READ]):
        row = rows[cid]
        e = with_genres([evidence_from_row({**row, "date": passage_date(row)}, 1.0,
                                           ("new",))], framework)[0]
        if e.genre == "fiction":
            continue  # a character's line is not his view
        found = _best_span(table, e, centre, wanted)
        if found is not None and (e.doc_id not in best or found[0] > best[e.doc_id][0]):
            best[e.doc_id] = (found[0], order, e, found[1])
    out = []
    for _, _, e, span in sorted(best.values(), key=lambda b: (-b[0], b[1]))[:k]:
        text, _ = shorten(span, wanted)
        out.append(TimelineQuote(text, e.doc_id, e.chunk_id, e.date, quote_link(e, text),
                              e.title, e.badge))
    return out


def _best_span(table, e, centre: np.ndarray, wanted: set[str]) -> tuple[float, str] | None:
    """The quotable stretch of a passage closest to the centre by the build's span vectors;
    without them, the passage's first stretch. Questions and unpunctuated captions rank
    lower, as in the quotes of an answer (simulator/quotes.py)."""
    spans = candidate_spans(e)
    if not spans:
        return None
    made = (table.spans.of(e.chunk_id) if table.spans is not None else None) or {}
    scored = []
    for n, (start, end, text) in enumerate(spans):
        v = made.get((start, end))
        meaning = float(v @ centre) / (float(np.linalg.norm(v)) or 1.0) if v is not None \
            else 0.0
        # A stretch's build vector leans toward its whole passage; the theme's own words
        # say which sentence of it is on the theme (the blend the answer's quotes use).
        score = MEANING * meaning + WORDS * word_overlap(wanted, text) if v is not None \
            else -1.0 - n
        if text.rstrip("\"”’) ").endswith("?"):
            score *= 0.5 if score > 0 else 1.0
        if not is_sentenced(e.text) and score > 0:
            score *= 0.6
        scored.append((score, n, text))
    score, _, text = max(scored, key=lambda s: (s[0], -s[1]))
    return score, text


def _iso(yyyymmdd: int) -> str:
    s = str(yyyymmdd)
    return f"{s[:4]}-{s[4:6]}-{s[6:]}"
