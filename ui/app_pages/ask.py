"""Ask page: a chat with the thinking partner. Answers stream; every [Sn] is a link to its
evidence card (his passage, who said it, when, and the link to the moment), marked verified or
flagged; what he said and what is extrapolated from his framework look different; follow-up
questions keep the thread (one Session per chat); the memory is visible and editable."""
import re
from pathlib import Path

import streamlit as st

from corpus.dates import DateError, bound
from simulator.citations import OK_STATUSES
from simulator.dating import AsOf
from simulator.llm import LLMError, load_llm
from simulator.memory import Memory
from simulator.prompt import prompt_text
from simulator.session import Session
from ui.app_state import retriever_for
from ui.markup import esc, md_answer, md_link, md_message, plain_text

world = st.session_state["world"]
PROVIDERS = {"None: a reading composed from his sources": None, "OpenAI": "openai",
             "Anthropic": "anthropic", "Ollama (local)": "ollama",
             "OpenAI-compatible server": "compat"}
DEFAULT_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-latest",
                  "ollama": "llama3.1", "compat": ""}
EXTRAPOLATING = re.compile(r"\**extrapolating from his framework\**\s*:?", re.I)
KEY_NAMES = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}

with st.sidebar:
    st.markdown("**Language model**")
    choice = st.selectbox("Answers written by", list(PROVIDERS), key="ask_provider",
                          help="Without one, answers are composed from his own words and his "
                               "framework by rules.")
    provider = PROVIDERS[choice]
    secrets: dict = {}
    if provider:
        if st.session_state.get("ask_model_for") != provider:  # a sensible model per provider
            st.session_state["ask_model"] = DEFAULT_MODELS[provider]
            st.session_state["ask_model_for"] = provider
        st.text_input("Model", key="ask_model",
                      placeholder="the server's model name" if provider == "compat" else None)
        if provider in KEY_NAMES:
            key = st.text_input(f"{KEY_NAMES[provider]} (kept for this session only)",
                                type="password", key="ask_key",
                                help="Or set it in the environment or .streamlit/secrets.toml.")
            if key:
                secrets[KEY_NAMES[provider]] = key
        if provider == "compat":
            base = st.text_input("Server address", key="ask_base",
                                 placeholder="http://127.0.0.1:8000/v1")
            if base:
                secrets["KTP_LLM_BASE_URL"] = base

with st.sidebar:
    st.markdown("**As of a date**")
    as_of_text = st.text_input(
        "Answer from his material dated on or before", key="ask_as_of",
        placeholder="YYYY, YYYY-MM or YYYY-MM-DD (empty: everything)",
        help="What his sources said then. Undated material is left out, and counted.")
    as_of = None
    if as_of_text.strip():
        try:
            as_of = bound(as_of_text.strip(), "until")
        except DateError as e:  # said where it was typed; answers meanwhile use everything
            st.error(md_message(f"{e} (until it is a date, answers use all his material)"))

st.title("Ask")
st.caption("Answers in his framework, grounded in what he said. Every quote is checked against "
           "its source; markers like [S2] open the evidence.")
if not world.corpus["documents"]:
    st.info("His corpus is empty, so there is nothing to ground an answer in yet. Ingest his "
            "material (`ktp ingest PATH_OR_URL`, or the Corpus page) and run `ktp build`.")

memory = Memory(world.home.memory_db)
with st.expander(f"What the partner remembers about you ({len(memory.notes())} notes)"):
    notes = memory.notes()
    if not notes:
        st.caption("Nothing yet. After a few questions, “Consolidate now” distils them into "
                   "notes: topics you return to, positions you hold, open questions.")
    for note in notes:
        text_col, save_col, forget_col = st.columns([6, 1, 1])
        edited = text_col.text_input(esc(note.kind), value=note.text, key=f"note_{note.id}")
        if save_col.button("Save", key=f"note_save_{note.id}") and edited != note.text:
            memory.edit(note.id, edited)
            st.rerun()
        if forget_col.button("Forget", key=f"note_forget_{note.id}"):
            memory.forget(note.id)
            st.rerun()
    if st.button("Consolidate now", key="ask_sleep"):
        retriever = retriever_for(str(world.home.root), world.inputs)
        result = memory.sleep(topics_of=lambda q: [i.title for i in retriever.related_items(q)])
        st.toast(f"{result['added']} new notes, {result['updated']} updated, from "
                 f"{result['turns']} turns")
        st.rerun()


