"""Talks through yt-dlp, offline: its real generic extractor reads an HTML5 <video> page with a
subtitle <track> from a local server. And `ktp ingest --registry` against local sources."""
import json

import pytest
from click.testing import CliRunner

from conftest import TINY_FRAMEWORK, write_files
from corpus.store import CorpusStore
from ingest.errors import SkipItem
from ingest.run import ingest_paths
from ingest.youtube import _pick_track, read_video_url
from ui.cli import cli
from web_server import SiteServer

VTT = ("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nfirst we look at the data\n\n"
       "00:01:04.000 --> 00:01:06.000\nthen we train a tiny model\n")


def talk_site() -> SiteServer:
    web = SiteServer({})
    web.routes["/talk.html"] = ("text/html", (
        f'<html><head><title>A tiny talk</title></head><body><video controls>'
        f'<source src="{web.url}/talk.mp4" type="video/mp4">'
        f'<track kind="subtitles" src="{web.url}/talk.en.vtt" srclang="en" label="English">'
        f'</video></body></html>'))
    web.routes["/talk.en.vtt"] = ("text/vtt", VTT)
    web.routes["/silent.html"] = ("text/html", (
        f'<html><body><video><source src="{web.url}/talk.mp4" type="video/mp4"></video>'
        '</body></html>'))
    return web


def test_subtitles_come_through_yt_dlp_and_the_media_never_does(tmp_path):
    with talk_site() as web:
        [item] = list(read_video_url(web.url + "/talk.html"))
        assert web.hits["/talk.mp4"] == 0
    doc = item.document
    assert doc.kind == "transcript" and doc.title.startswith("A tiny talk")
    assert doc.text == "first we look at the data then we train a tiny model"
    assert item.chunks[0].start_time == 1.0 and doc.meta["captions"] == "uploader"


def test_a_video_without_subtitles_and_an_unreachable_site_are_reasons(tmp_path):
    with talk_site() as web, CorpusStore(tmp_path / "c.sqlite3") as store:
        summary = ingest_paths([web.url + "/silent.html"], store)
    assert summary.loaded == 0
    # the generic page is read by the web reader, so check the yt-dlp reader directly too
    with talk_site() as web:
        [skip] = list(read_video_url(web.url + "/silent.html"))
    assert "no English subtitles" in skip.reason
    with pytest.raises(SkipItem, match="cannot reach|Unable to download|Connection refused"):
        list(read_video_url("http://127.0.0.1:9/talk.html", timeout=2))


def test_uploader_subtitles_win_over_automatic_and_vtt_over_json3():
    info = {"subtitles": {"en": [{"ext": "json3", "url": "j"}, {"ext": "vtt", "url": "v"}]},
            "automatic_captions": {"en": [{"ext": "vtt", "url": "auto"}]}}
    assert _pick_track(info) == ({"ext": "vtt", "url": "v"}, False)
    assert _pick_track({"automatic_captions": info["automatic_captions"]})[1] is True
    assert _pick_track({"subtitles": {"fr": [{"ext": "vtt", "url": "f"}]}}) == (None, False)


def test_ingest_registry_fetches_known_sources_and_reports_the_rest(tmp_path, monkeypatch):
    with SiteServer({}) as web:
        web.routes["/2020/01/01/small/"] = ("text/html", (
            "<html><head><title>Small post</title></head><body><article><h1>Small post</h1>"
            "<p>I always begin with the smallest thing that works.</p></article></body></html>"))
        files = dict(TINY_FRAMEWORK)
        files["sources.yaml"] = f"""
            sources:
              - id: blog:small
                kind: blog
                title: Small post
                date: 2020-01-01
                url: {web.url}/2020/01/01/small/
              - id: blog:gone
                kind: blog
                title: A post on a host that is down
                url: http://127.0.0.1:9/2020/02/02/gone/
            """
        monkeypatch.setenv("KTP_FRAMEWORK", str(write_files(tmp_path / "fw", files)))
        result = CliRunner().invoke(cli, ["ingest", "--registry", "--delay", "0", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["loaded"] == 1 and data["by_kind"] == {"blog": 1}
    [skip] = data["skipped"]
    assert "cannot connect" in skip["reason"] and "\n" not in skip["reason"]


def test_ingest_with_nothing_to_do_says_what_to_give():
    result = CliRunner().invoke(cli, ["ingest"])
    assert result.exit_code == 2 and "--registry" in result.output
