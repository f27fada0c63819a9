"""The LLM path end to end: the real llama-index clients (OpenAI and OpenAI-compatible), with
streaming, against a scripted OpenAI-compatible server on 127.0.0.1; citations of the written
answer verified; keys never shown; clear errors."""
import re

import pytest
from click.testing import CliRunner

from llm_server import ChatServer
from simulator.answer import answer
from simulator.llm import LLMError, load_llm
from ui.cli import cli


def faithful(messages):
    """Quotes the first six words of S1 and cites it, then labels an extrapolation."""
    user = messages[-1]["content"]
    m = re.search(r'<source id="S1"[^>]*>\n(.*?)\n</source>', user, re.S)
    if not m:
        return "The sources I have don't cover this."
    words = " ".join(m.group(1).split()[:6])
    return (f'He put it this way: "{words}" [S1]. Extrapolating from his framework: start '
            "with the smallest version that runs.")


def fabricating(messages):
    return 'He said "small models are always better than big ones" [S1] and also [S42].'


def test_the_openai_compatible_client_streams_an_answer_whose_citations_verify(
        small_world, monkeypatch):
    _, world, retriever = small_world
    with ChatServer(faithful) as server:
        monkeypatch.setenv("KTP_LLM_BASE_URL", server.url)
        llm = load_llm("compat:test-model")
        tokens = []
        result = answer("How should I start building something new?", retriever,
                        world.framework, llm, on_token=tokens.append)
        request = server.requests[-1]["body"]
    assert request["stream"] is True and request["model"] == "test-model"
    assert request["messages"][0]["role"] == "system" and "<source id=\"S1\"" in \
        request["messages"][-1]["content"]
    assert len(tokens) > 3 and "".join(tokens) == result.text
    assert result.mode == "llm" and result.citations and result.all_verified


def test_the_openai_client_without_streaming_and_a_fabricated_quote_is_caught(
        small_world, monkeypatch):
    _, world, retriever = small_world
    with ChatServer(fabricating) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-key")
        monkeypatch.setenv("OPENAI_API_BASE", server.url)
        llm = load_llm("openai:gpt-4o-mini")
        result = answer("How should I start building something new?", retriever,
                        world.framework, llm)
        auth = server.requests[-1]["headers"]["Authorization"]
    assert auth == "Bearer sk-test-secret-key"  # the key goes to the API ...
    assert "sk-test-secret-key" not in repr(result.as_json())  # ... and nowhere else
    problems = {c.problem for c in result.citations}
    assert "quote not found verbatim in S1" in problems and "unknown source S42" in problems
    assert not result.all_verified


def test_ktp_ask_with_an_llm_shows_the_answer_and_its_citation_checks(small_world, monkeypatch):
    home, _, _ = small_world
    with ChatServer(faithful) as server:
        monkeypatch.setenv("KTP_HOME", str(home.root))
        monkeypatch.setenv("KTP_FRAMEWORK", str(home.root.parent / "fw"))
        monkeypatch.setenv("KTP_LLM_BASE_URL", server.url)
        out = CliRunner().invoke(cli, ["ask", "How should I start building something new?",
                                       "--llm", "compat:test-model"])
    assert out.exit_code == 0, out.output
    assert "He put it this way:" in out.output
    assert re.search(r"Citations: [1-9]\d* quotes? verified in his words · no problems",
                     out.output)


def test_errors_say_what_to_set_or_start(monkeypatch):
    monkeypatch.delenv("KTP_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(LLMError, match="set KTP_LLM_BASE_URL"):
        load_llm("compat:x")
    with pytest.raises(LLMError, match="set OPENAI_API_KEY"):
        load_llm("openai:gpt-4o-mini")
    with pytest.raises(LLMError, match="use openai:<model>"):
        load_llm("mystery:model")
    assert load_llm(None) is None
    monkeypatch.setenv("KTP_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    llm = load_llm("compat:x")
    llm.llm.max_retries = 0
    with pytest.raises(LLMError, match="cannot reach the model at http://127.0.0.1:9/v1"):
        llm.complete([{"role": "user", "content": "hi"}])
