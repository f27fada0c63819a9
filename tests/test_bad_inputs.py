"""The bad-input matrix: every malformed, hostile or oversized input is a skip with its reason,
the good items around it are kept, the run record is closed, and the store stays sound.

Inputs are generated here, small but shaped like the real thing; size caps are lowered so the
large cases run in seconds. Network inputs are in test_ingest_web.py, the data home in
test_store.py and test_doctor.py."""
from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import pytest

from corpus.store import CorpusStore
from ingest import x_archive
from ingest.run import ingest_paths
from ingest.textfile import reading_text

from conftest import write_files

GOOD = {"a-good.md": "The first good note.", "z-good.md": "The last good note."}


def ingest(store: CorpusStore, folder: Path):
    summary = ingest_paths([folder], store)
    reasons = {Path(s["path"].split(":")[0].split("#")[0]).name: s["reason"]
               for s in summary.skipped}
    return summary, reasons


def assert_sound(store: CorpusStore, *ids: str) -> None:
    stored = {d.id for d in store.documents()}
    assert set(ids) <= stored, f"lost: {set(ids) - stored}"
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    [run] = store.runs(1)
    assert run["finished_at"] and run["status"] == "finished"


def front_matter(date: str) -> str:
    return f"---\ndate: {date}\n---\nA note with a date.\n"


