"""All of ../shared/realdata through `ingest_paths`, with the exact counts found in it
(skipped when the folder is absent)."""
import re
from pathlib import Path

import pytest

from conftest import REALDATA, requires_realdata
from corpus.store import CorpusStore
from ingest.run import ingest_paths

pytestmark = requires_realdata


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    store = CorpusStore(tmp_path_factory.mktemp("real") / "corpus.sqlite3")
    summary = ingest_paths([REALDATA], store)
    yield store, summary
    store.close()


def test_everything_ingests_with_only_explained_skips(real):
    store, summary = real
    reasons = sorted((Path(s["path"]).name, s["reason"].split(";")[0].split(" (")[0])
                     for s in summary.skipped)
    assert reasons == [
        ("alrocar_x_2024:tweets.js", "listed in manifest.js but missing from the archive"),
        ("btd_catalog_andrej-karpathy-youtube.json",
         "JSON that holds neither tweets nor a transcript"),
        ("manifest.json", "a provenance manifest, not a source: it is read for the files it "
                          "lists"),
        ("nitter_karpathy_tweets_490__dania1011.csv:1682",
         "tweet 1819490455664685297 has no text"),
        ("nitter_karpathy_tweets_835__gourikrishna03.csv:1669",
         "tweet 1819490455664685297 has no text"),
    ]
    kinds = {k: v["documents"] for k, v in store.counts()["by_kind"].items()}
    # metadata.yml (a video's sidecar) and an X archive's README.txt are not documents.
    assert kinds == {"blog": 23, "doc": 19, "readme": 22, "thread": 10, "transcript": 20,
                     "tweet": 917}


def test_a_second_run_changes_nothing(real):
    store, _ = real
    again = ingest_paths([REALDATA], store)
    assert (again.loaded, again.replaced) == (0, 0)


def test_every_dated_post_is_one_blog_document_with_its_url_and_date(real):
    store, _ = real
    posts = sorted((REALDATA / "blog_karpathy_github_io").glob("*.markdown"))
    blogs = {d.id: d for d in store.documents("blog")}
    assert len(posts) == len(blogs) == 23
    for doc in blogs.values():
        m = re.fullmatch(r"http://karpathy\.github\.io/(\d{4})/(\d{2})/(\d{2})/([\w.-]+)/",
                         doc.url or "")
        assert m, doc.url
        assert doc.id == f"blog:{m.group(4)}" and doc.date.startswith("-".join(m.groups()[:3]))
    # Jekyll takes the URL date from the front matter, which differs from the file name here:
    assert blogs["blog:ai"].url == "http://karpathy.github.io/2015/11/14/ai/"


def test_the_nitter_csv_flags_retweets_quotes_and_replies(tmp_path):
    with CorpusStore(tmp_path / "c.sqlite3") as store:
        path = REALDATA / "tweets" / "nitter_karpathy_tweets_835__gourikrishna03.csv"
        summary = ingest_paths([path], store)
        tweets = list(store.documents("tweet"))
    assert (summary.loaded, len(summary.skipped)) == (834, 1)
    flags = {f: sum(bool(t.meta.get(f)) for t in tweets)
             for f in ("is_retweet", "is_quote", "is_reply")}
    assert flags == {"is_retweet": 92, "is_quote": 225, "is_reply": 8}
    assert all(t.author != "Andrej Karpathy" for t in tweets if t.meta.get("is_retweet"))


def test_the_rolling_caption_talk_has_no_repeated_lines(real):
    store, _ = real
    talk = store.get("yt:LCEmiRjPEtQ")
    words = talk.text.split()
    repeats = [i for i in range(len(words) - 16) if words[i:i + 8] == words[i + 8:i + 16]]
    assert repeats == []
    raw_lines = (REALDATA / "transcripts" / "yc_2025_software_is_changing_again_LCEmiRjPEtQ"
                 / "LCEmiRjPEtQ_yt_dlp_rolling_lines.md").read_text().count("\n[")
    assert len(words) < raw_lines * 6  # about half the words of the doubled caption lines
    starts = [c.start_time for c in store.chunks(talk.id)]
    assert starts == sorted(starts) and starts[0] < 60


def test_the_dwarkesh_transcript_keeps_its_segment_start_times(real):
    store, _ = real
    talk = store.get("yt:lXUZvyajciY")
    assert talk.meta["segments"] == 1806 and talk.date == "2025-10-17"
    chunks = store.chunks(talk.id)
    assert chunks[0].start_time == 48.56
    # Turns change mid-segment, so two chunks may start in the same segment's second.
    assert all(a.start_time <= b.start_time for a, b in zip(chunks, chunks[1:]))


def test_broken_caption_times_are_not_used_for_links(real):
    store, _ = real
    lex = store.get("yt:cdiD-9MMpb0")
    assert lex.meta["timed"] is False
    assert {c.start_time for c in store.chunks(lex.id)} == {None}


