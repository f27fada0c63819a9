"""Corpus page: what is ingested (by kind, over time), the last ingest runs with their skips,
and adding material from the browser: upload files or paste URLs, then build."""
from pathlib import Path

import streamlit as st

from corpus.store import CorpusStore
from ui.failures import show_failure
from ui.markup import esc, md_message
from ui.uploads import is_staged, staged, sweep

world = st.session_state["world"]
st.title("His corpus")

counts = world.corpus
if counts["documents"]:
    st.caption(f"{counts['documents']:,} documents, {counts['chunks']:,} passages, "
               f"{counts['words']:,} words")
    st.dataframe([{"kind": k, "documents": v["documents"], "words": v["words"]}
                  for k, v in counts["by_kind"].items()], hide_index=True)
    with CorpusStore(world.home.corpus_db) as store:
        rows = store.db.execute("SELECT substr(date, 1, 4) AS year, kind, COUNT(*) FROM "
                                "documents WHERE date IS NOT NULL GROUP BY 1, 2").fetchall()
    if rows:
        import pandas as pd

        frame = pd.DataFrame(rows, columns=["year", "kind", "documents"]).pivot_table(
            index="year", columns="kind", values="documents", fill_value=0)
        st.markdown("**Material over time** (documents per year, by kind)")
        st.bar_chart(frame)
else:
    st.info("Nothing is ingested yet. Upload his X archive (the .zip you download from X), "
            "tweet exports, captions or posts below, or paste URLs of his blog or talks.")

st.subheader("Add material")
uploads = st.file_uploader("Files: X archive .zip, tweets.js, CSV/JSON exports, .vtt/.srt "
                           "captions, Markdown posts", accept_multiple_files=True,
                           key="corpus_upload")
urls = st.text_area("Or URLs, one a line (a blog, a post, a YouTube talk, a GitHub repo)",
                    key="corpus_urls")
sweep(world.home.root)  # staging folders a crash left behind
if st.button("Ingest", key="corpus_ingest", disabled=not uploads and not urls.strip()):
    from ingest.http_fetch import Fetcher
    from ingest.run import ingest_paths

    with staged(uploads or [], world.home.root) as files:
        inputs: list = [u.strip() for u in urls.splitlines() if u.strip()]
        inputs += list(dict.fromkeys(f.parent for f in files.files))  # ingest walks each
        bar = st.progress(0.0, text="Reading…")

        def progress(done: int, total: int, item) -> None:
            bar.progress(done / max(total, 1),
                         text=f"Reading {esc(files.name_of(item)) if item else ''}")

        summary = None
        if inputs:
            try:
                with CorpusStore(world.home.corpus_db) as store:
                    summary = ingest_paths(inputs, store, progress,
                                           fetcher=Fetcher(world.home.root / "http-cache"))
            except Exception as e:  # what was committed before it stays; the files go
                st.session_state["corpus_last_run"] = None
                show_failure(e, "in the ingest run", world.home.root)
                st.stop()
        bar.progress(1.0, text="Done")
        skipped = [(files.name_of(skip["path"]), files.explain(str(skip["reason"])))
                   for skip in (summary.skipped if summary else [])]
        same_name = any(" of that name)" in name for name, _ in skipped)
        st.session_state["corpus_last_run"] = {
            "line": summary.line() if summary else "nothing was ingested",
            "refused": files.refused, "skipped": skipped, "same_name": same_name}
    if summary and (summary.loaded or summary.replaced):
        st.session_state["corpus_needs_build"] = True

if last := st.session_state.get("corpus_last_run"):  # kept across the rerun after building
    (st.success if last["line"].startswith("loaded") else st.info)(esc(last["line"]))
    for name, reason in last["refused"]:
        st.warning(esc(f"Not uploaded: {name!r}: {reason}. Rename the file and upload it "
                       "again."))
    for name, reason in last["skipped"]:
        st.warning(md_message(f"Skipped {name}: {reason}"))
    if last["same_name"]:
        st.info(esc("Files of the same name are the same document to ingest (a file's id "
                    "comes from its name, a README's from its heading), so only the first of "
                    "them was added. "
                    "To keep both, rename one (e.g. project-README.md) or give it its own "
                    "id: in its front matter, and upload it again."))

if st.session_state.get("corpus_needs_build") or st.button("Build index and graph",
                                                           key="corpus_build"):
    from graph.pipeline import build_index

    bar = st.progress(0.0, text="Embedding new passages…")
    with CorpusStore(world.home.corpus_db) as store:
        result = build_index(world.home, store, progress=lambda d, t: bar.progress(
            d / max(t, 1), text=f"Embedding passages: {d} of {t}"))
    bar.progress(1.0, text=f"Index: {result['embedded']} passages embedded")
    st.session_state["corpus_needs_build"] = False
    st.cache_resource.clear()  # the graph and retriever are rebuilt from the new inputs
    st.rerun()

st.subheader("Recent ingest runs")
with CorpusStore(world.home.corpus_db) as store:
    runs = store.runs(10)
if not runs:
    st.caption("No runs yet.")
for run in runs:
    s = run["summary"] or {}
    label = (f"{run['started_at']}: loaded {s.get('loaded', 0)}, unchanged "
             f"{s.get('unchanged', 0)}, replaced {s.get('replaced', 0)}, skipped "
             f"{len(s.get('skipped', []))}")
    with st.expander(esc(label)):
        sources = dict.fromkeys("uploaded files" if is_staged(p, world.home.root) else str(p)
                                for p in run["sources"])
        st.caption("Inputs: " + esc(", ".join(sources)[:500]))
        for skip in s.get("skipped", [])[:200]:
            name = Path(str(skip["path"])).name
            st.markdown(f"- {esc(name)}: {md_message(skip['reason'])}")
