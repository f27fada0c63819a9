"""Who speaks each stretch of a transcript: turns as character spans of its text.

    roster = Roster(subject="Andrej Karpathy", others=("Dwarkesh Patel",))
    turns = split_turns(text, roster, labels)   # [[start, end, speaker], ...]

In order of trust:
1. Speaker labels the source gives (`Name: …` lines, WebVTT `<v Name>`, a `speaker` field)
   name each turn; names are matched to the roster.
2. A recording of him alone (his lecture, his channel, a registered talk) is all his.
3. An interview without labels is read for what is sure: the host's questions (a run of
   questions that names or addresses him), and the opening of his answer to each clear one.
   Everything else is `unidentified`: a host may argue for a minute before asking, and his
   answers hold questions of his own, so the rest cannot be told apart from the text alone
   (bench/speaker_eval.py measures this on hand-labelled lines).
4. Lines known to be his (the framework's verified quotes of this source) are his wherever
   the rules above left them unidentified.
5. Captions without punctuation cannot be read for questions: `unidentified` throughout.

Never guess silently: a stretch whose speaker the text does not tell is UNIDENTIFIED, and it
counts as not his. `ktp build --speakers` can ask an LLM to label such transcripts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from corpus.model import UNIDENTIFIED, UNKNOWN_AUTHOR
from corpus.textnorm import is_punctuated, trim_span


# How much of an answer's opening is credited to him: chosen on bench/speaker_eval.py, where
# 120 words credits no host line to him and 200 credits two.
ANSWER_WORDS = 120
_SENTENCE = re.compile(r"[^.?!…]*(?:[.?!…]+[\"”’)\]]*|$)", re.S)
_ACKNOWLEDGES = re.compile(  # a whole sentence of acknowledgement: "Interesting."
    r"^(?:interesting|okay|ok|yeah|got it|gotcha|makes sense|fascinating|i see|wow|huh|"
    r"fair enough|(?:super|very|really|quite) interesting|that makes sense|"
    r"this is (?:quite |super |very |really )?(?:interesting|fascinating)|"
    r"that'?s (?:fascinating|interesting|super interesting|really interesting|so interesting|"
    r"very interesting|a great (?:point|answer)))[.!]+$", re.I)
_NEW_TOPIC = re.compile(  # a change of topic that only the one asking makes
    r"^(?:let'?s (?:talk|go back|move on|start with|switch)|stepping back|"
    r"just to (?:steelman|make sure|clarify|push)|"
    r"here'?s (?:another|one) (?:reason|question|thing)|"
    r"i want to (?:ask|go back|push back|hear)|can i ask|a category of questions|"
    r"i have (?:some|a few|a) questions?|this is a question|one (?:more|last|final) question|"
    r"that'?s an excellent note|(?:today|here) i'?m (?:speaking|talking|chatting) with)\b",
    re.I)


_ANSWER = re.compile(  # how an answer to a question starts (not "Yeah." or "It's": too common)
    r"^(?:that'?s a (?:great|good|giant|tough|hard|fair) question|good question|"
    r"great question|i think|i guess|i would say|i don'?t know|i'?m not sure|yes,|no,|"
    r"first of all|so (?:i think|basically|the way)|basically|honestly|to be honest|"
    r"i kind of agree|i agree|i disagree|yes and no)\b", re.I)
_COMMON = {"that", "this", "what", "with", "they", "them", "have", "there", "would", "could",
           "should", "about", "your", "from", "when", "does", "doing", "like", "just", "think"}
_HOST_PHRASE = re.compile(
    r"\b(?:podcast|my guest|on the show|i want to ask|let me ask|i'?m curious|can i ask|"
    r"i want to push back|let'?s talk about|let'?s move on|before we (?:move|go)|"
    r"one more question|follow[- ]up|final question|last question|(?:today|here) i'?m "
    r"(?:speaking|talking|chatting) with|you (?:said|mentioned|were saying|wrote|tweeted|"
    r"talked about|have said|'ve said|'ve talked)|your (?:book|lecture|tweet|post|blog|"
    r"course|talk|essay|paper|view|take))\b", re.I)
_PROMPT = re.compile(r"^(?:tell me|talk (?:to me )?about|walk me through|explain|describe|"
                     r"i'?m curious|i wonder|i'?m just saying|i'?m surprised)\b", re.I)
_YOU = re.compile(r"\b(?:you|your|you're|you've|you'd)\b", re.I)


@dataclass(frozen=True)
class Roster:
    """Who may speak in a recording: him, the others (interviewer first), or nobody known."""
    subject: str
    others: tuple[str, ...] = ()
    known: bool = True  # False: nothing says he speaks here (author unknown)

    @property
    def solo(self) -> bool:
        return self.known and not self.others

    @property
    def host(self) -> str:
        return self.others[0] if len(self.others) == 1 else UNIDENTIFIED


def split_turns(text: str, roster: Roster, labels: list[tuple[int, int, str]] | None = None,
                his_lines: tuple[str, ...] = ()) -> list[list]:
    """Turns [start, end, speaker] covering `text` in order. `labels`: (start, end, name) spans
    the source labelled; they are taken as given (names matched to the roster). `his_lines`:
    words known to be his (verified quotes), credited to him where nothing else decided."""
    if not text:
        return []
    if not roster.known:
        return [[0, len(text), UNKNOWN_AUTHOR]]
    if labels:
        return merge_turns([[s, e, _name(name, roster)] for s, e, name in labels], len(text))
    if roster.solo:
        return [[0, len(text), roster.subject]]
    if not is_punctuated(text):
        turns = [[0, len(text), UNIDENTIFIED]]
    else:
        turns = _interview(text, roster)
    return merge_turns(_credit_known(text, turns, his_lines, roster), len(text))


def _credit_known(text: str, turns: list[list], his_lines: tuple[str, ...],
                  roster: Roster) -> list[list]:
    """Cut the verified quotes of his out of unidentified turns, as his."""
    if not his_lines:
        return turns
    from corpus.textnorm import locate

    spans = sorted(found for line in his_lines if (found := locate(text, line)))
    out = []
    for start, end, speaker in turns:
        pieces = [(start, end, speaker)]
        if speaker == UNIDENTIFIED:
            for q_start, q_end in spans:
                last_start, last_end, _ = pieces[-1]
                if q_end <= last_start or q_start >= last_end:
                    continue
                pieces[-1:] = [p for p in ((last_start, max(last_start, q_start), UNIDENTIFIED),
                                           (max(last_start, q_start), min(last_end, q_end),
                                            roster.subject),
                                           (min(last_end, q_end), last_end, UNIDENTIFIED))
                               if p[1] > p[0]]
        out += [list(p) for p in pieces]
    return out


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, trimmed of surrounding whitespace."""
    spans = [trim_span(text, m.start(), m.end()) for m in _SENTENCE.finditer(text)]
    return [(s, e) for s, e in spans if e > s]


