"""Tweet ingest on small archives and exports written in the real formats (our own content):
the X archive with its quirks, CSV / JSON / JSONL / text dumps, and their bad inputs."""
import json
import zipfile
from pathlib import Path

import pytest

from conftest import write_files
from ingest.run import ingest_paths

ME = "33836629"


def tweet(id_, text, when="Mon Mar 02 10:00:00 +0000 2026", **extra):
    t = {"id_str": id_, "id": id_, "full_text": text, "created_at": when, "favorite_count": "7",
         "retweet_count": "2", "lang": "en", "entities": {"urls": [], "media": []}}
    t.update(extra)
    return {"tweet": t}


ARCHIVE = [
    tweet("1", "Loss went down &gt; expected &amp; I smiled https://t.co/aaa",
          entities={"urls": [{"url": "https://t.co/aaa", "expanded_url": "https://example.org/a"}],
                    "media": []}),
    tweet("2", "A long post that starts here and goes on past the limit of what fits in one… "
               "https://t.co/more", when="Tue Mar 03 11:22:33 +0000 2026"),
    tweet("3", "RT @someone: a thing someone else said"),
    tweet("10", "Thread start: three things about tiny models."),
    tweet("11", "Second, they train fast.", in_reply_to_status_id_str="10",
          in_reply_to_user_id_str=ME, in_reply_to_screen_name="karpathy"),
    tweet("12", "Third, you can read all of them.", in_reply_to_status_id_str="11",
          in_reply_to_user_id_str=ME, in_reply_to_screen_name="karpathy"),
    tweet("20", "@friend agreed, nice work", in_reply_to_status_id_str="999",
          in_reply_to_user_id_str="555", in_reply_to_screen_name="friend"),
    tweet("30", "Look at this plot https://t.co/pic",
          entities={"urls": [], "media": [{"url": "https://t.co/pic", "expanded_url":
                                          "https://x.com/karpathy/status/30/photo/1"}]}),
    tweet("40", "This is worth reading https://t.co/q",
          entities={"urls": [{"url": "https://t.co/q",
                              "expanded_url": "https://x.com/other/status/777"}], "media": []}),
]
NOTES = [{"noteTweet": {"noteTweetId": "9001", "createdAt": "2026-03-03T11:22:33.000Z",
                        "core": {"text": "A long post that starts here and goes on past the "
                                         "limit of what fits in one tweet, to its very end.",
                                 "urls": []}}}]
MANIFEST = {"userInfo": {"accountId": ME, "userName": "karpathy"},
            "dataTypes": {"tweets": {"files": [{"fileName": "data/tweets.js",
                                                "globalName": "YTD.tweets.part0", "count": "9"}]}}}


def ytd(name: str, value) -> str:
    return f"window.{name} = " + json.dumps(value, indent=2, separators=(",", " : "))


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return write_files(tmp_path / "archive" / "data", {
        "tweets.js": ytd("YTD.tweets.part0", ARCHIVE),
        "note-tweet.js": ytd("YTD.note_tweet.part0", NOTES),
        "manifest.js": ytd("__THAR_CONFIG", MANIFEST)}).parent


def test_the_x_archive_is_read_with_all_its_quirks(archive, store):
    summary = ingest_paths([archive], store)
    assert (summary.loaded, summary.skipped) == (7, [])
    assert summary.by_kind == {"tweet": 6, "thread": 1}
    plain = store.get("tweet:1")
    assert plain.text == "Loss went down > expected & I smiled https://example.org/a"
    assert (plain.date, plain.url) == ("2026-03-02T10:00:00Z", "https://x.com/karpathy/status/1")
    assert (plain.meta["likes"], plain.meta["retweets"]) == (7, 2)
    long_post = store.get("tweet:2")
    assert long_post.text.endswith("to its very end.") and long_post.meta["long_post"] is True
    retweet = store.get("tweet:3")
    assert retweet.meta["is_retweet"] is True and retweet.author == "@someone"
    assert store.get("tweet:20").meta["in_reply_to"] == "999"
    assert store.get("tweet:30").text == "Look at this plot"
    assert store.get("tweet:40").meta["quotes_tweet"] == "777"


def test_a_self_reply_chain_becomes_one_thread_keeping_each_tweet(archive, store):
    ingest_paths([archive], store)
    assert store.get("tweet:11") is None and store.get("tweet:12") is None
    thread = store.get("thread:10")
    assert thread.text == ("Thread start: three things about tiny models.\n\n"
                           "Second, they train fast.\n\nThird, you can read all of them.")
    assert [t["url"] for t in thread.meta["tweets"]] == [
        "https://x.com/karpathy/status/10", "https://x.com/karpathy/status/11",
        "https://x.com/karpathy/status/12"]
    chunks = store.chunks("thread:10")
    assert [c.text for c in chunks] == ["Thread start: three things about tiny models.",
                                        "Second, they train fast.",
                                        "Third, you can read all of them."]
    assert all(thread.text[c.start:c.end] == c.text for c in chunks)


