"""Every quote in the packaged framework is his, verbatim, in the real material it cites.

Runs over ../shared/realdata (skipped when absent). The sources are read the way a reader would
see them: CSV fields parsed, JSON strings decoded, HTML entities decoded, caption timestamps
and rolling-caption repeats removed.
"""
import csv
import html
import json
import re

import pytest

from conftest import REALDATA, requires_realdata
from corpus.framework_loader import load_framework
from corpus.ids import doc_id_for_url
from corpus.textnorm import normalize
from ingest.captions import merge_rolling_lines

pytestmark = requires_realdata
_STAMP = re.compile(r"^\s*\[\d+:\d{2}(?::\d{2})?\]\s*", re.M)


def readable_texts():
    """Every realdata file as plain readable text (several views for the tricky formats)."""
    csv.field_size_limit(1 << 30)
    for path in sorted(REALDATA.rglob("*")):
        if not path.is_file():
            continue
        raw = path.read_text(encoding="utf-8", errors="replace")
        yield html.unescape(raw)
        if path.suffix == ".csv":
            for row in csv.DictReader(raw.splitlines(keepends=True)):
                yield html.unescape(row.get("text") or "")
        elif path.suffix == ".json":
            yield from _json_strings(json.loads(raw))
        if _STAMP.search(raw):
            lines = [html.unescape(_STAMP.sub("", line)).strip() for line in raw.splitlines()]
            yield merge_rolling_lines(lines)
            yield " ".join(line for line in lines if line)


def _json_strings(node):
    if isinstance(node, str):
        yield html.unescape(node)
    elif isinstance(node, dict):
        for v in node.values():
            yield from _json_strings(v)
    elif isinstance(node, list):
        texts = [n.get("text") for n in node if isinstance(n, dict) and "text" in n]
        if texts and all(isinstance(t, str) for t in texts):
            yield html.unescape(" ".join(texts))  # timed segments read as one text
        for v in node:
            yield from _json_strings(v)


@pytest.fixture(scope="module")
def haystack() -> str:
    return "\n".join(normalize(t) for t in readable_texts())


def test_every_framework_quote_is_verbatim_in_the_real_material(haystack):
    missing = [f"{q.id}: {q.text!r}" for q in load_framework().quotes()
               if normalize(q.text) not in haystack]
    assert missing == []


def test_quotes_that_cite_a_tweet_quote_that_very_tweet():
    csv.field_size_limit(1 << 30)
    tweets = {}
    for path in (REALDATA / "tweets").glob("*.csv"):
        with path.open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                tweets[f"tweet:{row['tweet_id']}"] = (html.unescape(row["text"]),
                                                      row.get("is_retweet") == "True")
    for path in (REALDATA / "tweets" / "btd_threads_md").glob("*.md"):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"status/(\d+)", text):
            tweets.setdefault(f"tweet:{m.group(1)}", (text, False))
    checked = 0
    for quote in load_framework().quotes():
        doc_id = doc_id_for_url(quote.source.url)
        if doc_id in tweets:
            text, retweet = tweets[doc_id]
            assert not retweet, f"{quote.id} quotes a retweet, which is not his words"
            assert normalize(quote.text) in normalize(text), quote.id
            checked += 1
    assert checked >= 20
