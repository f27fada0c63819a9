"""Transcript ingest on small files in the real formats (our own words): rolling auto-captions,
manual VTT, SRT, json3, timed-segment JSON, stamped Markdown with speakers, and broken input."""
import json
from pathlib import Path

import pytest

from conftest import write_files
from ingest.run import ingest_paths

ROLLING_VTT = """WEBVTT
Kind: captions
Language: en

00:00:00.000 --> 00:00:02.000 align:start position:0%
 
small<00:00:00.400><c> models</c><00:00:00.800><c> are</c><00:00:01.200><c> easy</c>

00:00:02.000 --> 00:00:02.010 align:start position:0%
small models are easy
 

00:00:02.010 --> 00:00:04.000 align:start position:0%
small models are easy
to<00:00:02.400><c> read</c><00:00:02.800><c> end</c><00:00:03.200><c> to</c><00:00:03.600><c> end</c>

00:00:04.000 --> 00:00:04.010 align:start position:0%
to read end to end
 

00:00:04.010 --> 00:00:06.000 align:start position:0%
to read end to end
so<00:00:04.400><c> start</c><00:00:04.800><c> there</c>
"""

SRT = """1
00:00:01,000 --> 00:00:03,500
First we look at the data.

2
00:01:05,250 --> 00:01:08,000
Then we train a tiny model.
"""


def only_doc(store):
    [doc] = list(store.documents())
    return doc


def test_rolling_auto_captions_give_each_spoken_word_once(tmp_path, store):
    path = write_files(tmp_path, {"Tiny talk [abcdefghijk].en.vtt": ROLLING_VTT})
    ingest_paths([path / "Tiny talk [abcdefghijk].en.vtt"], store)
    doc = store.get("yt:abcdefghijk")
    assert doc.text == "small models are easy to read end to end so start there"
    assert (doc.kind, doc.url) == ("transcript", "https://www.youtube.com/watch?v=abcdefghijk")
    assert store.chunks(doc.id)[0].start_time == 0.0


def test_srt_keeps_start_times_for_deep_links(tmp_path, store):
    ingest_paths([write_files(tmp_path, {"talk.srt": SRT}) / "talk.srt"], store)
    doc = only_doc(store)
    assert doc.text == "First we look at the data. Then we train a tiny model."
    assert store.chunks(doc.id)[0].start_time == 1.0


def test_chunks_start_on_segments_and_carry_their_time(tmp_path, store):
    segments = [{"start": 10.0 * i, "duration": 9.5, "text": f"sentence number {i} " + "w " * 40}
                for i in range(30)]
    path = write_files(tmp_path, {"segments.json": json.dumps(
        {"videoId": "zyxwvutsrqp", "segments": segments})}) / "segments.json"
    ingest_paths([path], store)
    chunks = store.chunks("yt:zyxwvutsrqp")
    assert len(chunks) >= 3
    for chunk in chunks:
        n = int(chunk.text.split()[2])  # "sentence number N ..."
        assert chunk.text.startswith("sentence number") and chunk.start_time == 10.0 * n


def test_json3_events_become_timed_text(tmp_path, store):
    data = {"wireMagic": "pb3", "events": [
        {"tStartMs": 0, "dDurationMs": 5000, "wWinId": 1},
        {"tStartMs": 1200, "segs": [{"utf8": "we"}, {"utf8": " build", "tOffsetMs": 300}]},
        {"tStartMs": 2000, "aAppend": 1, "segs": [{"utf8": "\n"}]},
        {"tStartMs": 2500, "segs": [{"utf8": "it by hand"}]}]}
    ingest_paths([write_files(tmp_path, {"talk.json3": json.dumps(data)}) / "talk.json3"],
                 store, forced="transcript")
    doc = only_doc(store)
    assert doc.text == "we build it by hand"
    assert store.chunks(doc.id)[0].start_time == 1.2


def test_stamped_markdown_with_speakers_and_front_matter(tmp_path, store):
    text = "---\ntitle: A chat\ndate: 2024-05-01\nvideo_id: a1b2c3d4e5f\n---\n" + "\n".join(
        f"[{m}:{s:02d}] {who}: point {m}{s}" for m, s, who in
        [(0, 5, "Host"), (0, 20, "Guest"), (1, 2, "Guest"), (61, 0, "Host"), (61, 30, "Host")])
    ingest_paths([write_files(tmp_path, {"chat.md": text}) / "chat.md"], store)
    doc = store.get("yt:a1b2c3d4e5f")
    assert (doc.title, doc.date) == ("A chat", "2024-05-01")
    assert doc.text.startswith("Host: point 05\n\nGuest: point 020")


def test_a_vtt_with_some_broken_timestamps_loads_the_rest_and_says_so(tmp_path, store):
    broken = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nkept line\n\nxx:yy --> zz\nlost line\n"
    summary = ingest_paths([write_files(tmp_path, {"b.vtt": broken}) / "b.vtt"], store)
    assert summary.loaded == 1 and only_doc(store).text == "kept line"
    assert "1 caption cue(s) with unreadable timestamps" in summary.skipped[0]["reason"]


def test_a_vtt_with_only_broken_timestamps_is_skipped(tmp_path, store):
    path = write_files(tmp_path, {"bad.vtt": "WEBVTT\n\nnot a time --> ever\nwords\n"}) / "bad.vtt"
    summary = ingest_paths([path], store)
    assert summary.loaded == 0 and "unreadable timestamps" in summary.skipped[0]["reason"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_captions_in_utf16_or_with_a_bom(tmp_path, store, encoding):
    path = Path(tmp_path / "enc.srt")
    path.write_bytes(SRT.encode(encoding))
    assert ingest_paths([path], store).loaded == 1
    assert only_doc(store).text.startswith("First we look")


def test_talks_longer_than_99_minutes_keep_every_line(tmp_path, store):
    lines = [f"[{m}:{s:02d}] minute {m} second {s} of a very long talk"
             for m in (1, 99, 100, 211) for s in (0, 30)]
    lines += ["[1:45:30] the same talk with hours written out"]
    ingest_paths([write_files(tmp_path, {"long.md": "\n".join(lines)}) / "long.md"], store)
    doc = only_doc(store)
    assert "minute 211 second 30" in doc.text and "hours written out" in doc.text
    assert doc.meta["segments"] == 9