def test_the_zip_reads_the_same_and_a_second_run_changes_nothing(archive, store, tmp_path):
    zipped = tmp_path / "twitter-2026.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        for f in (archive / "data").iterdir():
            z.write(f, f"data/{f.name}")
    assert ingest_paths([zipped], store).loaded == 7
    again = ingest_paths([archive], store)
    assert (again.loaded, again.unchanged, again.replaced) == (0, 7, 0)


def test_a_half_written_zip_is_skipped_and_nothing_is_stored(archive, store, tmp_path):
    zipped = tmp_path / "cut.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.write(archive / "data" / "tweets.js", "data/tweets.js")
    zipped.write_bytes(zipped.read_bytes()[:200])
    summary = ingest_paths([zipped], store)
    assert summary.loaded == 0 and len(summary.skipped) == 1
    assert store.counts()["documents"] == 0


def test_a_truncated_tweets_js_keeps_every_complete_tweet(tmp_path, store):
    text = ytd("YTD.tweets.part0", ARCHIVE[:3])
    third = text.index('"tweet"', text.index('"tweet"', text.index('"tweet"') + 1) + 1)
    cut = text[: third + 30]  # break inside the third entry
    path = write_files(tmp_path / "in", {"tweets.js": cut}) / "tweets.js"
    summary = ingest_paths([path], store)
    assert summary.loaded == 2
    [skip] = summary.skipped
    assert "after 2 complete entries" in skip["reason"] and "kept" in skip["reason"]


def test_a_tweets_js_without_its_assignment_prefix_still_loads(tmp_path, store):
    path = write_files(tmp_path / "in", {"tweets.js": json.dumps(ARCHIVE[:2])}) / "tweets.js"
    assert ingest_paths([path], store, forced="x-archive").loaded == 2


def test_a_csv_export_in_any_column_order_with_bad_rows_reported(tmp_path, store):
    path = write_files(tmp_path / "in", {"export.csv": (
        "likes,text,extra,created_at,tweet_id,is_retweet\n"
        "12,First tweet,x,2025-11-13 21:12:00,101,False\n"
        "3,\"A quoted, comma, tweet\",y,2025-11-14T08:00:00Z,102,True\n"
        "1,No id here,z,2025-11-15 08:00:00,,False\n"
        "1,Bad date,z,yesterday-ish,104,False\n")}) / "export.csv"
    summary = ingest_paths([path], store)
    assert summary.loaded == 2
    assert [(s["path"].rsplit(":", 1)[-1], s["reason"]) for s in summary.skipped] == [
        ("4", "no usable tweet id (None)"),
        ("5", "tweet 104: 'yesterday-ish' is not a date; write it as YYYY-MM-DD "
             "(or YYYY-MM-DDTHH:MM:SSZ)")]
    first = store.get("tweet:101")
    assert (first.date, first.meta["likes"]) == ("2025-11-13T21:12:00Z", 12)
    assert store.get("tweet:102").meta["is_retweet"] is True


def test_json_and_jsonl_dumps(tmp_path, store):
    rows = [{"id_str": "201", "full_text": "From a JSON dump", "created_at": "2024-01-01T00:00:00Z",
             "favorite_count": 5}, {"id": 202, "text": "Second", "date": 1704067200}]
    folder = write_files(tmp_path / "in", {
        "dump.json": json.dumps({"tweets": rows}),
        "dump.jsonl": "\n".join(json.dumps(r | {"id_str": f"3{i}"}) for i, r in enumerate(rows))
                      + "\n{broken json\n"})
    summary = ingest_paths([folder], store)
    assert summary.loaded == 4
    assert [s["reason"][:14] for s in summary.skipped] == ["not valid JSON"]
    assert store.get("tweet:202").date == "2024-01-01T00:00:00Z"


def test_plain_text_tweets_when_forced(tmp_path, store):
    path = write_files(tmp_path / "in", {"mine.txt": "first thought\n\nsecond thought\n"})
    summary = ingest_paths([path / "mine.txt"], store, forced="tweets")
    assert summary.loaded == 2
    assert {d.text for d in store.documents("tweet")} == {"first thought", "second thought"}


def test_an_empty_or_truncated_json_file_gets_a_reason(tmp_path, store):
    folder = write_files(tmp_path / "in", {"empty.json": "", "cut.json": '[{"id_str": "1", "te'})
    summary = ingest_paths([folder], store)
    reasons = {Path(s["path"]).name: s["reason"] for s in summary.skipped}
    assert summary.loaded == 0 and set(reasons) == {"empty.json", "cut.json"}
    assert reasons["cut.json"].startswith("not valid JSON")


def test_a_tweet_id_twice_in_one_file_keeps_the_first_and_says_so(tmp_path, store):
    path = write_files(tmp_path / "in", {"dup.csv": (
        "tweet_id,text\n7,first copy\n7,second copy\n8,another\n")}) / "dup.csv"
    summary = ingest_paths([path], store)
    assert summary.loaded == 2
    assert summary.skipped == [{"path": str(path), "reason": (
        "tweet:7 appears more than once in this input; the first copy was kept")}]
    assert store.get("tweet:7").text == "first copy"
