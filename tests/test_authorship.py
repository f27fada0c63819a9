"""Who wrote each ingested document is decided from evidence, never assumed: his archive and
handle, retweets' original posters, other accounts, his sites and repos, front matter, the
user's --author; material with no evidence is "author unknown". Text he quotes from others
inside his posts is marked; sidecar files and binary data never become documents."""
import json
from pathlib import Path

from conftest import write_files
from ingest.quoted import quoted_spans
from ingest.run import ingest_paths

HIM = "Andrej Karpathy"


def archive(folder: Path, handle: str | None, tweets: list[dict]) -> Path:
    data = folder / "data"
    data.mkdir(parents=True)
    entries = [{"tweet": {"id_str": t["id"], "id": t["id"], "full_text": t["text"],
                          "created_at": "Fri Feb 20 09:10:58 +0000 2026",
                          "favorite_count": "1", "retweet_count": "0",
                          "entities": {"urls": [], "media": []}}} for t in tweets]
    (data / "tweets.js").write_text("window.YTD.tweets.part0 = " + json.dumps(entries))
    if handle:
        manifest = {"userInfo": {"userName": handle, "accountId": "1"},
                    "dataTypes": {"tweets": {"files": [{"fileName": "data/tweets.js"}]}}}
        (data / "manifest.js").write_text("window.__THAR_CONFIG = " + json.dumps(manifest))
    (data / "README.txt").write_text("This archive holds your account data. Posts are in "
                                     "tweets.js.")
    return folder


def test_his_archive_is_his_a_retweet_is_the_original_posters(store, tmp_path):
    folder = archive(tmp_path / "mine", "karpathy", [
        {"id": "1", "text": "Small models first."},
        {"id": "2", "text": "RT @someone: Big models always win."}])
    ingest_paths([folder], store)
    own, retweet = store.get("tweet:1"), store.get("tweet:2")
    assert (own.author, own.authorship) == (HIM, "X archive of @karpathy (manifest.js)")
    assert (retweet.author, retweet.authorship) == ("@someone",
                                                    "retweet of @someone by @karpathy")
    assert [h.doc_id for h in store.search("models", speaker="his")] == ["tweet:1"]
    assert not store.get("doc:readme")  # README.txt is the archive's own sidecar
    assert [d.id for d in store.documents()] == ["tweet:1", "tweet:2"]


def test_another_accounts_archive_is_theirs_and_one_that_says_nothing_is_unknown(store,
                                                                                 tmp_path):
    ingest_paths([archive(tmp_path / "theirs", "alice", [{"id": "3", "text": "Hello there."}])],
                 store)
    ingest_paths([archive(tmp_path / "anon", None, [{"id": "4", "text": "Who am I?"}])], store)
    assert store.get("tweet:3").author == "@alice"
    assert store.get("tweet:3").url == "https://x.com/alice/status/3"
    assert store.get("tweet:4").author == "unknown"
    assert store.get("tweet:4").url == "https://x.com/i/web/status/4"
    assert store.search("hello OR who", speaker="his") == []


def test_exports_use_their_user_column_else_a_file_named_for_his_handle(store, tmp_path):
    folder = write_files(tmp_path / "in", {
        "export.csv": "tweet_id,text,created_at,username\n"
                      "10,mine for sure,2024-01-01 10:00:00,karpathy\n"
                      "11,a stranger's post,2024-01-01 10:00:00,bob\n",
        "karpathy_tweets.csv": "tweet_id,text,created_at,is_retweet\n"
                               "12,his own words,2024-01-01 10:00:00,False\n"
                               "13,retweeted words,2024-01-01 10:00:00,True\n",
        "misc_tweets.csv": "tweet_id,text,created_at\n14,whose is this,2024-01-01 10:00:00\n",
    })
    ingest_paths([folder], store)
    authors = {d.id: d.author for d in store.documents()}
    assert authors == {"tweet:10": HIM, "tweet:11": "@bob", "tweet:12": HIM,
                       "tweet:13": "unknown", "tweet:14": "unknown"}
    assert store.get("tweet:12").authorship == "an export named for @karpathy " \
                                               "(karpathy_tweets.csv)"
    assert "retweet" in store.get("tweet:13").authorship


