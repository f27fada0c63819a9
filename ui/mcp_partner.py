"""What the MCP server holds for its whole life, and the answers its tools give, in plain Python.

    partner = Partner.open(DataHome.resolve(None), llm=None)
    partner.search("software 2.0", kind="tweet")       # {"results": [...], ...}
    partner.ask("Should I write my own tokenizer?")     # as `ktp ask --json`

One store, one retriever (the embedder, the vector index and the framework items' vectors,
loaded once and kept warm), the framework and the graph: opened once, then every call reuses
them. The results are the CLI's own `--json` rows (`SearchHit.as_row`, `Evidence.as_row`,
`Answer.as_json`), wrapped in an object (an MCP result is a JSON object, not a list) and, for
search hits, with the passage's deep link and badge added.

Nothing here imports the MCP SDK: `ui/mcp_server.py` wires these methods to the protocol, and
`bench/mcp_speed.py` calls them directly as the in-process baseline. Every error a user can fix
is a `KtpError` whose message says how; the server turns it into an MCP tool error.

Memory: the server neither reads nor records the partner's memory of the user. Its callers are
agents, whose tool calls are not the user's conversation with the partner; recording them would
fill `ktp sleep`'s notes with an agent's queries (the CLI's `ktp ask --no-memory`).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from corpus.dates import bound, check_range
from corpus.errors import KtpError
from corpus.framework_model import KINDS, Item
from corpus.ids import deep_link

PASSAGES_SHOWN = 5  # evidence passages a framework item comes with, unless asked for more


@dataclass
class Partner:
    home: object  # corpus.home.DataHome
    world: object  # graph.pipeline.World: store, graph, framework
    retriever: object  # simulator.retrieval.HybridRetriever
    llm: object = None  # None: the framework reading
    k: int = 8
    has_documents: bool = False

    @classmethod
    def open(cls, home, llm=None, k: int = 8) -> "Partner":
        """Open the data home (it must exist) and warm everything a call needs: the framework
        items' vectors and the encoder, by embedding one question now rather than at the
        first call."""
        from graph.pipeline import open_world
        from simulator.retrieval import open_retriever

        home = home.require()
        world = open_world(home)
        retriever = open_retriever(home, world)
        if retriever.embedder is not None:
            retriever.question_vector("warm up the encoder")
        return cls(home, world, retriever, llm, k)

    @property
    def framework(self):
        return self.world.framework

    # ---- his words ---------------------------------------------------------------------------
    def search(self, query: str, *, kind: str | None = None, since: str | None = None,
               until: str | None = None, speaker: str = "any", limit: int = 10,
               semantic: bool = False, include_undated: bool = False) -> dict:
        """`ktp search`: ranked keyword search (its query syntax), or by meaning."""
        from corpus.query import parse_query
        from simulator.search import find_passages

        parsed = parse_query(query)  # QueryError says how to write it
        low, high = _dates(since, until)
        self._require_documents()
        index, vector = self._semantic_index(query) if semantic else (None, None)
        hits, left_out = find_passages(self.world.store, parsed, index=index, vector=vector,
                                       kind=kind, since=low, until=high, speaker=speaker,
                                       limit=limit, include_undated=include_undated)
        return {"query": query, "mode": "semantic" if semantic else "keyword",
                "results": self._with_links(hits), "undated_left_out": left_out}

    def _semantic_index(self, query: str):
        """(the warm index, the query embedded by the warm encoder): `ktp search --semantic`
        opens the index on each call, which is right for one command and costs a server ~1 s
        a search."""
        index = self.retriever.index
        if index is None:
            raise KtpError("no vector index yet", fix="run `ktp build` first, then restart "
                                                      "the MCP server")
        return index, self.retriever.question_vector(query)

    def _with_links(self, hits: list) -> list[dict]:
        """`ktp search --json` rows, plus each passage's deep link (the tweet, the second of
        the talk, the words on the page) and whose words it is."""
        from simulator.evidence import evidence_from_row

        rows = self.world.store.chunk_rows([h.id for h in hits])
        out = []
        for hit in hits:
            row = hit.as_row()
            if hit.id in rows:
                e = evidence_from_row(rows[hit.id], hit.score, ())
                row.update(link=e.url, badge=e.badge, date=e.date)
            out.append(row)
        return out

    def retrieve(self, question: str, *, k: int = 8, kind: str | None = None,
                 since: str | None = None, until: str | None = None, own_only: bool = False,
                 speaker: str = "his", include_undated: bool = False,
                 modes: tuple[str, ...] | None = None) -> dict:
        """`ktp retrieve --json`: the evidence for a question, fused from keyword, vector and
        graph retrieval."""
        from simulator.retrieval import MODES

        question = _text(question, "question")
        low, high = _dates(since, until)
        chosen = tuple(modes or MODES)
        unknown = set(chosen) - set(MODES)
        if unknown:
            raise KtpError(f"unknown mode {', '.join(sorted(unknown))}",
                           fix=f"choose from {', '.join(MODES)}")
        self._require_documents()
        evidence = self.retriever.retrieve(question, k, kind=kind, since=low, until=high,
                                           own_only=own_only, speaker=speaker, modes=chosen,
                                           include_undated=include_undated)
        notes = [] if self.retriever.index is not None or "vector" not in chosen else [
            "no vector index yet (run `ktp build`): keyword and graph results only"]
        return {"question": question, "evidence": [e.as_row() for e in evidence],
                "undated_left_out": self.retriever.undated_left_out, "notes": notes}

    def ask(self, question: str, *, as_of: str | None = None, k: int | None = None,
            include_prompt: bool = False) -> dict:
        """`ktp ask --json --no-memory`: an answer in his framework, every citation checked.
        One question, one fresh session: an agent's calls are not one conversation."""
        from simulator.dating import AsOf
        from simulator.session import Session

        question = _text(question, "question")
        cut = bound(as_of, "until") if as_of else None
        self._require_documents()
        retriever = AsOf(self.retriever, cut) if cut else self.retriever
        session = Session(retriever, self.framework, self.llm, memory=None, k=k or self.k)
        result = session.ask(question)
        data = result.as_json()
        data["all_verified"] = result.all_verified
        if not include_prompt:  # thousands of words an agent rarely wants: on request
            data["prompt"] = None
        return data

    def think_prompt(self, problem: str) -> list[dict]:
        """The messages the simulator would send an LLM for this problem: its instructions and
        his persona (the ideas in play rendered in full), then his numbered words on it."""
        from simulator.answer import answer

        problem = _text(problem, "problem")
        self._require_documents()
        return list(answer(problem, self.retriever, self.framework, None, k=self.k).messages)

    # ---- his framework -----------------------------------------------------------------------
    def list_framework(self, kind: str | None = None) -> dict:
        kinds = [kind] if kind else [k for k in KINDS if self.framework.of_kind(k)]
        return {"kinds": {k: [{"id": i.id, "title": i.title, "summary": i.summary}
                              for i in self.framework.of_kind(k)] for k in kinds},
                "counts": {k: len(self.framework.of_kind(k)) for k in kinds}}

    def framework_item(self, item_id: str, passages: int = PASSAGES_SHOWN) -> dict:
        """An item with its quotes (his words, with their sources and deep links), its links,
        the items that point at it, and the evidence: how many passages in how many sources
        back it, and the first `passages` of them."""
        from simulator.evidence import evidence_from_row

        item = self.item(item_id)
        linked, sources = self.world.graph.support_counts(item.id)
        chunk_ids = self.world.graph.item_passages(item.id)[:passages]  # quoted ones first
        rows = self.world.store.chunk_rows(chunk_ids)
        graph = self.world.graph
        shown = [evidence_from_row(rows[c], 0.0, ("graph",), graph.supports(c)).as_row()
                 for c in chunk_ids if c in rows]
        return {"id": item.id, "kind": item.kind, "label": item.label, "title": item.title,
                "summary": item.summary, "description": item.description,
                "quotes": [_quote(q) for q in item.quotes],
                "links": {name: list(ids) for name, ids in item.links.items()},
                "referenced_by": sorted(i.id for i in self.framework.referencing(item.id)),
                "attrs": dict(item.attrs),
                "evidence": {"passages": linked, "sources": sources, "shown": shown},
                "uri": item_uri(item.id)}

    def item(self, item_id: str) -> Item:
        item = self.framework.get(item_id.strip())
        if item is None:
            close = difflib.get_close_matches(item_id.strip(), list(self.framework.items), 3)
            raise KtpError(f"there is no framework item {item_id!r}",
                           fix=(f"did you mean {', '.join(close)}? " if close else "")
                           + "list_framework gives every id (e.g. axiom:… or model:…)")
        return item

    def item_markdown(self, item_id: str) -> str:
        """A framework item as a page to read: what it says, his quotes linked to their
        sources, what it links to, and how much of the corpus backs it."""
        data = self.framework_item(item_id, passages=0)
        lines = [f"# {data['title']}", "",
                 f"*{data['label']}* · id `{data['id']}`", "", data["summary"], ""]
        if data["description"]:
            lines += [data["description"], ""]
        for name, value in data["attrs"].items():
            lines.append(f"- **{name}**: {value}")
        for name, ids in data["links"].items():
            lines.append(f"- **{name}**: " + ", ".join(f"{self._title(i)} (`{i}`)" for i in ids))
        if data["quotes"]:
            lines += ["", "## In his words", ""]
            for q in data["quotes"]:
                lines += [f"> {q['text']}", "",
                          f"— [{q['source']['title']}]({q['link']}), {q['source']['date']}", ""]
        ev = data["evidence"]
        lines += ["", f"Evidence: {ev['passages']} passages in {ev['sources']} sources of the "
                      "corpus back it (the framework_item tool lists them)."]
        return "\n".join(lines).rstrip() + "\n"

    def _title(self, item_id: str) -> str:
        item = self.framework.get(item_id)
        return item.title if item else item_id

    def _require_documents(self) -> None:
        """Something of his to search, or an error that says what to run. Once there is, it
        stays so (counting costs ~30 ms on the real corpus: not on every call)."""
        if self.has_documents:
            return
        self.has_documents = self.world.store.counts()["documents"] > 0
        if not self.has_documents:
            raise KtpError(f"the data home {self.home.root} has nothing of his yet",
                           fix="run `ktp up` (or `ktp ingest PATH` then `ktp build`), then "
                               "restart the MCP server")


def item_uri(item_id: str) -> str:
    return f"ktp://framework/{item_id}"


def _quote(q) -> dict:
    src = q.source
    return {"id": q.id, "text": q.text, "link": deep_link(src.url, src.at),
            "source": {"title": src.title, "date": src.date, "url": src.url, "at": src.at}}


def _dates(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """'2024' -> 2024-01-01 (since) / 2024-12-31 (until), as the CLI reads them."""
    low = bound(since, "since") if since else None
    high = bound(until, "until") if until else None
    check_range(low, high)
    return low, high


def _text(value: str, what: str) -> str:
    if not str(value or "").strip():
        raise KtpError(f"the {what} is empty", fix="say what you are looking for")
    return value
