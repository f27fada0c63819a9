"""The partner's memory: conversations apart from the corpus, compacted history, sleep by rules
and by an LLM (scripted server), notes the user can edit and forget, and notes in the prompt."""
import json

from click.testing import CliRunner

from llm_server import ChatServer
from simulator.llm import load_llm
from simulator.memory import Memory, compact_history
from ui.cli import cli


def test_conversations_persist_apart_from_the_corpus(tmp_path):
    memory = Memory(tmp_path / "memory.sqlite3")
    cid = memory.start()
    memory.add_turn(cid, "user", "Why small models?", covered=True)
    memory.add_turn(cid, "assistant", "Because …")
    memory.close()
    again = Memory(tmp_path / "memory.sqlite3")
    assert again.history(cid) == [{"role": "user", "content": "Why small models?"},
                                  {"role": "assistant", "content": "Because …"}]
    assert not (tmp_path / "corpus.sqlite3").exists()


def test_long_history_is_compacted_to_the_budget():
    history = [{"role": r, "content": f"{r} turn {i} " + "word " * 60}
               for i in range(10) for r in ("user", "assistant")]
    compact = compact_history(history, budget=200)
    assert sum(len(t["content"]) // 4 + 1 for t in compact[2:]) <= 200
    assert compact[0]["content"].startswith("(Earlier in this conversation I asked: user turn")
    assert compact[-1] == history[-1]


def test_sleep_by_rules_finds_topics_positions_and_open_questions(tmp_path):
    memory = Memory(tmp_path / "m.sqlite3")
    for question, covered in [("How do tokenizers work in practice?", True),
                              ("I think tokenizers are the root of many bugs. Do you agree?", True),
                              ("What would he say about quantum gravity?", False)]:
        memory.add_turn(memory.start(), "user", question, covered)
    assert memory.sleep() == {"turns": 3, "added": 2, "updated": 0, "by": "rules"}
    notes = {(n.kind, n.text) for n in memory.notes()}
    assert notes == {("topic", "returns to tokenizers (in 2 questions)"),
                     ("position", "I think tokenizers are the root of many bugs.")}
    assert memory.sleep()["turns"] == 0  # nothing new to consolidate


def test_sleep_over_repeated_topics_keeps_one_specific_note_per_topic(tmp_path):
    """The measured failure: "returns to good", "returns to recipe", and three notes for one
    topic. Now: no generic words, one note per topic updated in place, off-topic questions
    kept as open questions only when they recur."""
    memory = Memory(tmp_path / "m.sqlite3")
    asked = [("What is a good recipe for training neural nets?", True),
             ("Why does the training recipe start with the data?", True),
             ("What is a good sourdough starter feeding schedule?", False)]
    for question, covered in asked:
        memory.add_turn(memory.start(), "user", question, covered)
    memory.sleep()
    assert [n.text for n in memory.notes()] == ["returns to training (in 2 questions)"]
    for question, covered in [("Is the training loop the place to start debugging?", True),
                              ("What is a good sourdough starter feeding schedule?", False)]:
        memory.add_turn(memory.start(), "user", question, covered)
    result = memory.sleep()
    assert result["added"] == 1  # the open question, now that it recurred
    texts = [n.text for n in memory.notes()]
    assert texts == ["returns to training (in 3 questions)",
                     "asked, not covered by his sources: What is a good sourdough starter "
                     "feeding schedule?"]
    assert not any("good" in t or "recipe" in t.split("(")[0].split() for t in texts[:1])


def test_topics_can_be_framework_items(tmp_path):
    memory = Memory(tmp_path / "m.sqlite3")
    for question in ("How should I debug my training?", "Why look at the data first?"):
        memory.add_turn(memory.start(), "user", question, True)
    memory.sleep(topics_of=lambda q: ["Become one with the data"])
    assert [n.text for n in memory.notes()] == [
        "returns to Become one with the data (in 2 questions)"]


def test_the_memory_file_has_a_schema_version_and_old_files_are_migrated(tmp_path):
    import sqlite3

    from simulator.memory import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])  # a file from before versions were recorded
    db.execute("INSERT INTO notes (kind, text, origin, created_at, updated_at) VALUES "
               "('topic', 'returns to agents', 'rules', 'x', 'x')")
    db.commit()
    db.close()
    memory = Memory(path)
    assert memory.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert [n.text for n in memory.notes()] == ["returns to agents"]


def test_notes_can_be_edited_and_forgotten(tmp_path):
    memory = Memory(tmp_path / "m.sqlite3")
    first = memory.add_note("topic", "returns to agents")
    second = memory.add_note("position", "prefers small models")
    assert memory.edit(first, "returns to coding agents")
    assert [(n.text, n.origin) for n in memory.notes()][0] == ("returns to coding agents", "user")
    assert memory.forget(second) == 1 and len(memory.notes()) == 1
    assert memory.forget() == 1 and memory.notes() == []
    assert memory.for_prompt() == []


def test_the_prompt_gets_notes_within_a_budget(tmp_path):
    memory = Memory(tmp_path / "m.sqlite3")
    for i in range(40):
        memory.add_note("topic", f"returns to subject number {i} " + "x" * 40)
    lines = memory.for_prompt(budget=100)
    assert 0 < len(lines) < 40 and sum(len(line) // 4 + 1 for line in lines) <= 100


def test_sleep_with_an_llm_writes_notes_in_its_words(tmp_path, monkeypatch):
    def notes(messages):
        assert "Questions:" in messages[-1]["content"]
        return ('{"kind": "topic", "text": "keeps coming back to tokenization"}\n'
                'not json at all\n{"kind": "question", "text": "how BPE handles emoji"}')

    memory = Memory(tmp_path / "m.sqlite3")
    memory.add_turn(memory.start(), "user", "How does BPE treat emoji?", True)
    with ChatServer(notes) as server:
        monkeypatch.setenv("KTP_LLM_BASE_URL", server.url)
        result = memory.sleep(load_llm("compat:notes-model"))
    assert result == {"turns": 1, "added": 2, "updated": 0, "by": "llm"}
    assert [(n.kind, n.origin) for n in memory.notes()] == [("topic", "llm"), ("question", "llm")]


def test_chat_then_sleep_then_memory_in_the_cli(small_world, monkeypatch):
    home, _, _ = small_world
    monkeypatch.setenv("KTP_HOME", str(home.root))
    monkeypatch.setenv("KTP_FRAMEWORK", str(home.root.parent / "fw"))
    monkeypatch.delenv("KTP_LLM", raising=False)
    runner = CliRunner()
    chat = runner.invoke(cli, ["chat"], input="How do I start building a small thing?\n"
                                             "I think building small things is underrated.\n\n")
    assert chat.exit_code == 0, chat.output
    assert chat.output.count("Framework reading") == 2 and "Saved this conversation (2" in \
        chat.output
    assert "slept on" in runner.invoke(cli, ["sleep"]).output
    listed = json.loads(runner.invoke(cli, ["memory", "--json"]).output)
    position = next(n for n in listed if n["kind"] == "position")
    assert position["text"] == "I think building small things is underrated."
    asked = json.loads(runner.invoke(cli, ["ask", "How to start small?", "--json"]).output)
    assert "What you remember about this user" in asked["prompt"]
    assert "underrated" in asked["prompt"]
    assert runner.invoke(cli, ["memory", "forget", "all"]).output.startswith("forgot ")
    asked = json.loads(runner.invoke(cli, ["ask", "How to start small?", "--json"]).output)
    assert "What you remember about this user" not in asked["prompt"]