BAD_FILES = {
    "feb30": ("b-bad.md", front_matter("2024-02-30"), "2024-02 has no day 30"),
    "year9999": ("b-bad.md", front_matter("9999-99-99"), "the year 9999 is outside"),
    "year0": ("b-bad.md", front_matter("0000-01-01"), "the year 0 is outside"),
    "month13": ("b-bad.md", front_matter("2024-13-01"), "there is no month 13"),
    "file-name-date": ("2024-02-31-post.md", "A post.", "the date in the file name"),
    "tweet-page-date": ("b-bad.md", "---\nkind: tweet\nid: tweet:123\ndate: 2021-04-31\n---\n"
                        "A tweet kept as a page.\n", "2021-04 has no day 31"),
    "nested-front-matter": ("b-bad.md", "---\nx: " + "[" * 5000 + "]" * 5000 + "\n---\nText.\n",
                            "nested more than"),
    "alias-bomb": ("b-bad.md", "---\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a]\n"
                   "c: [*b, *b, *b, *b]\n---\nText.\n", "aliases"),
    "deep-json": ("b-bad.json", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "deep-tweets-js": ("archive/tweets.js", "window.YTD.tweets.part0 = " + "[" * 100_000
                       + "]" * 100_000, "breaks at character"),
    "utf16-binary": ("b-bad.txt", "\ufeff".encode("utf-16-le").decode("latin-1")
                     + "\x00\x01\x02" * 200, None),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_is_a_skip_with_its_reason_and_the_files_around_it_are_kept(
        case, store, tmp_path):
    name, text, reason = BAD_FILES[case]
    for file, content in {**GOOD, name: text}.items():  # as written: no dedent, any folder
        (tmp_path / "in" / file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / file).write_text(content, encoding="utf-8")
    summary, reasons = ingest(store, tmp_path / "in")
    assert_sound(store, "doc:a-good", "doc:z-good")
    if reason is not None:
        assert any(reason in r for r in reasons.values()), reasons
    assert "Traceback" not in json.dumps(summary.skipped)


def test_bad_rows_of_a_csv_export_are_skipped_and_the_others_kept(store, tmp_path):
    rows = ["id,text,created_at,likes",
            "1,a good tweet,2024-01-01,5",
            "2,likes that are infinite,2024-01-02,inf",
            "3,a date twenty digits long,99999999999999999999,3",
            "4,a day that does not exist,2023-02-29,1",
            "5," + "x" * 200_000 + ",2024-01-03,1",
            "6,the last good tweet,2024-01-04,2"]
    write_files(tmp_path / "in", {"tweets.csv": "\n".join(rows) + "\n"})
    summary = ingest_paths([tmp_path / "in"], store)
    assert_sound(store, "tweet:1", "tweet:2", "tweet:6")
    assert store.get("tweet:2").meta.get("likes") in (None, 0)
    why = {s["path"].rsplit(":", 1)[-1]: s["reason"] for s in summary.skipped}
    assert "not a time between" in why["4"]
    assert "2023-02 has no day 29" in why["5"]
    assert "200,000 characters" in why["6"]
    assert {d.id for d in store.documents()} == {"tweet:1", "tweet:2", "tweet:6"}


def test_a_transcript_with_unusable_times_keeps_its_words(store, tmp_path):
    segments = [{"start": "abc", "text": "first words"}, {"start": 12.5, "text": "then more"},
                {"start": float("inf"), "text": "and the end"}]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "talk.json").write_text(json.dumps(segments).replace("Infinity", "1e999"))
    summary = ingest_paths([tmp_path / "in"], store)
    [doc] = store.documents()
    assert doc.text.split() == "first words then more and the end".split()
    assert summary.skipped == []


def _archive_entries(n: int, damaged: set[int]) -> str:
    entries = []
    for i in range(1, n + 1):
        tweet = {"tweet": {"id_str": str(1000 + i), "full_text": f"tweet number {i}",
                           "created_at": "Wed Nov 13 21:12:00 +0000 2024",
                           "entities": {"urls": [{"url": "u", "expanded_url": "e"}]}}}
        text = json.dumps(tweet, indent=2)
        if i in damaged:
            text = text.replace('"full_text"', '"full_text" "oops"', 1)
        entries.append(text)
    return "window.YTD.tweets.part0 = [" + ",\n".join(entries) + "]"


def test_a_damaged_entry_in_the_middle_of_tweets_js_costs_only_that_entry(store, tmp_path):
    write_files(tmp_path / "in", {"tweets.js": _archive_entries(2000, damaged={1000})})
    summary = ingest_paths([tmp_path / "in" / "tweets.js"], store)
    stored = {d.id for d in store.documents()}
    assert len(stored) == 1999 and "tweet:2000" not in stored and "tweet:3000" in stored
    [problem] = [s["reason"] for s in summary.skipped]
    assert "1 damaged entry passed over" in problem and "1999 readable entries" in problem


def test_a_truncated_tweets_js_keeps_every_complete_entry(store, tmp_path):
    text = _archive_entries(50, damaged=set())
    write_files(tmp_path / "in", {"tweets.js": text[:len(text) // 2]})
    summary = ingest_paths([tmp_path / "in" / "tweets.js"], store)
    count = len(list(store.documents()))
    assert 20 <= count < 50
    assert f"after {count} complete entries" in summary.skipped[0]["reason"]


def test_a_zip_bomb_and_an_oversized_archive_file_are_refused(store, tmp_path, monkeypatch):
    monkeypatch.setattr(x_archive, "MAX_FILE_BYTES", 1 << 20)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data/tweets.js", "window.YTD.tweets.part0 = [" + " " * (3 << 20) + "]")
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as z:
        z.writestr("data/tweets.js", _archive_entries(6000, damaged=set()))
    ok = tmp_path / "ok.zip"
    with zipfile.ZipFile(ok, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data/tweets.js", _archive_entries(3, damaged=set()))
    summary = ingest_paths([bomb, big, ok], store)
    why = {Path(s["path"]).name: s["reason"] for s in summary.skipped}
    assert "would expand" in why["bomb.zip"]
    assert "more than ktp reads" in why["big.zip"]
    assert summary.loaded == 3 and store.runs(1)[0]["finished_at"]


# ---- time: every pattern over untrusted text is linear ---------------------------------------
HOSTILE_REPEATS = {"script": "<script ", "style": "<style ", "tag": "<a ", "img": "<img alt='",
                   "liquid": "{% ", "liquid-output": "{{ ", "fence": "```\n",
                   "tilde-fence": "~~~\n", "caption-tag": "<v "}


def _seconds(fn, text: str) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("case", sorted(HOSTILE_REPEATS))
def test_markup_stripping_grows_linearly_with_adversarial_repeats(case):
    """Eight times the input must cost about eight times the time, not sixty-four (quadratic).
    The bound is loose (24x) because the machine is shared; a quadratic pattern shows 64x."""
    from ingest.transcripts import _TAG

    unit = HOSTILE_REPEATS[case]
    strip = (lambda t: _TAG.sub("", t)) if case == "caption-tag" else reading_text
    small, large = unit * 10_000, unit * 80_000
    ratio = _seconds(strip, large) / max(_seconds(strip, small), 1e-6)
    assert ratio < 24, f"{case}: 8x the input took {ratio:.1f}x the time"


def _pattern_cases():
    """(what runs over untrusted text, the text's repeated unit): each of the patterns a
    review found super-linear, through the function that applies it."""
    from corpus.textnorm import fenced_blocks
    from ingest.quoted import quoted_spans
    from ingest.textfile import _first_heading
    from ingest.transcripts import parse_vtt
    from ingest.tweets import _BULLET
    from simulator.citations import verify_citations
    from simulator.quotes import candidate_spans
    from ui.cli import shown
    from ui.markup import md_answer, plain_text

    vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n"
    return {
        "caption voice dots": (lambda t: parse_vtt(vtt + "<v" + t + "x\n"), "."),
        "heading spaces": (lambda t: _first_heading("# a" + t + "b"), " "),
        "curly quotes": (quoted_spans, "“"),
        "tweet page bullet": (lambda t: _BULLET.findall("- Date: x" + t), " "),
        "image links": (plain_text, "!["),
        "links": (plain_text, "[a]("),
        "answer quotes": (lambda t: md_answer(t, ()), "“"),
        "answer bold": (lambda t: md_answer(t, ()), "**"),
        "citations": (lambda t: verify_citations(t, []), "“"),
        "code fences": (fenced_blocks, "```x\n"),
        "quote candidates": (lambda t: candidate_spans(_passage(t)), "```x\n"),
        "terminal OSC": (shown, "\x9d"),
    }


def _passage(text: str):
    from simulator.evidence import Evidence

    return Evidence(chunk_id="blog:x#0", doc_id="blog:x", kind="blog", title="t", date=None,
                    url=None, origin="o", text=text, score=1.0, why=(), his_words=True)


@pytest.mark.parametrize("case", sorted(_pattern_cases()))
def test_every_pattern_over_untrusted_text_grows_linearly(case):
    fn, unit = _pattern_cases()[case]
    small, large = unit * 2_000, unit * 16_000
    ratio = _seconds(fn, large) / max(_seconds(fn, small), 1e-6)
    assert ratio < 24, f"{case}: 8x the input took {ratio:.1f}x the time"


def test_a_lone_surrogate_in_an_export_costs_at_most_its_own_row(store, tmp_path):
    rows = ('[{"id": "1", "text": "good one", "created_at": "2024-01-01"},'
            '{"id": "2", "text": "half a character \\ud800 here", "created_at": "2024-01-01"},'
            '{"id": "3", "text": "good three", "created_at": "2024-01-02"}]')
    write_files(tmp_path / "in", {"tweets.json": rows})
    summary = ingest_paths([tmp_path / "in"], store)
    assert {d.id for d in store.documents()} == {"tweet:1", "tweet:2", "tweet:3"}
    assert store.get("tweet:2").text == "half a character \ufffd here" and not summary.skipped
    archive = _archive_entries(4, damaged=set()).replace("tweet number 2", "bad \\ud800 one")
    write_files(tmp_path / "arch", {"tweets.js": archive})
    ingest_paths([tmp_path / "arch" / "tweets.js"], store)
    assert {"tweet:1001", "tweet:1002", "tweet:1003", "tweet:1004"} <= \
        {d.id for d in store.documents()}


def test_hostile_markup_still_reads_like_the_page(store, tmp_path):
    text = ("Before.<script>alert(1)</script> Middle <b>bold</b> {% raw %}\n\n```\n<kept>\n```\n"
            "<script never closed")
    assert reading_text(text) == "Before. Middle bold \n\n```\n<kept>\n```\n<script never closed"


def test_a_readme_kept_inside_another_checkout_is_named_by_its_file(store, tmp_path):
    notes = tmp_path / "notes"
    write_files(notes / ".git", {"config": (
        '[remote "origin"]\n\turl = https://github.com/someone/my-notes.git\n')})
    write_files(notes / "readmes", {"nanoGPT_README.md": "# nanoGPT\n\nThe simplest repo."})
    ingest_paths([notes / "readmes"], store)
    [doc] = store.documents()
    assert doc.id == "repo:karpathy/nanoGPT"
