"""A conversation with the partner: answers one question after another, keeps the thread, and
records the turns. `ktp ask`, `ktp chat` and the Ask page all use it.

    session = Session(retriever, framework, llm=None, memory=memory)
    first = session.ask("What does he think about reinforcement learning?")
    again = session.ask("Can you give an example of that from his tweets?")
    again.resolved   # "example reinforcement learning", searched in his tweets only

A follow-up that leans on the turn before ("that", "it", "what about…", "an example?") is
resolved for retrieval: the subject of the previous question is carried into it, and a source
it names ("from his tweets", "in his talks") becomes a filter. With an LLM, the model rewrites
the follow-up as a standalone question instead; either way the rewrite is shown. One session is
one conversation in the memory store, created with its first turn.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from simulator.answer import Answer, answer
from simulator.memory import compact_history
from corpus.textnorm import content_stems

_LEANS_BACK = re.compile(
    r"\b(?:that|this|it|its|those|these|them|they|he|him|his|there|then|such)\b|"
    r"^(?:and|but|so|also|what about|how about|why|why not|how come|more|say more|"
    r"tell me more|go on|can you|could you|give me|any|example|for example)\b", re.I)
_GENERIC = {"exampl", "tweets", "tweet", "more", "explai", "detail", "give", "mean", "talk",
            "talks", "say", "said", "think", "view", "about", "also", "again", "please",
            "source", "elabor", "post", "posts", "blog", "lectur", "podcas", "readme", "paper",
            "papers"}
_SOURCE_FILTER = [
    (re.compile(r"\b(?:from|in|on) (?:his )?(?:tweets?|twitter|x)\b", re.I), "tweet"),
    (re.compile(r"\b(?:from|in|on) (?:his )?(?:blog|blog posts?|posts)\b", re.I), "blog"),
    (re.compile(r"\b(?:from|in) (?:his )?(?:talks?|lectures?|videos?|podcasts?|interviews?)\b",
                re.I), "transcript"),
    (re.compile(r"\b(?:from|in) (?:his )?(?:readmes?|repos?)\b", re.I), "readme"),
    (re.compile(r"\b(?:from|in) (?:his )?(?:papers?|publications?)\b", re.I), "paper"),
]
REWRITE = ("Rewrite the user's last question so that it stands on its own, naming what "
           "\"that\", \"it\" or an omitted subject refers to in the conversation. Answer with "
           "the rewritten question only.")


@dataclass
class Turn:
    question: str
    resolved: str  # what was searched for
    result: Answer


@dataclass
class Session:
    retriever: object
    framework: object
    llm: object = None
    memory: object = None  # simulator.memory.Memory, or None to record nothing
    k: int = 8
    turns: list[Turn] = field(default_factory=list)
    conversation: int | None = None

    def ask(self, question: str, on_token: Callable[[str], None] | None = None) -> Answer:
        question = " ".join(question.split())
        if not question:
            raise ValueError("ask a question (it was empty)")
        resolved, filters = self.resolve(question)
        history = [m for t in self.turns for m in (
            {"role": "user", "content": t.question},
            {"role": "assistant", "content": t.result.text})]
        result = answer(question, self.retriever, self.framework, self.llm, k=self.k,
                        memory_notes=self.memory.for_prompt() if self.memory else (),
                        history=compact_history(history), on_token=on_token,
                        search_for=resolved if resolved != question else None, **filters)
        self.turns.append(Turn(question, resolved, result))
        self._record(question, result)
        return result

    def resolve(self, question: str) -> tuple[str, dict]:
        """(what to search for, filters) for a question in the light of the turns before it."""
        filters, stripped = {}, question
        for pattern, kind in _SOURCE_FILTER:
            if pattern.search(question):
                filters["kind"] = kind
                stripped = pattern.sub(" ", stripped)
        if not self.turns or not is_follow_up(stripped):
            return question if not filters else " ".join(stripped.split()), filters
        if self.llm is not None:
            rewritten = self._rewrite(question)
            if rewritten:
                return rewritten, filters
        subject = " ".join(w for w in _subject_words(self.turns[-1].resolved)
                           if w.lower() not in stripped.lower())
        return " ".join(f"{stripped.rstrip(' ?')} {subject}".split()), filters

    def _rewrite(self, question: str) -> str | None:
        messages = [{"role": "system", "content": REWRITE}]
        for t in self.turns[-3:]:
            messages += [{"role": "user", "content": t.question},
                         {"role": "assistant", "content": t.result.text[:600]}]
        messages.append({"role": "user", "content": question})
        try:
            text = self.llm.complete(messages, None).strip().strip('"')
        except Exception:  # noqa: BLE001 (a failed rewrite falls back to the rules)
            return None
        return text if 3 <= len(text.split()) <= 60 else None

    def _record(self, question: str, result: Answer) -> None:
        if self.memory is None:
            return
        if self.conversation is None:
            self.conversation = self.memory.start()
        self.memory.add_turn(self.conversation, "user", question, result.covered)
        self.memory.add_turn(self.conversation, "assistant", result.text)


def is_follow_up(question: str) -> bool:
    """Short, or leaning on what came before, and with little subject of its own."""
    own = content_stems(question) - _GENERIC
    return len(question.split()) <= 14 and (bool(_LEANS_BACK.search(question)) and len(own) <= 3
                                            or len(own) <= 1)


def _subject_words(text: str) -> list[str]:
    """The words that carry a question's subject (order kept, no duplicates). Short words
    are left out, but not acronyms: "RL", "AI" are often the whole subject."""
    from corpus.query import STOPWORDS

    words = [w for w in re.findall(r"[A-Za-z0-9][\w.+-]*", text)
             if w.lower() not in STOPWORDS and (len(w) > 2 or w.isupper() and len(w) == 2)
             and w.lower()[:6] not in _GENERIC]
    return list(dict.fromkeys(words))
