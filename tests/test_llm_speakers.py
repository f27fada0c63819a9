"""`ktp build --speakers`: an LLM labels who speaks the stretches of an interview the rules left
unidentified, through the real OpenAI-compatible client against a scripted server on
127.0.0.1; labels are kept only when consistent, and survive a re-ingest of the same file."""
import json
import re

from click.testing import CliRunner

from corpus.store import CorpusStore
from ingest.run import ingest_paths
from llm_server import ChatServer
from ui.cli import cli

HIM, HOST = "Andrej Karpathy", "Dwarkesh Patel"
# Who really says each sentence (the script plays a model that reads them correctly).
LINES = [("Today I'm talking with Andrej Karpathy.", "host"),
         ("I've been thinking about continual learning a lot lately.", "host"),
         ("People say it will simply emerge from longer training.", "host"),
         ("Andrej, do you think that will happen?", "host"),
         ("I don't think it comes for free.", "guest"),
         ("The models restart from scratch every session.", "guest"),
         ("Something like sleep is missing, a distillation of the day into the weights.",
          "guest"),
         ("My guess is it takes years of research.", "guest"),
         ("The history of my podcast guests suggests otherwise.", "host"),
         ("Several of them expected it within two years.", "host"),
         ("Why are you more pessimistic than they are?", "host"),
         ("I think I have seen more demos fail than they have.", "guest")]


def segments_file(tmp_path):
    folder = tmp_path / "ep"
    folder.mkdir()
    (folder / "transcript.json").write_text(json.dumps({
        "videoId": "lXUZvyajciY",  # a registered interview with Dwarkesh Patel
        "segments": [{"start": float(i * 4), "text": t} for i, (t, _) in enumerate(LINES)]}))
    return folder


def truthful(messages) -> str:
    prompt = messages[-1]["content"]
    truth = dict(LINES)
    labels = [{"n": int(n), "speaker": truth.get(sentence.strip(), "unsure")}
              for n, sentence in re.findall(r"^(\d+)\. (.*)$", prompt, re.M)]
    return "Here you go:\n" + json.dumps({"labels": labels})


def reckless(messages) -> str:
    """Calls everything the guest's, the host's questions and lines naming him included."""
    prompt = messages[-1]["content"]
    return json.dumps({"labels": [{"n": int(n), "speaker": "guest"}
                                  for n in re.findall(r"^(\d+)\. ", prompt, re.M)]})


def run_build(tmp_path, monkeypatch, script):
    home = tmp_path / "home"
    with CorpusStore(home / "corpus.sqlite3") as store:
        ingest_paths([segments_file(tmp_path)], store)
        before = {c.text: c.speaker for c in store.chunks("yt:lXUZvyajciY")}
    with ChatServer(script) as server:
        monkeypatch.setenv("KTP_HOME", str(home))
        monkeypatch.setenv("KTP_LLM_BASE_URL", server.url)
        out = CliRunner().invoke(cli, ["build", "--speakers", "--llm", "compat:test-model"])
    assert out.exit_code == 0, out.output
    store = CorpusStore(home / "corpus.sqlite3")
    return before, store, out.output


def speaker_of(store, sentence: str) -> str:
    return next(c.speaker for c in store.chunks("yt:lXUZvyajciY") if sentence in c.text)


def test_consistent_labels_fill_in_what_the_rules_left_unidentified(tmp_path, monkeypatch):
    before, store, output = run_build(tmp_path, monkeypatch, truthful)
    lead_in = "People say it will simply emerge from longer training."
    assert before[next(t for t in before if lead_in in t)] == "unidentified"
    assert speaker_of(store, lead_in) == HOST
    assert speaker_of(store, "The models restart from scratch every session.") == HIM
    assert speaker_of(store, "The history of my podcast guests suggests otherwise.") == HOST
    doc = store.get("yt:lXUZvyajciY")
    assert doc.meta["speaker_labels"]["by"] == "compat:test-model"
    assert "windows kept, 0 rejected" in output
    # Re-ingesting the same file keeps the labels instead of reverting to the rules.
    assert ingest_paths([tmp_path / "ep"], store).unchanged == 1
    assert speaker_of(store, lead_in) == HOST


def test_inconsistent_labels_are_rejected_and_change_nothing(tmp_path, monkeypatch):
    before, store, output = run_build(tmp_path, monkeypatch, reckless)
    after = {c.text: c.speaker for c in store.chunks("yt:lXUZvyajciY")}
    assert after == before
    assert "0 sentences labelled" in output and "rejected" in output
    assert "speaker_labels" not in store.get("yt:lXUZvyajciY").meta


def test_a_reply_that_is_not_the_json_asked_for_is_rejected(tmp_path, monkeypatch):
    _, store, output = run_build(tmp_path, monkeypatch, lambda m: "Sure! The host speaks first.")
    assert "the reply is not the JSON asked for" in output


def test_speakers_without_an_llm_says_how_to_give_one(tmp_path, monkeypatch):
    monkeypatch.delenv("KTP_LLM", raising=False)
    monkeypatch.setenv("KTP_HOME", str(tmp_path / "home"))
    out = CliRunner().invoke(cli, ["build", "--speakers"])
    assert out.exit_code == 2 and "--llm PROVIDER:MODEL" in out.output