def _interview(text: str, roster: Roster) -> list[list]:
    """Punctuated interview captions without labels. Where the host's turn *starts* the text
    does not tell (a host may argue for a minute before asking, and his answers hold
    questions of his own), so only what is sure is credited to him: the opening of an answer
    to a clear host question (one that names or addresses him, answered with an answer's
    first words: "That's a great question.", "I think…"), up to ANSWER_WORDS words and never
    past the next question or host opener. The rest is `unidentified`."""
    spans = sentences(text)
    said = [text[s:e] for s, e in spans]
    who = [UNIDENTIFIED] * len(spans)
    asks = _questions(text, spans, said, roster)
    for n, (i, j, sure) in enumerate(asks):
        for k in range(i, j + 1):
            who[k] = roster.host if sure else UNIDENTIFIED
        nxt = asks[n + 1][0] if n + 1 < len(asks) else len(spans)
        if not sure or len(roster.others) != 1 or j + 1 >= nxt or \
                not _ANSWER.match(said[j + 1]):
            continue  # with several others, the one answering may not be him
        count = 0
        for k in range(j + 1, nxt):
            count += len(said[k].split())
            if count > ANSWER_WORDS or (k > j + 1 and _opens(said[k])):
                break
            who[k] = roster.subject
    for k, sentence in enumerate(said):
        if _names_him(sentence, roster):
            who[k] = roster.host  # only the host names him ("Andrej, that was great.")
    return [[s, e, w] for (s, e), w in zip(spans, who)]


