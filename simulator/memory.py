"""The partner's memory: conversations kept apart from the corpus (their own SQLite file), the
history of a chat compacted to a budget, and "sleep": consolidating past conversations into
short notes about the user, which the prompt builder injects.

    memory = Memory(home.root / "memory.sqlite3")
    cid = memory.start()
    memory.add_turn(cid, "user", "Why small models?")
    memory.sleep(llm=None)                   # rules; with an LLM, its summary
    memory.notes()                           # [Note(id, kind, text, ...)]
    memory.forget(note_id)

Notes are of three kinds: `topic` (what the user returns to), `position` (what they hold), and
`question` (what stayed open: asked but not covered by his sources). Each note has a key (the
topic, or the normalised words of a position or question), so sleeping again updates a note in
place (its count) instead of adding a near copy. Topics are framework items the questions bring
in (when sleep is given `topics_of`) or phrases that recur across questions, never stop words
or generic words; an uncovered question becomes an open question only when it recurs. Sleep
runs in one transaction. The user can see, edit and forget every note; a forgotten note is
deleted, not hidden. The file carries a schema version, like the corpus store.
"""
from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from corpus.errors import KtpError
from corpus.query import STOPWORDS
from corpus.store import Transaction, migrate

# Each migration brings the schema from version i to i + 1. Append, never edit a released one.
MIGRATIONS = [
    """
    CREATE TABLE IF NOT EXISTS conversations (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS turns (
        id INTEGER PRIMARY KEY, conversation_id INTEGER NOT NULL REFERENCES conversations(id)
        ON DELETE CASCADE, role TEXT NOT NULL, content TEXT NOT NULL, covered INTEGER,
        created_at TEXT NOT NULL, slept INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS notes (
        id INTEGER PRIMARY KEY, kind TEXT NOT NULL, text TEXT NOT NULL UNIQUE,
        origin TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
    """,
    """
    ALTER TABLE notes ADD COLUMN key TEXT;
    ALTER TABLE notes ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
    CREATE UNIQUE INDEX notes_key ON notes(kind, key);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
GENERIC = {"good", "best", "better", "thing", "things", "think", "know", "question", "answer",
           "really", "about", "would", "could", "should", "does", "make", "like", "want",
           "need", "work", "works", "take", "give", "example", "explain", "mean", "someone",
           "people", "something", "way", "ways", "use", "using", "kind", "lot", "much", "many",
           "also", "ever", "recipe", "tips", "help", "start", "get", "new", "say", "said",
           "karpathy", "andrej", "his", "view", "views", "opinion", "idea", "ideas"}
NOTE_KINDS = ("topic", "position", "question")
MAX_NOTES = 24
NOTES_BUDGET = 300  # tokens of notes in a prompt (≈ 4 characters each)
HISTORY_BUDGET = 1200  # tokens of past turns in a prompt
_POSITION = re.compile(r"\b(I think|I believe|I'm convinced|I am convinced|in my view|I disagree|"
                       r"I agree|my view is|I suspect|I doubt)\b[^.?!]*[.?!]?", re.I)


class MemoryFileError(KtpError):
    """The memory file cannot be used by this version of ktp."""


@dataclass(frozen=True)
class Note:
    id: int
    kind: str
    text: str
    origin: str  # "rules", "llm" or "user"
    updated_at: str


class Memory:
    def __init__(self, path: Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    def _migrate(self) -> None:
        # A file from before versions were recorded is at 0: the first migration only creates
        # what is missing, so it applies to it as well.
        migrate(self.db, MIGRATIONS, lambda version: MemoryFileError(
            f"the memory file was written by a newer ktp (schema {version})",
            fix="upgrade ktp"))

    def close(self) -> None:
        self.db.close()

    # ---- conversations ------------------------------------------------------------------------
    def start(self) -> int:
        return self.db.execute("INSERT INTO conversations (started_at) VALUES (?)",
                               (_now(),)).lastrowid

    def add_turn(self, conversation_id: int, role: str, content: str,
                 covered: bool | None = None) -> None:
        self.db.execute("INSERT INTO turns (conversation_id, role, content, covered, created_at)"
                        " VALUES (?, ?, ?, ?, ?)", (conversation_id, role, content,
                                                    None if covered is None else int(covered),
                                                    _now()))

    def history(self, conversation_id: int) -> list[dict]:
        rows = self.db.execute("SELECT role, content FROM turns WHERE conversation_id = ? "
                               "ORDER BY id", (conversation_id,))
        return [{"role": r, "content": c} for r, c in rows]

    def conversations(self) -> list[tuple[int, str, int]]:
        return self.db.execute("SELECT c.id, c.started_at, COUNT(t.id) FROM conversations c "
                               "LEFT JOIN turns t ON t.conversation_id = c.id GROUP BY c.id "
                               "ORDER BY c.id").fetchall()

    # ---- notes --------------------------------------------------------------------------------
    def notes(self) -> list[Note]:
        rows = self.db.execute("SELECT id, kind, text, origin, updated_at FROM notes ORDER BY "
                               "CASE kind WHEN 'topic' THEN 0 WHEN 'position' THEN 1 ELSE 2 END,"
                               " id")
        return [Note(*r) for r in rows]

    def add_note(self, kind: str, text: str, origin: str = "user", key: str | None = None,
                 count: int = 1) -> int | None:
        """Add a note, or update the note with the same key in place (text and count; a note
        the user edited keeps the user's words). Returns the id of a new note, else None."""
        if kind not in NOTE_KINDS:
            raise ValueError(f"a note is one of {', '.join(NOTE_KINDS)}, not {kind!r}")
        text = " ".join(text.split())
        key = key or note_key(text)
        old = self.db.execute("SELECT id, origin FROM notes WHERE kind = ? AND key = ?",
                              (kind, key)).fetchone()
        if old:
            self.db.execute("UPDATE notes SET count = ?, updated_at = ?" +
                            (", text = ?" if old[1] != "user" else "") + " WHERE id = ?",
                            (count, _now(), *((text,) if old[1] != "user" else ()), old[0]))
            return None
        cur = self.db.execute("INSERT OR IGNORE INTO notes (kind, text, origin, created_at, "
                              "updated_at, key, count) VALUES (?, ?, ?, ?, ?, ?, ?)",
                              (kind, text, origin, _now(), _now(), key, count))
        return cur.lastrowid if cur.rowcount else None

    def edit(self, note_id: int, text: str) -> bool:
        return self.db.execute("UPDATE notes SET text = ?, origin = 'user', updated_at = ? "
                               "WHERE id = ?", (" ".join(text.split()), _now(),
                                                note_id)).rowcount > 0

    def forget(self, note_id: int | None = None) -> int:
        """Delete one note, or every note (None). Returns how many were deleted."""
        if note_id is None:
            return self.db.execute("DELETE FROM notes").rowcount
        return self.db.execute("DELETE FROM notes WHERE id = ?", (note_id,)).rowcount

    def for_prompt(self, budget: int = NOTES_BUDGET) -> list[str]:
        """The notes as prompt lines, most useful kinds first, within the token budget."""
        lines, used = [], 0
        for note in self.notes():
            line = f"{note.kind}: {note.text}"
            if used + len(line) // 4 + 1 > budget:
                break
            lines.append(line)
            used += len(line) // 4 + 1
        return lines

    # ---- sleep --------------------------------------------------------------------------------
    def sleep(self, llm=None, topics_of=None) -> dict:
        """Consolidate the turns not yet slept on into notes, in one transaction; returns
        counts. `topics_of(question) -> [framework item titles]` names the topics of a
        question (else recurring phrases do)."""
        turns = self.db.execute("SELECT id, role, content, covered FROM turns WHERE slept = 0 "
                                "ORDER BY id").fetchall()
        if not turns:
            return {"turns": 0, "added": 0, "updated": 0, "by": "nothing to do"}
        user = [(content, covered) for _, role, content, covered in turns if role == "user"]
        notes, by = None, "rules"
        if llm is not None:
            notes, by = _llm_notes(llm, user, self.notes()), "llm"
            notes = [(kind, text, None, 1) for kind, text in notes] if notes else None
        if notes is None:
            notes, by = rule_notes(user, self.all_user_turns(), topics_of), "rules"
        with Transaction(self.db):
            added = sum(self.add_note(kind, text, by, key, count) is not None
                        for kind, text, key, count in notes)
            self.db.execute(f"UPDATE turns SET slept = 1 WHERE id IN "
                            f"({','.join(str(t[0]) for t in turns)})")
            self._trim()
        return {"turns": len(turns), "added": added, "updated": len(notes) - added, "by": by}

    def all_user_turns(self) -> list[tuple[str, int | None]]:
        return [(r[0], r[1]) for r in self.db.execute(
            "SELECT content, covered FROM turns WHERE role = 'user'")]

    def _trim(self) -> None:
        """Keep the newest MAX_NOTES notes; the user's own edits are never dropped."""
        self.db.execute("DELETE FROM notes WHERE origin != 'user' AND id NOT IN (SELECT id FROM "
                        "notes ORDER BY updated_at DESC, id DESC LIMIT ?)", (MAX_NOTES,))


def rule_notes(new_questions: Sequence[tuple[str, int | None]],
               all_questions: Sequence[tuple[str, int | None]],
               topics_of=None) -> list[tuple[str, str, str, int]]:
    """Notes extracted without a model, as (kind, text, key, count): topics the user returns
    to in two or more questions (framework items, else recurring phrases), positions they
    state ("I think …"), and questions his sources did not cover that the user asked more than
    once."""
    covered = [q for q, c in all_questions if c != 0]
    counts: Counter = Counter()
    for question in covered:  # framework items the questions bring in, and recurring phrases
        counts.update(set(topics_of(question) if topics_of else ()) | set(_phrases(question)))
    recurring = [(t, n) for t, n in counts.most_common() if n >= 2]
    pairs = [(t, n) for t, n in recurring if " " in t]
    topics = [(t, n) for t, n in recurring  # a pair is the more specific name for its words
              if " " in t or not any(t in p.split() and m == n for p, m in pairs)]
    notes = [("topic", f"returns to {topic} (in {n} questions)", f"topic:{topic.lower()}", n)
             for topic, n in topics[:6]]
    for text, _ in new_questions:
        notes += [("position", m.group(0).strip(), note_key(m.group(0)), 1)
                  for m in _POSITION.finditer(text)]
    open_questions = Counter(note_key(q) for q, c in all_questions if c == 0)
    for text, c in new_questions:
        if c == 0 and open_questions[note_key(text)] >= 2:
            notes.append(("question", f"asked, not covered by his sources: {text.strip()}",
                          note_key(text), open_questions[note_key(text)]))
    return list({(n[0], n[2]): n for n in notes}.values())  # one note per key


def note_key(text: str) -> str:
    """The content of a text, for telling near copies apart: its distinct words, sorted."""
    return " ".join(sorted({w[:6] for w in _words(text)}))


def _phrases(question: str) -> list[str]:
    """Candidate topics of a question: its content words and adjacent pairs of them."""
    words = [w for w in _words(question) if w not in GENERIC]
    pairs = [f"{a} {b}" for a, b in zip(words, words[1:])]
    return words + pairs


def compact_history(history: Sequence[dict], budget: int = HISTORY_BUDGET) -> list[dict]:
    """The latest turns verbatim within the budget; older user questions folded into one line."""
    kept, used = [], 0
    for turn in reversed(history):
        cost = len(turn["content"]) // 4 + 1
        if used + cost > budget:
            break
        kept.insert(0, turn)
        used += cost
    dropped = [t["content"] for t in history[:len(history) - len(kept)] if t["role"] == "user"]
    if dropped:
        summary = "; ".join(q[:80] for q in dropped[-6:])
        kept.insert(0, {"role": "user", "content": f"(Earlier in this conversation I asked: "
                                                   f"{summary})"})
        kept.insert(1, {"role": "assistant", "content": "(Noted.)"})
    return kept


def _llm_notes(llm, questions, existing: Sequence[Note]) -> list[tuple[str, str]] | None:
    """Notes written by the model, one JSON object a line; None if it did not comply."""
    prompt = ("Here are questions a user asked a research assistant, and what you already know "
              "about them. Write short notes about the USER (not about the subject): topics "
              "they return to, positions they hold, questions still open. One JSON object per "
              'line: {"kind": "topic"|"position"|"question", "text": "..."}. At most 8 lines.'
              "\n\nKnown:\n" + "\n".join(f"- {n.kind}: {n.text}" for n in existing)
              + "\n\nQuestions:\n" + "\n".join(f"- {q}" for q, _ in questions))
    reply = llm.complete([{"role": "user", "content": prompt}])
    notes = []
    for line in reply.splitlines():
        try:
            item = json.loads(line.strip().strip(","))
        except ValueError:
            continue
        if isinstance(item, dict) and item.get("kind") in NOTE_KINDS and item.get("text"):
            notes.append((item["kind"], str(item["text"])[:200]))
    return notes or None


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z][a-z0-9-]+", text.lower())
            if w not in STOPWORDS and len(w) > 3]


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
