"""The `ktp` command line: set up, ingest, build, search, inspect, and serve the web UI.

    ktp up                      # data home + framework + graph, then the web UI on 127.0.0.1
    ktp ingest notes/ post.md   # add Markdown / text files to the corpus
    ktp search '"from scratch" -tesla' --kind blog --json

Heavy libraries (networkx, yaml, streamlit) are imported inside the commands that use them, so
that `ktp --help` stays fast.

Errors are handled in one place, the group (`KtpGroup.invoke`): the project's own errors
(`corpus.errors.KtpError`, whose message says how to fix it) and what the environment refuses
(a full disk, a read-only home, a damaged database) print one line `Error: …` and exit 1; usage
errors exit 2 (click's own); Ctrl-C prints one line and exits 130; anything else is a bug and
says so in one line (KTP_DEBUG=1 shows the traceback). Text that comes from sources (titles,
passages, names, file names) goes through `shown()` before it reaches the terminal.
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import click

from corpus.dates import DateError, bound, check_range
from corpus.errors import KtpError
from corpus.model import DOC_KINDS
from simulator.search import UNDATED_SCAN

APP = Path(__file__).resolve().parent / "app.py"
FORMATS = ("x-archive", "tweets", "transcript", "text")  # = ingest.detect.FORMATS, kept light
DEFAULT_PORT = 8501
PORT = click.IntRange(1, 65535)
KIND = click.Choice(DOC_KINDS)
UNDATED_HELP = ("With --since/--until, keep passages that have no date (left out by "
                "default, and counted).")

# ---- what reaches the terminal -------------------------------------------------------------
# Escape sequences: CSI (colours, cursor, clear screen), OSC/DCS/SOS/PM/APC strings (window
# title, hyperlinks, clipboard) up to their terminator, and the short ESC sequences; in their
# 7-bit (ESC …) and 8-bit (C1) forms.
_ESCAPES = re.compile(r"""
      (?:\x1b\[|\x9b) [0-?]* [ -/]* [@-~]
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) [^\x07\x1b\x9c\x90\x98\x9d\x9e\x9f]*
      (?:\x07|\x1b\\|\x9c)
    | \x1b [ -/]* [0-~]