def test_the_archive_samples_join_long_posts_from_note_tweet(tmp_path):
    import json

    folder = REALDATA / "formats" / "twitter_archive" / "alrocar_x_2024"
    notes = json.loads((folder / "note-tweet.js").read_text().split("=", 1)[1])
    note_texts = {n["noteTweet"]["core"]["text"] for n in notes}
    with CorpusStore(tmp_path / "c.sqlite3") as store:
        ingest_paths([folder], store)
        long_posts = [t for t in store.documents("tweet") if t.meta.get("long_post")]
    assert len(long_posts) == 4
    assert all(t.text in note_texts or t.text.startswith(tuple(n[:40] for n in note_texts))
               for t in long_posts)


def test_search_finds_a_known_tweet_by_a_phrase(real):
    store, _ = real
    hits = store.search('"unreasonably excited about self-driving"', kind="tweet")
    assert [h.doc_id for h in hits] == ["tweet:1989078861800411219"]
    assert hits[0].url == "https://x.com/karpathy/status/1989078861800411219"


# ---- who said it ---------------------------------------------------------------------------
HIM = "Andrej Karpathy"


def test_the_retweets_are_never_his_words(real):
    store, _ = real
    retweets = [d for d in store.documents("tweet") if d.meta.get("is_retweet")]
    assert len(retweets) == 92 + 6  # the two Nitter scrapes, and the archive samples' RTs
    assert all(d.author != HIM for d in retweets)
    assert all(c.speaker != HIM for d in retweets for c in store.chunks(d.id))
    nitter = [d for d in retweets if "nitter" in d.origin]
    assert {d.author for d in nitter} == {"unknown"}  # the scrape does not say whose they were
    assert all("retweet" in d.authorship for d in nitter)
    samples = {d.author for d in retweets if "twitter_archive" in d.origin}
    assert samples == {"@tinybirdco", "@notasintel", "@maxweisel", "@npmjs", "@year_progress"}


def test_other_accounts_archives_are_theirs(real):
    store, _ = real
    by_origin = {}
    for d in store.documents("tweet"):
        if "twitter_archive" in d.origin and not d.meta.get("is_retweet"):
            by_origin.setdefault(d.origin.split("/")[-2 if d.origin.endswith(".js") else -1],
                                 set()).add(d.author)
    assert by_origin == {"alrocar_x_2024": {"@alrocar"},
                         "andreruffert_twitter_2022": {"@andreruffert"}}
    assert store.search("tinybird", kind="tweet", speaker="his") == []
    assert store.search("tinybird", kind="tweet")  # still searchable, as theirs


def test_his_own_posts_are_his_and_say_how_that_is_known(real):
    store, _ = real
    tweet = store.get("tweet:1989078861800411219")
    assert tweet.author == HIM and "@karpathy" in tweet.authorship
    assert store.get("blog:recipe").author == HIM
    assert "karpathy.github.io" in store.get("blog:recipe").authorship
    assert store.get("repo:karpathy/nanoGPT").author == HIM


def test_the_manifest_traces_his_repos_docs_and_pages_to_him_and_a_scrape_to_nobody(real):
    store, _ = real
    layernorm = store.get("doc:llm-c-doc-layernorm")  # llm.c's doc/layernorm/layernorm.md
    assert layernorm.author == HIM and "his repo karpathy/llm.c" in layernorm.authorship
    assert layernorm.url.startswith("https://github.com/karpathy/llm.c/blob/")
    assert layernorm.url.endswith("/doc/layernorm/layernorm.md")
    guide = store.get("doc:nntutorial")  # a page of his GitHub Pages site, by its permalink
    assert (guide.author, guide.url) == (HIM, "https://karpathy.github.io/neuralnets/")
    # its heading is the repo's name, as its README's is: the title says which file it is
    assert store.get("doc:autoresearch-program").title == "autoresearch — program.md"
    lectures = store.get("doc:nn-zero-to-hero-lectures-transcript-tiny-karpathy")
    assert lectures.author == "unknown"  # the manifest names another account's repo
    assert lectures.url is None  # where a copy was found is not where it was said


def test_files_that_are_not_his_words_are_not_attributed_to_him(real):
    store, _ = real
    assert store.get("doc:sources").author == "unknown"  # SOURCES.md describes the data
    assert not [d for d in store.documents() if d.origin.endswith(("metadata.yml", "README.txt"))]
    dwarkesh = store.get("yt:lXUZvyajciY")
    assert "It was a pleasure chatting with him" not in dwarkesh.text


def test_a_pasted_email_in_his_post_is_quoted_by_him(real):
    store, _ = real
    post = store.get("tweet:1864030016457375916")
    [(start, end, source)] = post.meta["quoted"]
    assert post.text[start:].startswith("Hi Andrej") and source == "a message addressed to him"
    assert post.text[:start].startswith("Ty to a reply")


def test_labelled_host_lines_are_never_attributed_to_him():
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
    from speaker_eval import evaluate

    for labels in ("speaker_labels.yaml", "speaker_labels_heldout.yaml"):
        for episode, result in evaluate(REALDATA, labels).items():
            counts = result["counts"]
            assert counts[("host", "him")] == 0, (labels, episode, result["wrong"][:5])
            assert sum(v for (_, o), v in counts.items() if o == "not found") == 0