def test_posts_and_readmes_are_his_only_with_evidence(store, tmp_path):
    folder = write_files(tmp_path / "in", {
        "post.md": "---\ntitle: A post\nurl: http://karpathy.github.io/2020/01/01/post/\n---\n"
                   "Words of his on his own site.\n",
        "guest.md": "---\ntitle: Guest\nauthor: Ada Lovelace\n---\nWords of someone else.\n",
        "his.md": "---\ntitle: Notes\nauthor: Karpathy\n---\nNotes he wrote.\n",
        "SOURCES.md": "# Sources\n\nA list of where the data came from.\n",
    })
    ingest_paths([folder], store)
    assert store.get("blog:post").author == HIM
    assert store.get("blog:post").authorship == "published on his site karpathy.github.io"
    assert store.get("doc:guest").author == "Ada Lovelace"
    assert store.get("doc:his").author == HIM  # an alias in the front matter names him
    assert (store.get("doc:sources").author,
            store.get("doc:sources").authorship) == ("unknown",
                                                     "nothing in the source says who wrote it")


def test_a_provenance_manifest_traces_files_to_his_repos_only_when_the_checksum_matches(
        store, tmp_path):
    import hashlib
    files = {
        "docs/llm.c_doc_layernorm.md": "# LayerNorm\n\nA walk through the backward pass.\n",
        "docs/minbpe_lecture.md": "# Lecture\n\nHow byte pair encoding merges.\n",
        "site/guide.md": "---\ntitle: Guide\npermalink: /guide/\n---\nA page of the site.\n",
        "scraped/talks.md": "# Talks\n\nWords copied from somewhere.\n",
        "docs/edited.md": "# Edited\n\nChanged after the manifest was written.\n",
    }
    folder = write_files(tmp_path / "in", files)

    def entry(path, repo, repo_path, text=None):
        digest = hashlib.sha256((text or files[path]).encode()).hexdigest()
        return {"path": path, "repo": repo, "commit": "0c39d94ec1a2", "sha256": digest,
                "repo_path": repo_path}
    (folder / "manifest.json").write_text(json.dumps([
        entry("docs/llm.c_doc_layernorm.md", "karpathy/llm.c",
              "doc/layernorm/layernorm.md, dev/data/README.md"),
        entry("docs/minbpe_lecture.md", "karpathy/minbpe", "lecture.md, exercise.md"),
        entry("site/guide.md", "karpathy/karpathy.github.io", "*.md"),
        entry("scraped/talks.md", "someone/scrapes", "talks.md"),
        entry("docs/edited.md", "karpathy/llm.c", "doc/edited.md", text="the old text\n"),
    ]))
    summary = ingest_paths([folder], store)
    assert [s["reason"].split(":")[0] for s in summary.skipped] == [
        "a provenance manifest, not a source"]
    layernorm = store.get("doc:llm-c-doc-layernorm")
    assert layernorm.author == HIM
    assert layernorm.authorship.startswith("a file of his repo karpathy/llm.c")
    assert layernorm.url == ("https://github.com/karpathy/llm.c/blob/0c39d94ec1a2/"
                             "doc/layernorm/layernorm.md")
    assert store.get("doc:minbpe-lecture").url.endswith("/minbpe/blob/0c39d94ec1a2/lecture.md")
    guide = store.get("doc:guide")  # his GitHub Pages repo: the permalink is a page of his site
    assert (guide.author, guide.url) == (HIM, "https://karpathy.github.io/guide/")
    assert guide.authorship == "published on his site karpathy.github.io"
    talks = store.get("doc:talks")  # a copy in another account's repo: no author, no link
    assert (talks.author, talks.url) == ("unknown", None)
    edited = store.get("doc:edited")  # the checksum no longer matches: the entry says nothing
    assert (edited.author, edited.url) == ("unknown", None)