""", re.X)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but tab and newline, DEL, C1
# Bidi embeddings, overrides and isolates reorder what follows them on screen.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
# What json.dumps(ensure_ascii=False) leaves raw and a terminal would act on.
_RAW_IN_JSON = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def shown(text) -> str:
    """Text from a source, safe to print: escape sequences and control characters (but
    newline and tab) removed, bidi controls shown as a visible marker such as ⟨U+202E⟩ instead
    of reordering what follows. Every echo of source text goes through this."""
    text = _CONTROLS.sub("", _ESCAPES.sub("", str(text).replace("\r\n", "\n")))
    return _BIDI.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", text)


def json_text(data) -> str:
    """JSON for the terminal: json.dumps escapes C0 controls (ESC too); C1 controls, DEL, bidi
    controls and line separators are escaped as well (the same data once parsed)."""
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False)
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _emit(data, as_json: bool, human) -> None:
    if as_json:
        click.echo(json_text(data))
    else:
        human(data)


class _Text(click.ParamType):
    """A question or query: anything but empty."""
    name = "text"

    def convert(self, value, param, ctx):
        if not str(value).strip():
            self.fail("it is empty; say what you are looking for", param, ctx)
        return value


TEXT = _Text()


# ---- errors: one handler for every command ---------------------------------------------------
class KtpGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("\nInterrupted.", err=True)
            ctx.exit(130)
        except Exception as e:  # noqa: BLE001 - this is the one place that decides
            _fail(ctx, e)


def _fail(ctx: click.Context, error: Exception):
    from corpus.errors import explain
    from corpus.query import QueryError

    if os.environ.get("KTP_DEBUG"):
        raise error
    known = explain(error, _home_path(ctx))
    if known is None and isinstance(error, (QueryError, DateError)):
        known = error  # a value the user gave, and the message says how to write it
    if known is not None:
        raise click.ClickException(shown(known)) from None
    click.echo(f"Error: this is a bug in ktp: {type(error).__name__}: {shown(error)} (run it "
               "again with KTP_DEBUG=1 to see the traceback, and please report it)", err=True)
    ctx.exit(1)


def _home_path(ctx: click.Context) -> Path | None:
    from corpus.home import DataHome

    try:
        return DataHome.resolve((ctx.obj or {}).get("home")).root
    except (OSError, RuntimeError):
        return None


def _home(ctx: click.Context, create: bool = False):
    """The data home: made by the commands that write (`create`), required by the others."""
    from corpus.home import DataHome

    home = DataHome.resolve(ctx.obj.get("home"))
    return home.ensure() if create else home.require()


@click.group(cls=KtpGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False), envvar="KTP_HOME",
              help="Data home for all state (default: $KTP_HOME or ~/.local/share/ktp).")
@click.version_option(package_name="karpathy-thinking-partner", prog_name="ktp")
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """Karpathy Thinking Partner: browse Andrej Karpathy's framework of ideas and search what
    he actually said, with every quote tied to its source.

    \b
    Example:
      ktp up                 # set up and open the web UI at http://127.0.0.1:8501
      ktp search "software 2.0"
    """
    ctx.ensure_object(dict)["home"] = home


@cli.command()
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=PORT,
              help="Port on 127.0.0.1.")
@click.option("--no-serve", is_flag=True, help="Set up only; do not start the web UI.")
@click.option("--json", "as_json", is_flag=True, help="Print the setup summary as JSON.")
@click.pass_context
def up(ctx: click.Context, port: int, no_serve: bool, as_json: bool) -> None:
    """Set everything up on the embedded defaults, then start the web UI.

    Creates the data home, loads and validates the framework, opens the corpus, embeds new
    passages into the vector index, builds the graph if anything changed, prints a summary,
    and serves the UI on 127.0.0.1.

    \b
    Example:
      ktp up --port 8502
      ktp up --no-serve --json
    """
    from graph.pipeline import open_world

    home = _home(ctx, create=True)
    _sync_index(home, None, False, quiet=as_json)
    world = open_world(home)
    summary = _stats(world)
    _emit(summary, as_json, _print_stats)
    if not no_serve:
        ctx.invoke(serve, port=port)


@cli.command()
@click.argument("paths", nargs=-1)
@click.option("--registry", "from_registry", is_flag=True,
              help="Fetch every known source in the registry (posts, talks, READMEs, papers).")
@click.option("--kind", "forced", type=click.Choice(FORMATS),
              help="Read every input as this format instead of detecting it.")
@click.option("--delay", default=1.0, show_default=True, type=click.FloatRange(0),
              help="Seconds between requests to the same web host.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="HOST",
              help="A host that links found in a feed or index may lead to, besides the "
                   "page's own site (repeatable; its address must still be public).")
@click.option("--author", metavar="NAME",
              help="Who wrote the inputs that do not say so themselves (you vouch for it; "
                   "retweets and other accounts' archives keep their own authors).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[str, ...], from_registry: bool, forced: str | None,
           delay: float, allow_hosts: tuple[str, ...], author: str | None,
           as_json: bool) -> None:
    """Add his material to the corpus: files, folders (recursively), archives and URLs.

    Each input's format is detected from its content: an X archive (zip, folder or
    tweets.js, with long posts joined from note-tweet.js), tweet exports (CSV, JSON, JSON
    Lines), captions and transcripts (WebVTT, SRT, json3, timed JSON, [m:ss] text), Jekyll
    posts, READMEs, web pages, Markdown and text, PDFs (papers, each passage knowing its
    page). A URL is fetched (politely, cached under the data home): a post, a blog's index
    or feed (every post on it), a GitHub repo (its README), an arXiv paper (its PDF), a
    YouTube video, playlist or channel (its subtitles, never the media). With
    --registry, every source in the framework's registry is fetched. Unusable items are
    skipped with their reason and the rest kept; re-ingesting unchanged material changes
    nothing; offline, each fetch fails with a one-line reason.

    Who wrote each document is decided from evidence only (his X archive or handle, his
    sites, his repos, his channel, the registry, a front-matter author, or --author); the
    rest is kept as "author unknown" and never shown as his words. Interviews are split into
    speaker turns.

    \b
    Example:
      ktp ingest ~/Downloads/twitter-2026-01-01.zip
      ktp ingest ~/src/karpathy.github.io/_posts/ talks/*.vtt --json
      ktp ingest my-tweets.txt --kind tweets
      ktp ingest http://karpathy.github.io/ https://github.com/karpathy/nanoGPT
      ktp ingest papers/ https://arxiv.org/abs/1506.02078
      ktp ingest --registry
      ktp ingest notes-of-his-talks/ --author "Andrej Karpathy"
    """
    from corpus.store import CorpusStore
    from ingest.http_fetch import Fetcher
    from ingest.run import ingest_paths

    bar = None

    def progress(done: int, total: int, path: Path | None) -> None:
        nonlocal bar
        if as_json or total < 2 or not sys.stderr.isatty():
            return
        if bar is None:
            bar = click.progressbar(length=total, label="ingesting", file=sys.stderr,
                                    item_show_func=lambda p: p and shown(Path(p).name[:40]))
            bar.__enter__()
        bar.update(done - bar.pos, str(path) if path else None)
        if path is None:
            bar.__exit__(None, None, None)

    if from_registry:
        from ingest.known import registry

        paths = (*paths, *(source.url for source in registry().values()))
    if not paths:
        raise click.UsageError("name files, folders or URLs to ingest, or use --registry")
    _some_input_exists(paths)
    home = _home(ctx, create=True)
    fetcher = Fetcher(home.root / "http-cache", delay=delay, allow_hosts=allow_hosts)
    with CorpusStore(home.corpus_db) as store:
        summary = ingest_paths(paths, store, progress, forced, fetcher, author=author)

    def human(data: dict) -> None:
        click.echo(summary.line())
        for skip in data["skipped"]:
            click.echo(f"  skipped {shown(skip['path'])}: {shown(skip['reason'])}")
        if summary.loaded or summary.replaced:
            click.echo("Run `ktp build` to update the graph (the web UI also does it on start).")

    _emit(summary.as_dict(), as_json, human)


def _some_input_exists(paths: tuple[str, ...]) -> None:
    """An ingest of nothing but missing paths is an error, not an empty run."""
    from ingest.detect import is_url

    missing = [p for p in paths if not is_url(p) and not os.path.lexists(p)]
    if missing and len(missing) == len(paths):
        raise KtpError(f"nothing to ingest: no such file or folder: {shown(', '.join(missing))}",
                       fix="check the paths")


@cli.command()
@click.option("--force", is_flag=True, help="Rebuild the graph even if nothing changed.")
@click.option("--reindex", is_flag=True,
              help="Embed every chunk again into a fresh index (e.g. with another embedder).")
@click.option("--embedder", default=None, metavar="SPEC",
              help="minilm (default: local, int8), minilm-fp32, hf:<model> or openai:<model> "
                   "(via llama-index). Without it, the embedder the index was built with.")
@click.option("--speakers", is_flag=True,
              help="Ask the LLM (--llm or KTP_LLM) who speaks the unidentified stretches of "
                   "interviews; its labels are kept only where they are consistent.")
@click.option("--llm", "llm_spec", envvar="KTP_LLM", metavar="PROVIDER:MODEL",
              help="The LLM for --speakers.")
@click.option("--json", "as_json", is_flag=True, help="Print what was built as JSON.")
@click.pass_context
def build(ctx: click.Context, force: bool, reindex: bool, embedder: str | None,
          speakers: bool, llm_spec: str | None, as_json: bool) -> None:
    """(Re)build the vector index and the knowledge graph from the corpus and framework.

    The index embeds only new or changed passages (all of them with --reindex, into a fresh
    index that replaces the old one only when complete). The graph is rebuilt when the
    framework, the corpus or the index changed: framework items, quotes located in the
    passages that hold them, and each axiom and mental model linked to its closest passages.

    \b
    Example:
      ktp build
      ktp build --reindex --embedder hf:BAAI/bge-small-en-v1.5
      ktp build --speakers --llm openai:gpt-4o-mini
    """
    from graph.pipeline import open_world

    home = _home(ctx, create=True)
    labelled = _label_speakers(home, llm_spec, quiet=as_json) if speakers else None
    index = _sync_index(home, embedder, reindex, quiet=as_json)
    world = open_world(home, force=force)
    data = {"rebuilt": world.rebuilt, "path": world.graph.where, "backend": world.graph.name,
            "index": index, **world.graph.counts(), **({"synced": world.synced}
                                                       if world.synced else {}),
            **({"speakers": labelled} if labelled else {})}

    def human(d: dict) -> None:
        if labelled:
            click.echo(f"speakers    {labelled['sentences_labelled']} sentences labelled in "
                       f"{labelled['documents']} transcripts; {labelled['windows_kept']} "
                       f"windows kept, {labelled['windows_rejected']} rejected as inconsistent")
            for problem in labelled["problems"][:10]:
                click.echo(f"  rejected {shown(problem)}")
        i = d["index"]
        click.echo(f"index       {i['total']} passages: {i['embedded']} embedded, "
                   f"{i.get('copied', 0)} copies given their canonical's vector, "
                   f"{i['removed']} removed, {i['unchanged']} unchanged")
        verb = "built" if d["rebuilt"] else "up to date:"
        click.echo(f"graph {verb} {d['nodes']} nodes, {d['edges']} edges -> {shown(d['path'])}")

    _emit(data, as_json, human)


def _label_speakers(home, llm_spec: str | None, quiet: bool) -> dict:
    from corpus.store import CorpusStore
    from ingest.llm_speakers import label_speakers
    from simulator.llm import load_llm

    llm = load_llm(llm_spec)
    if llm is None:
        raise click.UsageError("--speakers needs an LLM: give --llm PROVIDER:MODEL or set KTP_LLM")

    def progress(done: int, total: int, title: str) -> None:
        if not quiet:
            click.echo(f"labelling speakers {done + 1}/{total}: {shown(title[:60])}", err=True)

    with CorpusStore(home.corpus_db) as store:
        return label_speakers(store, llm, llm_spec or "llm", progress)


def _sync_index(home, embedder_spec: str | None, reindex: bool, quiet: bool) -> dict:
    """Embed what is new into the vector index, with a progress bar on a terminal."""
    from corpus.store import CorpusStore
    from graph.embedder import load_embedder
    from graph.pipeline import build_index

    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if quiet or not sys.stderr.isatty():
            return
        if bar is None:
            bar = click.progressbar(length=total, label="embedding passages", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    with CorpusStore(home.corpus_db) as store:
        embedder = load_embedder(embedder_spec, home.root / "models") if embedder_spec else None
        return build_index(home, store, embedder, reindex, progress)


@cli.command()
@click.argument("query", type=TEXT)
@click.option("--kind", type=KIND, help="Only this kind of document.")
@click.option("--since", help="From this date on (YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option("--until", help="Up to this date, inclusive (YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--semantic", is_flag=True, help="Search by meaning (the vector index).")
@click.option("--speaker", default="any", show_default=True, metavar="WHO",
              help="his (his words only), others, any, or a speaker's name.")
@click.option("--include-undated", is_flag=True, help=UNDATED_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON.")
@click.pass_context
def search(ctx: click.Context, query: str, kind: str | None, since: str | None,
           until: str | None, limit: int, semantic: bool, speaker: str, include_undated: bool,
           as_json: bool) -> None:
    """Ranked keyword search over everything ingested.

    Words must all match; "quoted phrases" match exactly; prefix* matches word starts;
    -word excludes; OR between terms matches either. Stemming lets agent match agents
    (in a query with a prefix* term, words match as written). Put -- before a query that
    starts with a dash.

    \b
    Example:
      ktp search '"software 2.0"'
      ktp search 'tokeniz* -bpe' --kind blog --since 2015 --json
      ktp search "continual learning" --speaker his
    """
    from corpus.ids import deep_link
    from corpus.query import QueryError, parse_query
    from corpus.store import CorpusStore
    from simulator.search import find_passages

    try:
        parsed = parse_query(query)
    except QueryError as e:
        raise click.BadParameter(str(e), param_hint="QUERY") from None
    low, high = _date_range(since, until)
    home = _home(ctx)
    with CorpusStore(home.corpus_db) as store:
        index, vector = _semantic_index(home, query) if semantic else (None, None)
        hits, left_out = find_passages(store, parsed, index=index, vector=vector, kind=kind,
                                       since=low, until=high, speaker=speaker, limit=limit,
                                       include_undated=include_undated)
        empty = store.counts()["documents"] == 0

    def human(rows: list) -> None:
        if not hits:
            click.echo("No documents ingested yet; try `ktp ingest PATH`." if empty
                       else "No matches.")
        for n, hit in enumerate(hits, 1):
            click.echo(click.style(f"{n}. {shown(hit.title)}", bold=True)
                       + f"  [{shown(_hit_badge(hit))}, {shown((hit.date or 'undated')[:10])}]"
                       + f"  {shown(hit.id)}")
            click.echo("   " + _marked(" ".join(hit.snippet.split())))
            if hit.url:  # a paper's passage: at its page
                link = deep_link(hit.url, page=hit.page) if hit.page else hit.url
                click.echo(f"   {shown(link)}")
        _say_undated(left_out, UNDATED_SCAN)

    _emit([h.as_row() for h in hits], as_json, human)


def _marked(snippet: str) -> str:
    """A snippet with its matches (wrapped in \\x02 … \\x03 by the store) in bold, made safe."""
    parts = re.split("\x02(.*?)\x03", snippet)
    return "".join(click.style(shown(p), bold=True) if i % 2 else shown(p)
                   for i, p in enumerate(parts))


@cli.command()
@click.argument("question", type=TEXT)
@click.option("--llm", "llm_spec", envvar="KTP_LLM", metavar="PROVIDER:MODEL",
              help="openai:<m>, anthropic:<m>, ollama:<m> or compat:<m> (default: none, "
                   "which gives the framework reading).")
@click.option("-k", "k", default=8, show_default=True, type=click.IntRange(1, 30),
              help="How many passages of evidence.")
@click.option("--prompt", "show_prompt", is_flag=True,
              help="Print the full prompt too, to paste into any LLM.")
@click.option("--no-memory", is_flag=True, help="Neither use nor record this conversation.")
@click.option("--as-of", "as_of", metavar="DATE",
              help="Answer from his material dated on or before DATE only (YYYY, YYYY-MM or "
                   "YYYY-MM-DD: the end of that year or month).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.pass_context
def ask(ctx: click.Context, question: str, llm_spec: str | None, k: int, show_prompt: bool,
        no_memory: bool, as_of: str | None, as_json: bool) -> None:
    """Ask a question; get an answer in his framework with every citation checked.

    Without an LLM the answer is a framework reading: the ideas of his in play, his own words
    on it (quoted verbatim, cited), how he would approach it, and the sources. With --llm the
    model writes the answer (streamed), and its quotes and citations are checked against the
    sources all the same.

    \b
    Example:
      ktp ask "Should I build my own tokenizer to understand LLMs?"
      OPENAI_API_KEY=... ktp ask "What would he say about AI tutors?" --llm openai:gpt-4o-mini
      ktp ask "What is software 2.0?" --json | jq .citations
      ktp ask "What did he think about agents?" --as-of 2019
    """
    cut = _date_bound(as_of, "until") if as_of else None
    session = _session(ctx, llm_spec, k, not no_memory, as_of=cut)
    stream = session.llm is not None and not as_json and sys.stdout.isatty()
    result = _ask(session, question, stream)
    if as_json:
        click.echo(json_text(result.as_json()))
        return
    click.echo("\n" if stream else shown(result.text))
    _print_citations(result)
    if show_prompt:
        from simulator.prompt import prompt_text

        click.echo("\n--- full prompt ---\n" + shown(prompt_text(result.messages)))


def _session(ctx: click.Context, llm_spec: str | None, k: int, remember: bool,
             as_of: str | None = None):
    """One conversation (ask: one question; chat: many), recorded unless told not to; as of
    a date, its retriever never returns anything said later."""
    from simulator.dating import AsOf
    from simulator.llm import load_llm
    from simulator.memory import Memory
    from simulator.retrieval import open_retriever
    from simulator.session import Session

    llm = load_llm(llm_spec)  # a wrong spec or a missing key is said first
    home = _home(ctx)
    retriever = open_retriever(home)
    if as_of:
        retriever = AsOf(retriever, as_of)
    return Session(retriever, retriever.framework, llm,
                   Memory(home.memory_db) if remember else None, k=k)


def _ask(session, question: str, stream: bool):
    result = session.ask(question, (lambda t: click.echo(shown(t), nl=False)) if stream else None)
    if result.resolved and not stream:
        click.echo(click.style(f"(searched for: {shown(result.resolved)})", dim=True), err=True)
    return result


@cli.command()
@click.option("--llm", "llm_spec", envvar="KTP_LLM", metavar="PROVIDER:MODEL",
              help="As for `ktp ask` (default: the framework reading).")
@click.option("-k", "k", default=8, show_default=True, type=click.IntRange(1, 30))
@click.option("--as-of", "as_of", metavar="DATE",
              help="Every answer from his material dated on or before DATE only.")
@click.pass_context
def chat(ctx: click.Context, llm_spec: str | None, k: int, as_of: str | None) -> None:
    """A conversation: ask, follow up, and the partner keeps the thread.

    Type a question and press Enter; an empty line or Ctrl-D ends the chat. Earlier turns are
    compacted when they grow long. The conversation is saved (apart from his corpus) so that
    `ktp sleep` can learn what you care about.

    \b
    Example:
      ktp chat
      ktp chat --llm ollama:llama3.1
      ktp chat --as-of 2022-06
    """
    session = _session(ctx, llm_spec, k, remember=True,
                       as_of=_date_bound(as_of, "until") if as_of else None)
    stream = session.llm is not None and sys.stdout.isatty()
    click.echo("Ask away (an empty line ends the chat).")
    while True:
        try:
            question = input("you> ").strip()
        except EOFError:
            break
        if not question or question.lower() in ("exit", "quit"):
            break
        result = _ask(session, question, stream)
        click.echo("\n" if stream else shown(result.text))
        _print_citations(result)
    click.echo(f"Saved this conversation ({len(session.turns)} questions). "
               "Run `ktp sleep` to update what the partner remembers.")


@cli.command()
@click.option("--llm", "llm_spec", envvar="KTP_LLM", metavar="PROVIDER:MODEL",
              help="Let this model write the notes (default: extracted by rules).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def sleep(ctx: click.Context, llm_spec: str | None, as_json: bool) -> None:
    """Consolidate past conversations into short notes about you.

    Topics you return to, positions you hold, questions his sources left open. With an LLM
    the model writes them; otherwise they are extracted by rules. See them with `ktp memory`.

    \b
    Example:
      ktp sleep
    """
    from simulator.llm import load_llm
    from simulator.memory import Memory

    llm = load_llm(llm_spec)
    home = _home(ctx)
    result = Memory(home.memory_db).sleep(llm, topics_of=_topics_of(home))
    _emit(result, as_json, lambda r: click.echo(
        f"slept on {r['turns']} turns: {r['added']} new notes, {r['updated']} updated "
        f"({r['by']})"))


def _topics_of(home):
    """Framework items a question brings in, as topics (None without a built index)."""
    from graph.pipeline import open_index

    if open_index(home)[0] is None:
        return None
    from simulator.retrieval import open_retriever

    retriever = open_retriever(home)
    return lambda question: [i.title for i in retriever.related_items(question)]


@cli.command()
@click.argument("action", type=click.Choice(["list", "add", "edit", "forget"]), default="list")
@click.argument("args", nargs=-1)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def memory(ctx: click.Context, action: str, args: tuple[str, ...], as_json: bool) -> None:
    """See, add, edit and forget what the partner remembers about you.

    \b
    Example:
      ktp memory                      # list the notes
      ktp memory add position "I think small models will win"
      ktp memory edit 3 "returns to tokenization"
      ktp memory forget 3             # or: ktp memory forget all
    """
    from simulator.memory import Memory

    store = Memory(_home(ctx).memory_db)
    if action == "add" and len(args) == 2:
        try:
            store.add_note(args[0], args[1])
        except ValueError as e:
            raise click.BadParameter(str(e)) from None
    elif action == "edit" and len(args) == 2 and args[0].isdigit():
        if not store.edit(int(args[0]), args[1]):
            raise click.ClickException(f"there is no note {args[0]} (see `ktp memory`)")
    elif action == "forget" and len(args) == 1 and (args[0].isdigit() or args[0] == "all"):
        gone = store.forget(None if args[0] == "all" else int(args[0]))
        if not gone and args[0] != "all":
            raise click.ClickException(f"there is no note {args[0]} (see `ktp memory`)")
        click.echo(f"forgot {gone} note{'s' * (gone != 1)}")
        return
    elif action != "list":
        raise click.UsageError("use: list | add KIND TEXT | edit ID TEXT | forget ID|all")
    notes = store.notes()

    def human(rows: list) -> None:
        if not rows:
            click.echo("No notes yet: talk with `ktp chat` or `ktp ask`, then run `ktp sleep`.")
        for n in notes:
            click.echo(f"{n.id:4}  {n.kind:9} {shown(n.text)}  ({n.origin}, "
                       f"{shown(n.updated_at[:10])})")

    _emit([n.__dict__ for n in notes], as_json, human)


def _print_citations(result) -> None:
    """The honest summary, then one line per citation (reference-list entries left out)."""
    cited = [c for c in result.citations if c.status != "reference"]
    if not cited:
        return
    click.echo(f"\nCitations: {shown(result.summary)}")
    marks = {"quote-verified": ("ok", "green", "quote verified in his words"),
             "claim-supported": ("ok", "green", "claim cited, supported"),
             "claim-weak": ("~~", "yellow", "claim cited, weakly supported")}
    for c in cited:
        mark, colour, what = marks.get(c.status, ("!!", "red", c.problem or c.status))
        where = f"[{c.marker}] {c.url or c.doc_id or ''}" if c.marker else "(no marker)"
        score = f" ({c.support:.2f})" if c.support is not None else ""
        click.echo(f"  {click.style(mark, fg=colour)} {shown(where)}  {shown(what)}{score}")


@cli.command()
@click.argument("question", type=TEXT)
@click.option("-k", "k", default=8, show_default=True, type=click.IntRange(1, 100),
              help="How many passages.")
@click.option("--kind", type=KIND, help="Only this kind of document.")
@click.option("--since", help="From this date on (YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option("--until", help="Up to this date, inclusive.")
@click.option("--own", "own_only", is_flag=True, help="His own posts only (no retweets).")
@click.option("--speaker", default="his", show_default=True, metavar="WHO",
              help="his (his words: what `ask` quotes from), others, any, or a name.")
@click.option("--mode", "modes", default="keyword,vector,graph", show_default=True,
              help="Which retrievers to fuse (comma-separated).")
@click.option("--include-undated", is_flag=True, help=UNDATED_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the evidence as JSON rows.")
@click.pass_context
def retrieve(ctx: click.Context, question: str, k: int, kind: str | None, since: str | None,
             until: str | None, own_only: bool, speaker: str, modes: str,
             include_undated: bool, as_json: bool) -> None:
    """The evidence for a question: his passages, found by keywords, meaning and the graph.

    Each passage comes with why it was found (keyword, vector, graph), the framework items it
    supports, and a link to the moment: the tweet, the second of the talk, or the words on
    the page. Run `ktp build` first so that the vector index exists.

    \b
    Example:
      ktp retrieve "Why does he think agents will take a decade?"
      ktp retrieve "what is software 2.0" -k 5 --kind tweet --own --json
    """
    from simulator.retrieval import MODES, open_retriever

    chosen = tuple(m.strip() for m in modes.split(",") if m.strip())
    if not chosen or set(chosen) - set(MODES):
        raise click.BadParameter(f"choose from {', '.join(MODES)}", param_hint="--mode")
    low, high = _date_range(since, until)
    retriever = open_retriever(_home(ctx))
    if retriever.index is None and "vector" in chosen:
        click.echo("No vector index yet (run `ktp build`): keyword results only.", err=True)
    evidence = retriever.retrieve(question, k, kind=kind, since=low, until=high,
                                  own_only=own_only, speaker=speaker, modes=chosen,
                                  include_undated=include_undated)

    def human(rows: list) -> None:
        if not rows:
            click.echo("Nothing found. Try other words, or `ktp ingest` more of his material.")
        for n, e in enumerate(evidence, 1):
            click.echo(click.style(f"[{n}] {shown(e.title)}", bold=True)
                       + f"  [{shown(e.badge)}, {shown((e.date or 'undated')[:10])}]  "
                       + f"({'+'.join(e.why)}, {e.score:.4f})")
            text = shown(" ".join(e.text.split()))
            click.echo("    " + (text if len(text) <= 300 else text[:299] + "…"))
            if e.supports:
                click.echo("    supports: " + shown(", ".join(e.supports)))
            if e.url:
                click.echo(f"    {shown(e.url)}")
        _say_undated(retriever.undated_left_out)

    _emit([e.as_row() for e in evidence], as_json, human)


def _say_undated(count: int, limit: int | None = None) -> None:
    """The date filter's rule, said where it bit: undated matches are left out."""
    if count:
        many = f"{count}{'+' if limit and count >= limit else ''}"
        click.echo(f"({many} undated passage{'s' * (count != 1)} that match{'es' * (count == 1)} "
                   f"{'was' if count == 1 else 'were'} left out: nothing says when "
                   f"{'it was' if count == 1 else 'they were'} said; --include-undated keeps "
                   f"{'it' if count == 1 else 'them'})", err=True)


@cli.command()
@click.argument("topic", type=TEXT)
@click.option("--by", type=click.Choice(["year", "era"]), default="year", show_default=True,
              help="Periods: calendar years, or the eras of his framework.")
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
@click.pass_context
def timeline(ctx: click.Context, topic: str, by: str, as_json: bool) -> None:
    """What he said on a topic over time, in his own dated words.

    For each year (or era), how many of his passages bear on TOPIC (its words, or close to it
    in meaning), the era it falls in, and the one or two quotes of the period that say the
    most: verbatim, with source, date and a link to the words. TOPIC may be a framework item's
    id (model:decade-of-agents). Undated passages belong to no period and are counted apart.

    \b
    Example:
      ktp timeline agents
      ktp timeline "reinforcement learning" --by era
      ktp timeline model:decade-of-agents --json
    """
    from simulator.retrieval import open_retriever
    from simulator.timeline import timeline as make_timeline

    retriever = open_retriever(_home(ctx))
    if retriever.index is None:
        click.echo("No vector index yet (run `ktp build`): counting by keywords only.",
                   err=True)
    result = make_timeline(retriever, retriever.framework, topic, by)
    _emit(result.as_json(), as_json, lambda _: _print_timeline(result))


def _print_timeline(tl) -> None:
    name = f"{tl.item} ({tl.topic})" if tl.item else tl.topic
    if not tl.periods:
        click.echo(f"Nothing of his found on {shown(name)}"
                   + (f" (only {tl.undated_left_out} undated passages)."
                      if tl.undated_left_out else ". Try other words."))
        return
    click.echo(click.style(f"{shown(name)}: {tl.total} of his passages over time, by {tl.by}",
                           bold=True))
    silent: list = []
    for n, p in enumerate(tl.periods):
        if not p.count and tl.by == "year":  # a run of silent years reads as one line
            silent.append(p.period)
            if n + 1 < len(tl.periods) and not tl.periods[n + 1].count:
                continue
            click.echo(click.style(f"\n{silent[0]}" + (f"–{silent[-1]}" if len(silent) > 1
                                                        else ""), bold=True)
                       + "  ·  nothing of his on it in the corpus")
            silent = []
            continue
        era = f"  ·  {shown(p.era_title)}" if p.era_title and tl.by == "year" else ""
        span = f"  ({p.start} to {p.end or 'now'})" if tl.by == "era" else ""
        where = f" in {p.documents} source{'s' * (p.documents != 1)}" if p.count else ""
        click.echo(click.style(f"\n{shown(p.period)}", bold=True) + span
                   + f"  ·  {p.count} passage{'s' * (p.count != 1)}{where}{era}")
        for q in p.quotes:
            click.echo(f"  “{shown(q.quote)}”")
            click.echo(f"     {shown(q.title)} ({shown(q.badge)}, {shown((q.date or '')[:10])})"
                       + (f"  {shown(q.url)}" if q.url else ""))
        if p.count and not p.quotes:
            click.echo("  (no sentence of these passages says much on it by itself)")
    if tl.undated_left_out:
        one = tl.undated_left_out == 1
        click.echo(f"\nLeft out: {tl.undated_left_out} undated passage{'s' * (not one)} of his "
                   f"that bear{'s' * one} on it (nothing says when {'it was' if one else 'they were'}"
                   " said).")


def _semantic_index(home, query: str):
    """(the vector index, the query embedded by its embedder), for a search by meaning."""
    from graph.pipeline import open_index

    index, embedder = open_index(home)
    if index is None:
        raise KtpError("no vector index yet", fix="run `ktp build` first")
    return index, embedder.embed([query])[0]


def _hit_badge(hit) -> str:
    from corpus.attribution import badge

    return badge(kind=hit.kind, author=hit.author, speaker=hit.speaker,
                 his_words=hit.his_words, meta=hit.meta)


@cli.command()
@click.option("--neo4j-csv", "folder", required=True, type=click.Path(file_okay=False),
              help="Write node and relationship CSVs for `neo4j-admin database import`.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@click.pass_context
def export(ctx: click.Context, folder: str, as_json: bool) -> None:
    """Export the knowledge graph (built first if it is out of date) as files for another tool.

    The CSVs carry the headers `neo4j-admin database import` reads, so a large corpus loads
    into an empty Neo4j database offline; `ktp build` with KTP_NEO4J_URI then finds it in step
    and only records its fingerprint.

    \b
    Example:
      ktp export --neo4j-csv graph-csv/
      sh graph-csv/import-command.txt     # neo4j-admin database import full …
    """
    from graph.neo4j_csv import export_csv
    from graph.pipeline import open_world

    world = open_world(_home(ctx, create=True))
    data = export_csv(world.graph, Path(folder))

    def human(d: dict) -> None:
        click.echo(f"wrote {d['nodes']} nodes and {d['edges']} relationships in "
                   f"{len(d['files'])} files to {shown(d['folder'])}")
        click.echo(f"load them into an empty database with:\n  {shown(d['command'])}")

    _emit(data, as_json, human)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print counts as JSON.")
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Counts: documents by kind, chunks, words, framework items, graph nodes and edges.

    \b
    Example:
      ktp stats
      ktp stats --json | jq .framework.axiom
    """
    from graph.pipeline import open_world

    _emit(_stats(open_world(_home(ctx))), as_json, _print_stats)


@cli.command()
@click.option("--repair", "do_repair", is_flag=True,
              help="Put right what can be: remove broken derived files (graph, index) for "
                   "`ktp build` to make again; recover a damaged corpus or memory file into a "
                   "new one, keeping the damaged one beside it.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.pass_context
def doctor(ctx: click.Context, do_repair: bool, as_json: bool) -> None:
    """Check the data home: the corpus file (integrity, schema), graph.json, the vector index
    (pointer, Chroma folder, counts) and the memory file. Exits 1 while problems remain.

    Diagnosing writes nothing. Stop other ktp processes (and the web UI) before --repair.

    \b
    Example:
      ktp doctor
      ktp doctor --repair
    """
    from corpus.doctor import diagnose, has_problems, repair
    from corpus.home import DataHome

    home = DataHome.resolve(ctx.obj.get("home"))
    findings = diagnose(home)
    done: list[str] = []
    if do_repair and any(f.repair for f in findings):
        done = repair(home, findings)
        findings = diagnose(home)
    data = {"data_home": str(home.root), "findings": [f.as_dict() for f in findings],
            "repaired": done}

    def human(_: dict) -> None:
        click.echo(f"data home   {shown(home.root)}")
        marks = {"ok": ("ok", "green"), "note": ("note", "yellow"), "problem": ("PROBLEM", "red")}
        for f in findings:
            mark, colour = marks[f.status]
            fix = f"  -> {f.fix}" if f.fix and f.status != "ok" else ""
            click.echo(f"  {click.style(f'{mark:7}', fg=colour)} {f.part:7} {shown(f.message)}"
                       + shown(fix))
        for line in done:
            click.echo(f"  repaired  {shown(line)}")

    _emit(data, as_json, human)
    if has_problems(findings):
        fixable = any(f.repair for f in findings)
        click.echo("Problems remain" + ("; `ktp doctor --repair` can fix some of them."
                                        if fixable and not do_repair else "."), err=True)
        ctx.exit(1)


@cli.command()
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=PORT,
              help="Port on 127.0.0.1.")
@click.pass_context
def serve(ctx: click.Context, port: int) -> None:
    """Start the web UI (Streamlit) on 127.0.0.1, with usage statistics off.

    \b
    Example:
      ktp serve --port 8502     # then open http://127.0.0.1:8502
    """
    home = _home(ctx, create=True)
    _port_is_free(port)
    env = dict(os.environ, KTP_HOME=str(home.root), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    click.echo(f"Serving the web UI at http://127.0.0.1:{port}  (data home: {shown(home.root)}); "
               "Ctrl-C stops it.")
    command = serve_command(port)
    sys.stdout.flush()
    os.execve(command[0], command, env)  # become the server: signals reach it, no orphan left


def _port_is_free(port: int) -> None:
    """Say so now when the server could not listen, rather than after "Serving…"."""
    import errno
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as e:
            fix = ("stop what is using it, or choose another port with --port"
                   if e.errno == errno.EADDRINUSE else "choose a port above 1023 with --port"
                   if e.errno == errno.EACCES else "choose another port with --port")
            raise KtpError(f"cannot serve on 127.0.0.1:{port}: {e.strerror}", fix=fix) from None


def serve_command(port: int) -> list[str]:
    """The Streamlit command line: loopback only, no usage statistics, no browser launch."""
    return [sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.address", "127.0.0.1", "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--global.developmentMode", "false", "--client.toolbarMode", "viewer"]


def _stats(world) -> dict:
    return {"data_home": str(world.home.root), "subject": world.framework.subject.name,
            "corpus": world.store.counts(), "framework": world.framework.counts(),
            "graph": world.graph.counts()}


def _print_stats(s: dict) -> None:
    c, f, g = s["corpus"], s["framework"], s["graph"]
    click.echo(f"data home   {shown(s['data_home'])}")
    kinds = shown(", ".join(f"{k} {v['documents']}" for k, v in c["by_kind"].items())
                  or "none yet")
    click.echo(f"corpus      {c['documents']} documents ({kinds}), {c['chunks']} chunks, "
               f"{c['words']} words")
    if c["chunks"]:
        others = shown(", ".join(f"{k} {v}" for k, v in c["chunks_by_speaker"].items()
                                 if k != s["subject"]))
        click.echo(f"  speakers  his words {c['his_chunks']} passages; others: {others or 'none'}")
    if c["authorship_not_recorded"]:
        click.echo(f"  note      {c['authorship_not_recorded']} documents were ingested before "
                   "authorship was recorded and count as not his: ingest their sources again")
    click.echo("framework   " + ", ".join(f"{k} {v}" for k, v in f.items() if v))
    click.echo(f"graph       {g['nodes']} nodes, {g['edges']} edges")
    click.echo("  nodes     " + ", ".join(f"{k} {v}" for k, v in g["nodes_by_kind"].items()))
    click.echo("  edges     " + ", ".join(f"{k} {v}" for k, v in g["edges_by_kind"].items()))


def _date_bound(value: str | None, which: str) -> str | None:
    """'2024' -> 2024-01-01 (since) or 2024-12-31 (until); a full date passes through."""
    try:
        return bound(value, which)
    except DateError as e:
        raise click.BadParameter(str(e), param_hint=f"--{which}") from None


def _date_range(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    low, high = _date_bound(since, "since"), _date_bound(until, "until")
    try:
        check_range(low, high)
    except DateError as e:
        raise click.BadParameter(str(e), param_hint="--since/--until") from None
    return low, high


# Commands kept in modules of their own (they import this one for its helpers).
from ui.cli_mcp import mcp_command  # noqa: E402
from ui.cli_time import new_ideas_command  # noqa: E402

cli.add_command(mcp_command)
cli.add_command(new_ideas_command)


def main() -> None:
    cli(prog_name="ktp")


if __name__ == "__main__":
    main()
