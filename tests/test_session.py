"""A conversation keeps the thread: follow-ups are resolved against the turn before, a source
named in a follow-up becomes a filter, and one session is one conversation in the memory."""
from simulator.memory import Memory
from simulator.session import Session, is_follow_up


def test_an_elliptical_follow_up_carries_the_subject_and_the_source_it_names(small_world,
                                                                             tmp_path):
    _, world, retriever = small_world
    memory = Memory(tmp_path / "m.sqlite3")
    session = Session(retriever, world.framework, memory=memory)
    first = session.ask("How should I automate what can be checked?")
    assert first.resolved is None
    follow = session.ask("Can you give an example of that from his tweets?")
    assert "automate" in follow.resolved and "checked" in follow.resolved
    assert follow.evidence and {e.kind for e in follow.evidence} == {"tweet"}
    assert all(e.his_words for e in follow.evidence)
    assert len(memory.conversations()) == 1 and memory.conversations()[0][2] == 4


def test_a_question_with_its_own_subject_is_not_rewritten(small_world):
    _, world, retriever = small_world
    session = Session(retriever, world.framework)
    session.ask("How should I start building something new?")
    again = session.ask("What does he think about leek and potato soup recipes?")
    assert again.resolved is None


def test_an_acronym_is_the_subject_carried_into_a_follow_up(small_world):
    _, world, retriever = small_world
    session = Session(retriever, world.framework)
    session.ask("Why does he think RL is a poor way to learn?")
    resolved, filters = session.resolve("Can you give an example of that from his tweets?")
    assert resolved.split()[-4:] == ["RL", "poor", "way", "learn"] and filters == {"kind": "tweet"}


def test_follow_up_detection():
    assert is_follow_up("Can you give an example of that?")
    assert is_follow_up("Why?")
    assert is_follow_up("And what about agents?")
    assert not is_follow_up("What does he think about tokenizers and byte pair encoding?")


def test_with_an_llm_the_model_rewrites_the_follow_up_and_the_rewrite_is_used(small_world,
                                                                             monkeypatch):
    from llm_server import ChatServer
    from simulator.llm import load_llm

    def script(messages):
        if messages[0]["content"].startswith("Rewrite the user's last question"):
            return "What example of automating checkable work does he give in his tweets?"
        return "An answer [S1]."

    _, world, retriever = small_world
    with ChatServer(script) as server:
        monkeypatch.setenv("KTP_LLM_BASE_URL", server.url)
        session = Session(retriever, world.framework, llm=load_llm("compat:test-model"))
        session.ask("How should I automate what can be checked?")
        follow = session.ask("Can you give an example of that?")
        rewrite_requests = [r for r in server.requests
                            if r["body"]["messages"][0]["content"].startswith("Rewrite")]
    assert follow.resolved == ("What example of automating checkable work does he give in his "
                               "tweets?")
    assert len(rewrite_requests) == 1  # the first question needed none
    assert rewrite_requests[0]["body"]["messages"][-1]["content"] == \
        "Can you give an example of that?"
