"""The corpus store: round trip, idempotence, replacement, atomic batches, schema versions."""
import sqlite3
from dataclasses import replace

import pytest

from corpus.model import Chunk, Document
from corpus.store import SCHEMA_VERSION, CorpusStore, StoreError


def doc(i="doc:a", text="Some words about agents.\n\nAnd a second paragraph.", **kw):
    return Document(id=i, kind=kw.pop("kind", "doc"), title=kw.pop("title", "A title"),
                    text=text, **kw)


def test_round_trip_keeps_every_field(store):
    original = doc(date="2024-02-03T04:05:06Z", url="https://example.org/a", origin="/x/a.md",
                   meta={"likes": 12, "tags": ["x"]})
    assert store.add(original) == "loaded"
    assert store.get("doc:a") == original
    chunks = store.chunks("doc:a")
    assert [c.id for c in chunks] == ["doc:a#0"]
    assert chunks[0].text == original.text[chunks[0].start:chunks[0].end]


def test_adding_the_same_document_again_changes_nothing(store):
    store.add(doc())
    before = store.fingerprint()
    assert store.add(doc(origin="/elsewhere/a.md")) == "unchanged"  # origin is not content
    assert store.fingerprint() == before
    assert store.counts()["documents"] == 1


def test_a_changed_document_replaces_its_old_chunks(store):
    store.add(doc(text="old words " * 400))
    assert len(store.chunks("doc:a")) > 1
    assert store.add(doc(text="entirely new text")) == "replaced"
    assert [c.text for c in store.chunks("doc:a")] == ["entirely new text"]
    assert store.search("old") == []
    assert [h.id for h in store.search("entirely")] == ["doc:a#0"]


def test_explicit_chunks_keep_their_offsets_and_start_times(store):
    text = "first line said\nsecond line said"
    chunks = [Chunk("yt:x#0", "yt:x", 0, 0, 15, text[:15], start_time=0.0),
              Chunk("yt:x#1", "yt:x", 1, 16, 32, text[16:], start_time=12.5)]
    store.add(doc("yt:x", text, kind="transcript"), chunks)
    # A chunk without its own speaker is spoken by the document's author (here: unknown).
    assert store.chunks("yt:x") == [replace(c, speaker="unknown") for c in chunks]


def test_speakers_are_stored_and_filter_search(store):
    text = "Host: what about agents in the long run?\n\nHim: agents will take a decade."
    turns = [[0, 41, "Host"], [43, len(text), "Andrej Karpathy"]]
    store.add(Document(id="yt:y", kind="transcript", title="talk", text=text,
                       author="Andrej Karpathy", meta={"turns": turns}))
    assert [c.speaker for c in store.chunks("yt:y")] == ["Host", "Andrej Karpathy"]
    assert [h.speaker for h in store.search("agents", speaker="his")] == ["Andrej Karpathy"]
    assert [h.speaker for h in store.search("agents", speaker="others")] == ["Host"]
    assert [h.his_words for h in store.search("agents", speaker="Host")] == [False]
    assert len(store.search("agents")) == 2
    assert store.counts()["his_chunks"] == 1


def test_a_failing_batch_leaves_the_store_as_it_was(store):
    store.add(doc("doc:keep"))

    def batch():
        yield doc("doc:new")
        raise RuntimeError("the source broke mid-way")

    with pytest.raises(RuntimeError):
        store.add_many(batch())
    assert [d.id for d in store.documents()] == ["doc:keep"]
    assert store.search("agents")[0].doc_id == "doc:keep"


def test_remove_deletes_chunks_and_index_entries(store):
    store.add(doc())
    assert store.remove("doc:a") is True
    assert store.counts() == {"documents": 0, "words": 0, "chunks": 0, "by_kind": {},
                              "his_chunks": 0, "chunks_by_speaker": {},
                              "authorship_not_recorded": 0}
    assert store.search("agents") == []
    assert store.remove("doc:a") is False


def test_counts_by_kind(store):
    store.add_many([doc("tweet:1", "one two three", kind="tweet"),
                    doc("tweet:2", "four five", kind="tweet"), doc("blog:x", "six", kind="blog")])
    c = store.counts()
    assert c["by_kind"] == {"blog": {"documents": 1, "words": 1},
                            "tweet": {"documents": 2, "words": 5}}
    assert (c["documents"], c["words"], c["chunks"]) == (3, 6, 3)


def test_schema_version_is_recorded_and_reopening_keeps_data(tmp_path):
    path = tmp_path / "c.sqlite3"
    with CorpusStore(path) as s:
        s.add(doc())
        assert s.schema_version == SCHEMA_VERSION
    with CorpusStore(path) as s:
        assert s.get("doc:a") is not None


def test_a_store_from_a_newer_version_is_refused_with_a_fix(tmp_path):
    path = tmp_path / "c.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="upgrade ktp"):
        CorpusStore(path)


def test_ingest_runs_are_logged(store):
    run = store.start_run(["a/", "b.md"])
    store.finish_run(run, {"loaded": 2, "skipped": []})
    [logged] = store.runs()
    assert logged["sources"] == ["a/", "b.md"] and logged["summary"]["loaded"] == 2
    assert logged["finished_at"] is not None


def test_document_ids_must_name_their_kind():
    with pytest.raises(ValueError, match="<kind>:<name>"):
        doc("no-colon")
