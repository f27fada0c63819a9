"""Corpus page: what is ingested (by kind, over time), the last ingest runs with their skips,
and adding material from the browser: upload files or paste URLs, then build."""
import tempfile
from pathlib import Path

import streamlit as st

from corpus.store import CorpusStore
from ui.markup import md_escape

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
        runs = store.runs(10)
    if rows:
        import pandas as pd

        frame = pd.DataFrame(rows, columns=["year", "kind", "documents"]).pivot_table(
            index="year", columns="kind", values="documents", fill_value=0)
        st.markdown("**Material over time** (documents per year, by kind)")
        st.bar_chart(frame)
else:
    runs = []
    st.info("Nothing is ingested yet. Upload his X archive (the .zip you download from X), "
            "tweet exports, captions or posts below, or paste URLs of his blog or talks.")

st.subheader("Add material")
uploads = st.file_uploader("Files: X archive .zip, tweets.js, CSV/JSON exports, .vtt/.srt "
                           "captions, Markdown posts", accept_multiple_files=True,
                           key="corpus_upload")
urls = st.text_area("Or URLs, one a line (a blog, a post, a YouTube talk, a GitHub repo)",
                    key="corpus_urls")
if st.button("Ingest", key="corpus_ingest", disabled=not uploads and not urls.strip()):
    from ingest.http_fetch import Fetcher
    from ingest.run import ingest_paths

    inputs: list = [u.strip() for u in urls.splitlines() if u.strip()]
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=world.home.root))
    for upload in uploads or []:
        target = folder / Path(upload.name).name
        target.write_bytes(upload.getbuffer())
        inputs.append(target)
    bar = st.progress(0.0, text="Reading…")

    def progress(done: int, total: int, item) -> None:
        bar.progress(done / max(total, 1), text=f"Reading {Path(str(item)).name if item else ''}")

    with CorpusStore(world.home.corpus_db) as store:
        summary = ingest_paths(inputs, store, progress,
                               fetcher=Fetcher(world.home.root / "http-cache"))
    bar.progress(1.0, text="Done")
    st.session_state["corpus_last_run"] = (summary.line(), summary.skipped)
    if summary.loaded or summary.replaced:
        st.session_state["corpus_needs_build"] = True

if last := st.session_state.get("corpus_last_run"):  # kept across the rerun after building
    st.success(last[0])
    for skip in last[1]:
        st.warning(md_escape(f"Skipped {Path(skip['path']).name}: {skip['reason']}"))

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
if not runs:
    st.caption("No runs yet.")
for run in runs:
    s = run["summary"] or {}
    label = (f"{run['started_at']}: loaded {s.get('loaded', 0)}, unchanged "
             f"{s.get('unchanged', 0)}, replaced {s.get('replaced', 0)}, skipped "
             f"{len(s.get('skipped', []))}")
    with st.expander(label):
        st.caption("Inputs: " + md_escape(", ".join(run["sources"])[:500]))
        for skip in s.get("skipped", [])[:200]:
            st.markdown(f"- {md_escape(Path(skip['path']).name)}: {md_escape(skip['reason'])}")