def _questions(text: str, spans, said: list[str], roster: Roster) -> list[tuple[int, int, bool]]:
    """(first, last sentence, sure) of each run of questions that may be the host's: all but
    those he plainly answers himself by echoing them; `sure` when it is clearly the host's."""
    found, i = [], 0
    while i < len(spans):
        if not _asks(said[i]) or _in_quotation(text, spans[i][0]):
            i += 1
            continue
        j = i
        while j + 1 < len(spans) and _asks(said[j + 1]):
            j += 1
        after = said[j + 1] if j + 1 < len(spans) else ""
        score = _host_score(said[i:j + 1], after, said[max(0, i - 2):i], roster)
        if score >= 0:
            found.append((i, j, score >= 2))
        i = j + 1
    return found


def _host_score(run: list[str], after: str, before: list[str], roster: Roster) -> int:
    """How surely a run of questions is the host's: it names him, addresses him, opens like a
    host, follows an opener, or is answered with an answer's opening words. A question he
    answers by echoing it ("Why not today?" "The reason … today is") is his own."""
    text = " ".join(run)
    score = 2 * (_names_him(text, roster) or bool(_HOST_PHRASE.search(text))
                 or bool(_opens(text)))
    score += bool(_YOU.search(text)) + bool(_ANSWER.match(after))
    score += any(_opens(b) or _HOST_PHRASE.search(b) for b in before)
    if _echoes(run[-1], after):
        score -= 3
    return score


def _echoes(question: str, answer: str) -> bool:
    words = {w for w in re.findall(r"[a-z']{4,}", question.lower())} - _COMMON
    head = set(re.findall(r"[a-z']{4,}", " ".join(answer.split()[:12]).lower()))
    return len(words & head) >= 3


def _in_quotation(text: str, at: int) -> bool:
    """Is `at` inside an open quotation (an odd number of quote marks since the paragraph or
    the last few hundred characters began)?"""
    before = text[max(0, at - 400):at]
    before = before[before.rfind("\n\n") + 1:]
    return before.count("“") > before.count("”") or before.count('"') % 2 == 1


def _opens(sentence: str) -> bool:
    """How a host's turn starts: an acknowledgement, or a change of topic."""
    return bool(_ACKNOWLEDGES.match(sentence.strip()) or _NEW_TOPIC.match(sentence))


def _asks(sentence: str) -> bool:
    return sentence.rstrip("\"”’)] ").endswith("?") or bool(_PROMPT.match(sentence))


def _names_him(sentence: str, roster: Roster) -> bool:
    first, *_, last = roster.subject.split() if " " in roster.subject else (roster.subject,) * 2
    return bool(re.search(rf"\b(?:{re.escape(first)}|{re.escape(last)})\b", sentence))


def _name(label: str, roster: Roster) -> str:
    """A label from the source, matched to the roster by full, first or last name."""
    wanted = " ".join(label.split()).lower()
    for name in (roster.subject, *roster.others):
        parts = name.lower().split()
        if wanted == name.lower() or wanted in parts:
            return name
    return " ".join(label.split())


def merge_turns(turns: list[list], length: int) -> list[list]:
    """Adjacent spans of one speaker joined; gaps (whitespace) given to the turn before."""
    out: list[list] = []
    for start, end, speaker in sorted(turns):
        if out and out[-1][2] == speaker:
            out[-1][1] = end
        elif out:
            out[-1][1] = start if start > out[-1][1] else out[-1][1]
            out.append([start, end, speaker])
        else:
            out.append([0, end, speaker])
    if out:
        out[-1][1] = length
    return out
