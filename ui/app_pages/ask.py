"""Ask page: a chat with the thinking partner. Answers stream; every citation is a numbered
marker that opens its evidence, marked verified or flagged; what he said and what is
extrapolated from his framework look different; the memory is visible and editable."""
import re

import streamlit as st

from simulator.answer import answer
from simulator.citations import OK_STATUSES
from simulator.llm import LLMError, load_llm
from simulator.memory import Memory, compact_history
from simulator.prompt import prompt_text
from ui.app_state import retriever_for
from ui.markup import md_escape, md_link

world = st.session_state["world"]
PROVIDERS = {"No LLM: framework reading": None, "OpenAI": "openai", "Anthropic": "anthropic",
             "Ollama (local)": "ollama", "OpenAI-compatible server": "compat"}
EXTRAPOLATING = re.compile(r"\**extrapolating from his framework\**\s*:?", re.I)
KEY_NAMES = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}

with st.sidebar:
    st.markdown("**Language model**")
    choice = st.selectbox("Answers written by", list(PROVIDERS), key="ask_provider")
    provider = PROVIDERS[choice]
    secrets: dict = {}
    if provider:
        model = st.text_input("Model", key="ask_model",
                              placeholder={"openai": "gpt-4o-mini", "anthropic":
                                           "claude-3-5-haiku-latest", "ollama": "llama3.1",
                                           "compat": "the server's model name"}[provider])
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
        edited = text_col.text_input(f"{note.kind}", value=note.text, key=f"note_{note.id}")
        if save_col.button("Save", key=f"note_save_{note.id}") and edited != note.text:
            memory.edit(note.id, edited)
            st.rerun()
        if forget_col.button("Forget", key=f"note_forget_{note.id}"):
            memory.forget(note.id)
            st.rerun()
    if st.button("Consolidate now", key="ask_sleep"):
        result = memory.sleep()
        st.toast(f"{result['added']} new notes from {result['turns']} turns")
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
    """The answer text (escaped, our bold headings kept), extrapolation set apart, then the
    citations as numbered evidence cards."""
    for block in re.split(r"\n\s*\n", result.text):
        label = EXTRAPOLATING.search(block)
        if label:  # wherever the label appears, what follows it is set apart
            said, extrapolated = block[:label.start()], block[label.end():]
            if said.strip():
                st.markdown(md_escape(said.strip()))
            st.info("Extrapolated from his framework, not something he said: "
                    + md_escape(extrapolated.strip(" :*")))
            continue
        lines = []
        for line in block.splitlines():
            heading = re.fullmatch(r"\*\*(.+?)\*\*(.*)", line.strip())
            lines.append(f"**{md_escape(heading.group(1))}**{md_escape(heading.group(2))}"
                         if heading else md_escape(line))
        st.markdown("  \n".join(lines))
    if result.items:
        st.caption("In play: " + ", ".join(md_escape(world.framework.items[i].title)
                                           for i in result.items
                                           if i in world.framework.items))
    cited = [c for c in result.citations if c.status != "reference"]
    st.caption(f"Citations: {result.summary}" if cited else "No citations.")
    for c in result.citations:
        if c.status not in OK_STATUSES:
            st.warning(md_escape(f"[{c.marker or 'no marker'}] {c.problem}"))
    for n, e in enumerate(result.evidence, 1):
        with st.expander(md_escape(f"[S{n}] {e.title} · {e.badge} · {(e.date or 'undated')[:10]}"
                                   f" · {card_status(result.citations, f'S{n}')}")):
            st.markdown(md_escape(e.text))
            st.caption(md_link("open the original", e.url) if e.url else md_escape(e.origin))
    with st.expander("The full prompt (copy it into any LLM)"):
        st.code(prompt_text(result.messages), language=None)


history = st.session_state.setdefault("ask_history", [])
for turn in history:
    with st.chat_message("user"):
        st.markdown(md_escape(turn.question))
    with st.chat_message("assistant"):
        render_answer(turn)

question = st.chat_input("Ask about his ideas, e.g. “Should I build my own tokenizer?”")
if question:
    with st.chat_message("user"):
        st.markdown(md_escape(question))
    with st.chat_message("assistant"):
        try:
            llm = load_llm(f"{provider}:{st.session_state.get('ask_model')}"
                           if provider else "none", secrets=secrets)
        except LLMError as e:
            st.error(md_escape(str(e)))
            st.stop()
        live = st.empty()
        streamed: list[str] = []

        def show(token: str) -> None:
            streamed.append(token)
            live.markdown(md_escape("".join(streamed)))

        past = [m for t in history for m in ({"role": "user", "content": t.question},
                                             {"role": "assistant", "content": t.text})]
        try:
            retriever = retriever_for(str(world.home.root), world.inputs)
            result = answer(question, retriever, world.framework, llm,
                            memory_notes=memory.for_prompt(), history=compact_history(past),
                            on_token=show if llm else None)
        except LLMError as e:
            live.empty()
            st.error(md_escape(str(e)))
            st.stop()
        live.empty()
        render_answer(result)
    history.append(result)
    conversation = st.session_state.setdefault("ask_conversation", memory.start())
    memory.add_turn(conversation, "user", question, result.covered)
    memory.add_turn(conversation, "assistant", result.text)
