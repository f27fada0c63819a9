"""Search page: his tweets first (everything by a toggle), by keywords or by meaning, with
filters, sorting, highlighted matches, deep links and pages of results."""
import time

import streamlit as st

from corpus.attribution import badge
from corpus.ids import deep_link
from corpus.query import QueryError
from corpus.store import CorpusStore
from ui.app_state import vector_index
from ui.cli import UNDATED_SCAN  # the CLI's reach for counting them, so both say the same
from ui.markup import esc, md_highlight, md_link, md_message

PAGE_SIZE = 20
world = st.session_state["world"]


def number(value) -> str:
    """A count from a source's metadata, shown as it came when it is not a number."""
    return f"{value:,}" if isinstance(value, int) else esc(value)


st.title("Search what he said")
tweets = world.corpus["by_kind"].get("tweet", {}).get("documents", 0)
if not world.corpus["documents"]:
    st.info("Nothing is ingested yet. Add his tweets with `ktp ingest twitter-archive.zip` "
            "(or a CSV/JSON export), or use the Corpus page.")
    st.stop()

query = st.text_input("Search", placeholder='words, "exact phrases", prefix*, -exclude',
                      key="search_q")
left, middle, right = st.columns([2, 2, 2])
scope = left.segmented_control("Look in", ["Tweets", "Everything"], default="Tweets",
                               key="search_scope") or "Tweets"
semantic = middle.toggle("By meaning", key="search_semantic",
                         help="Find passages close in meaning, not only in words.")
sort = right.selectbox("Sort by", ["relevance", "date", "likes"], key="search_sort",
                       disabled=semantic)
with st.expander("Filters"):
    c1, c2, c3, c4 = st.columns(4)
    since = c1.date_input("From", value=None, key="search_since")
    until = c2.date_input("To", value=None, key="search_until")
    min_likes = c3.number_input("At least this many likes", 0, step=10, key="search_likes")
    retweets = c4.checkbox("Include retweets", value=False, key="search_rts",
                           help="Retweets are other people's words.")
    replies = c4.checkbox("Include replies", value=True, key="search_replies")
    whose = st.radio("Whose words", ["Everyone's", "His words only", "Others' only"],
                     horizontal=True, key="search_whose",
                     help="Interview hosts, retweets and material of unknown authorship are "
                          "kept and searchable, and always labelled as not his.")
speaker = {"His words only": "his", "Others' only": "others"}.get(whose)

if not query.strip():
    st.caption(f"{tweets:,} tweets and {world.corpus['documents'] - tweets:,} other documents "
               "to search. Try a phrase in quotes, or switch on “By meaning”.")
    st.stop()

page = st.session_state.get("search_page", 0)
signature = (query, scope, semantic, sort, since, until, min_likes, retweets, replies, whose)
if st.session_state.get("search_signature") != signature:
    st.session_state["search_signature"], page = signature, 0
kind = "tweet" if scope == "Tweets" else None
bounds = {"kind": kind, "since": since.isoformat() if since else None,
          "until": until.isoformat() if until else None}


def undated_left_out(store) -> int:
    """The matches a date filter left out because nothing says when they were said: the same
    search without the dates, its undated hits counted (up to UNDATED_SCAN, as the CLI does)."""
    open_bounds = {**bounds, "since": None, "until": None}
    if semantic:
        found = index.query(embedder.embed([query])[0], UNDATED_SCAN, own_only=not retweets,
                            his={"his": True, "others": False}.get(speaker), **open_bounds)
        rows = store.chunk_rows([h.chunk_id for h in found])
        return sum(1 for h in found if h.chunk_id in rows and not rows[h.chunk_id]["date"])
    try:
        found = store.search(query, limit=UNDATED_SCAN, own_only=not retweets, replies=replies,
                             min_likes=min_likes, one_per_doc=True, speaker=speaker,
                             **open_bounds)
    except QueryError:
        return 0
    return sum(1 for h in found if not h.date)


started = time.perf_counter()
with CorpusStore(world.home.corpus_db) as store:
    if semantic:
        index, embedder = vector_index(str(world.home.root), world.inputs)
        if index is None:
            st.warning("Search by meaning needs the vector index: run `ktp build` first.")
            st.stop()
        vector_hits = index.query(embedder.embed([query])[0], PAGE_SIZE * (page + 1) + 1,
                                  own_only=not retweets, his={"his": True, "others": False}
                                  .get(speaker), **bounds)[PAGE_SIZE * page:]
        rows = store.chunk_rows([h.chunk_id for h in vector_hits])
        hits = [(rows[h.chunk_id], None, h.similarity) for h in vector_hits if h.chunk_id in rows]
    else:
        try:
            found = store.search(query, limit=PAGE_SIZE + 1, offset=PAGE_SIZE * page,
                                 own_only=not retweets, replies=replies, min_likes=min_likes,
                                 sort=sort, one_per_doc=True, speaker=speaker, **bounds)
        except QueryError as e:
            st.error(f"That search cannot run: {md_message(e)}.")
            st.stop()
        hits = [({"title": h.title, "kind": h.kind, "date": h.date, "url": h.url,
                  "meta": h.meta or {}, "text": h.text, "doc_id": h.doc_id,
                  "author": h.author, "speaker": h.speaker, "his_words": h.his_words,
                  "page": h.page},
                 h.marked if h.kind in ("tweet", "thread") else h.snippet, h.score)
                for h in found]
    undated = undated_left_out(store) if since or until else 0
elapsed = (time.perf_counter() - started) * 1000
more = len(hits) > PAGE_SIZE
hits = hits[:PAGE_SIZE]
st.caption(f"Page {page + 1}: {len(hits)} result{'s' * (len(hits) != 1)} for "
           f"“{esc(query.strip())}” in {elapsed:.0f} ms")
if undated:
    many = f"{undated}{'+' if undated >= UNDATED_SCAN else ''}"
    st.caption(f"{many} undated passage{'s' * (undated != 1)} that match{'es' * (undated == 1)} "
               f"{'was' if undated == 1 else 'were'} left out by the dates: nothing says when "
               f"{'it was' if undated == 1 else 'they were'} said. Clear “From” and “To” to "
               "see them.")
if not hits:
    st.info("No matches. Fewer words, a prefix* or “By meaning” may find more.")
for row, marked, score in hits:
    meta = row["meta"] or {}
    with st.container(border=True):
        who = badge(kind=row["kind"], author=row.get("author"), speaker=row.get("speaker"),
                    his_words=bool(row.get("his_words")), meta=meta)
        facts = [f"**{esc(who)}**" if row.get("his_words") else esc(who),
                 esc(row["kind"]), esc((row["date"] or "undated")[:10])]
        for field in ("likes", "retweets"):
            if meta.get(field) is not None:
                facts.append(f"{number(meta[field])} {field}")
        if meta.get("is_reply"):
            facts.append("reply")
        st.markdown(md_highlight(marked) if marked else esc(row["text"][:600]))
        link = deep_link(row["url"], page=row["page"]) if row["url"] and row.get("page") \
            else row["url"]  # a paper's passage: at its page
        st.caption(" · ".join(facts) + (" · " + md_link("open the original", link) if link
                                         else ""))
prev_col, next_col = st.columns(2)
if prev_col.button("← Previous", disabled=page == 0, key="search_prev"):
    st.session_state["search_page"] = page - 1
    st.rerun()
if next_col.button("Next →", disabled=not more, key="search_next"):
    st.session_state["search_page"] = page + 1
    st.rerun()