def test_a_broken_manifest_is_ignored_and_the_files_are_read_on_their_own(store, tmp_path):
    folder = write_files(tmp_path / "in", {"notes.md": "# Notes\n\nSome notes.\n",
                                           "manifest.json": '[{"path": "notes.md", "repo": '})
    summary = ingest_paths([folder], store)
    assert store.get("doc:notes").author == "unknown"
    assert [Path(s["path"]).name for s in summary.skipped] == ["manifest.json"]


def test_author_given_by_the_user_fills_in_only_what_the_source_left_unknown(store, tmp_path):
    folder = write_files(tmp_path / "in", {
        "talk-notes.md": "# Talk notes\n\nSomething he said at a meetup.\n",
        "guest.md": "---\nauthor: Ada Lovelace\n---\nWords of someone else.\n",
    })
    ingest_paths([folder], store, author="karpathy")
    notes = store.get("doc:talk-notes")
    assert notes.author == HIM and "--author" in notes.authorship
    assert store.get("doc:guest").author == "Ada Lovelace"
    assert [c.speaker for c in store.chunks("doc:talk-notes")] == [HIM]


def test_binary_data_behind_a_utf16_mark_is_skipped(store, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00bad")
    summary = ingest_paths([bad], store)
    assert summary.loaded == 0
    assert summary.skipped[0]["reason"].startswith("binary data behind a UTF-16 byte-order mark")
    good = tmp_path / "good.txt"
    good.write_bytes("Real text, in UTF-16.".encode("utf-16"))
    assert ingest_paths([good], store).loaded == 1


def test_a_videos_metadata_sidecar_enriches_its_transcript_and_is_not_a_document(store,
                                                                                 tmp_path):
    folder = write_files(tmp_path / "ep", {
        "transcript.json": json.dumps({"segments": [
            {"start": 1.0, "text": "Welcome to the show."},
            {"start": 4.0, "text": "Today we talk about agents."}]}),
        "metadata.yml": "videoId: abcdefghijk\ntitle: An episode\nchannel: Some Show\n"
                        "description: It was a pleasure chatting with him.\n",
    })
    summary = ingest_paths([folder], store)
    assert summary.loaded == 1 and not summary.skipped
    [doc] = list(store.documents())
    assert (doc.id, doc.title, doc.meta["channel"]) == ("yt:abcdefghijk", "An episode",
                                                       "Some Show")
    assert "pleasure chatting" not in doc.text
    assert doc.author == "unknown"  # another channel, not in the registry: nobody is known


def test_a_front_matter_kind_or_id_cannot_invent_a_kind(store, tmp_path):
    folder = write_files(tmp_path / "in", {
        "x.md": '---\nkind: \'tweet" his_words="yes\'\nid: \'blog:x" onload="\'\n---\nText.\n'})
    ingest_paths([folder], store)
    [doc] = list(store.documents())
    assert (doc.id, doc.kind) == ("doc:x", "doc")


def test_quoted_spans_mark_pasted_messages_block_quotes_and_long_quotations():
    text = ("Ty to a reply, text version:\n\n---\n\nHi Andrej,\n\nHappy to tell the story.\n\n"
            "---\n\nMy own closing words.")
    [(start, end, source)] = quoted_spans(text)
    assert text[start:end] == "Hi Andrej,\n\nHappy to tell the story."
    assert source == "a message addressed to him"
    quote = ('The report says: "We use a subset of the tokenizer of another model for '
             'compatibility reasons." Interesting.')
    [(start, end, source)] = quoted_spans(quote)
    assert quote[start:end].startswith('"We use') and source == "a quotation"
    assert quoted_spans("Someone wrote:\n> this\n> and this\nmine") == [[15, 32, "a block quote"]]
    assert quoted_spans("My summary.\n\n> A pull quote of my own.\n") == []
    assert quoted_spans("> be me\n> airpods pro\n") == []  # greentext is his own joke format
    assert quoted_spans('RL is basically "hey this went well, let me increase the odds of '
                        'everything I did".') == []  # his imagined speech, not a quotation
    assert quoted_spans("Dear Apple I cannot keep track of my notifications.") == []