def card_status(citations, marker: str) -> str:
    """What the answer did with one source: the worst of its citations decides."""
    mine = [c for c in citations if c.marker == marker and c.status != "reference"]
    if not mine:
        return "not cited"
    if any(c.status not in OK_STATUSES for c in mine):
        return "cited, flagged"
    if any(c.status == "quote-verified" for c in mine):
        return "quote verified in his words"
    weak = any(c.status == "claim-weak" for c in mine)
    return "claim cited, weakly supported" if weak else "claim cited, supported"


def render_answer(result) -> None:
    """The answer as Markdown (source text escaped, markers linked to their cards),
    extrapolation set apart, then the citations' summary and one card per source."""
    if result.resolved:
        st.caption(f"Read as a follow-up: searched for “{esc(result.resolved)}”")
    literal = source_strings(result)
    for block in re.split(r"\n\s*\n", result.text):
        label = EXTRAPOLATING.search(block)
        if label:  # wherever the label appears, what follows it is set apart
            said, extrapolated = block[:label.start()], block[label.end():]
            if said.strip():
                st.markdown(md_answer(said.strip(), literal))
            st.info("Extrapolated from his framework, not something he said: "
                    + md_answer(extrapolated.strip(" :*"), literal))
            continue
        st.markdown(md_answer(block, literal))
    if result.items:
        st.caption("In play: " + ", ".join(esc(world.framework.items[i].title)
                                           for i in result.items
                                           if i in world.framework.items))
    cited = [c for c in result.citations if c.status != "reference"]
    st.caption(f"Citations: {esc(result.summary)}" if cited else "No citations.")
    for c in result.citations:
        if c.status not in OK_STATUSES:
            st.warning(esc(f"[{c.marker or 'no marker'}] {c.problem}"))
    for n, e in enumerate(result.evidence, 1):
        status = card_status(result.citations, f"S{n}")
        st.html(f'<a id="source-{n}"></a>')  # where the answer's [S{n}] links land
        label = f"[S{n}] {e.title} · {e.badge} · {(e.date or 'undated')[:10]} · {status}"
        with st.expander(esc(label), expanded=status != "not cited"):
            st.markdown(esc(plain_text(e.text)))
            st.caption(" · ".join(filter(None, [
                esc(e.badge), esc((e.date or "undated")[:10]),
                md_link("open the original", e.url) if e.url else None])))
            if e.origin:
                st.caption(f"from {esc(_origin(e.origin))}")
    with st.expander("The full prompt (copy it into any LLM)"):
        st.code(prompt_text(result.messages), language=None)


def source_strings(result) -> list[str]:
    """What an answer may repeat from its sources and the framework, to be shown as text."""
    strings = [s for e in result.evidence
               for s in (e.title, e.badge, e.url, e.origin, e.speaker, e.author, e.date)]
    strings += [s for item in world.framework.items.values() for s in (item.title, item.summary)]
    return [s for s in strings if isinstance(s, str)]


def _origin(origin: str) -> str:
    """Where the passage was ingested from, without the local folders."""
    return origin if origin.startswith(("http://", "https://")) else Path(origin).name


session = st.session_state.get("ask_session")
if session is None:
    session = Session(retriever_for(str(world.home.root), world.inputs), world.framework,
                      memory=memory)
    st.session_state["ask_session"] = session
session.retriever = retriever_for(str(world.home.root), world.inputs)  # follows a rebuilt index
if as_of:  # this run's choice: the next answer is as of that date
    session.retriever = AsOf(session.retriever, as_of)
session.memory = memory  # this run's connection (SQLite's belong to the thread that made them)
for turn in session.turns:
    with st.chat_message("user"):
        st.markdown(esc(turn.question))
    with st.chat_message("assistant"):
        render_answer(turn.result)

question = st.chat_input("Ask about his ideas, e.g. “Should I build my own tokenizer?”")
if question and question.strip():
    with st.chat_message("user"):
        st.markdown(esc(question))
    with st.chat_message("assistant"):
        model = (st.session_state.get("ask_model") or "").strip()
        if provider and not model:
            st.error("Type the model's name in the sidebar (the server's model name for an "
                     "OpenAI-compatible server).")
            st.stop()
        try:
            session.llm = load_llm(f"{provider}:{model}" if provider else "none",
                                   secrets=secrets)
        except LLMError as e:
            st.error(md_message(e))
            st.stop()
        live = st.empty()
        streamed: list[str] = []

        def show(token: str) -> None:
            streamed.append(token)
            live.markdown(esc("".join(streamed)))

        try:
            result = session.ask(question, on_token=show if session.llm else None)
        except LLMError as e:
            live.empty()
            st.error(md_message(e))
            st.stop()
        live.empty()
        render_answer(result)
