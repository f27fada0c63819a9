"""Speaker turns: what the source labels comes first, a recording of him alone is his, an
interview is read for what is sure and the rest stays unidentified, and the verifier knows
whose words a quote is."""
from corpus.store import CorpusStore
from ingest.speakers import Roster, split_turns
from ingest.transcripts import Segment, parse_vtt, transcript_document
from simulator.citations import verify_citations
from simulator.evidence import evidence_from_row

HIM, HOST = "Andrej Karpathy", "Dwarkesh Patel"
INTERVIEW = Roster(HIM, (HOST,))


def test_textbook_an_interview_passage_split_into_turns(tmp_path):
    """Six caption segments of an interview, punctuated, with no speaker labels:

        0.0  "Today I'm talking with Andrej Karpathy."
        3.0  "Andrej, why do you think agents will take a decade?"
        7.0  "I think they still lack continual learning. They forget what you tell them."
        12.0 "And they can't use a computer well yet."
        16.0 "Interesting. Let me push on that. What would change your mind?"
        21.0 "Good question. A model that learns on the job would."

    Expected turns and chunks (one chunk per turn here, each starting at its segment's second):
        #0  0.0 Dwarkesh Patel  "Today I'm talking with … take a decade?"  (names him, asks)
        #1  7.0 Andrej Karpathy "I think they still lack … well yet."  (answers a clear host
                question, opening with "I think"; under 120 words, no question or opener)
        #2 16.0 unidentified    "Interesting. Let me push on that."  (a host's opener: his
                answer has ended, but who says the rest is not sure from the text)
        #3 16.0 Dwarkesh Patel  "What would change your mind?"  (addresses him after an opener)
        #4 21.0 Andrej Karpathy "Good question. A model that learns on the job would."

    Expected citations, for an answer citing the chunks as [S1]..[S5]:
        "They forget what you tell them" [S2]                  -> quote-verified
        "why do you think agents will take a decade" [S1]      -> quote-not-his (the host's)
        "Let me push on that" [S3]                             -> quote-not-his (unidentified)
    """
    segments = [Segment(0.0, "Today I'm talking with Andrej Karpathy."),
                Segment(3.0, "Andrej, why do you think agents will take a decade?"),
                Segment(7.0, "I think they still lack continual learning. They forget what you "
                             "tell them."),
                Segment(12.0, "And they can't use a computer well yet."),
                Segment(16.0, "Interesting. Let me push on that. What would change your mind?"),
                Segment(21.0, "Good question. A model that learns on the job would.")]
    loaded = transcript_document(segments, doc_id="yt:textbook001", title="An interview",
                                 origin="test", roster=INTERVIEW)
    chunks = loaded.chunks
    assert [(c.start_time, c.speaker) for c in chunks] == [
        (0.0, HOST), (7.0, HIM), (16.0, "unidentified"), (16.0, HOST), (21.0, HIM)]
    assert [c.text for c in chunks] == [
        "Today I'm talking with Andrej Karpathy. Andrej, why do you think agents will take a "
        "decade?",
        "I think they still lack continual learning. They forget what you tell them. And they "
        "can't use a computer well yet.",
        "Interesting. Let me push on that.",
        "What would change your mind?",
        "Good question. A model that learns on the job would."]
    assert loaded.document.meta["interviewer"] == HOST

    with CorpusStore(tmp_path / "c.sqlite3") as store:
        store.add(loaded.document, chunks)
        rows = store.chunk_rows([c.id for c in chunks])
    evidence = [evidence_from_row(rows[c.id], 1.0, ("keyword",)) for c in chunks]
    assert [e.badge for e in evidence] == [f"{HOST}, host", "his words",
                                          "speaker unidentified", f"{HOST}, host", "his words"]
    answer = ('He said "They forget what you tell them" [S2]. He was asked '
              '"why do you think agents will take a decade" [S1]. "Let me push on that" [S3].')
    assert [(c.marker, c.status) for c in verify_citations(answer, evidence)] == [
        ("S2", "quote-verified"), ("S1", "quote-not-his"), ("S3", "quote-not-his")]


def test_labels_in_the_source_name_the_turns():
    vtt = ("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Lex Fridman>What is a neural network?\n\n"
           "00:00:03.000 --> 00:00:06.000\n<v Andrej Karpathy>A mathematical expression with "
           "knobs.\n")
    segments, _ = parse_vtt(vtt)
    segments += [Segment(7.0, "And the knobs are trained.", "Andrej Karpathy")]
    loaded = transcript_document(segments, doc_id="yt:labelled001", title="t", origin="o",
                                 roster=Roster(HIM, ("Lex Fridman",)))
    assert [(c.speaker, c.text.split(": ", 1)[0]) for c in loaded.chunks] == [
        ("Lex Fridman", "Lex Fridman"), (HIM, HIM)]


def test_a_first_name_label_is_matched_to_the_roster():
    text = "Dwarkesh: So why?\n\nAndrej: Because."
    turns = split_turns(text, INTERVIEW, [(0, 17, "Dwarkesh"), (19, len(text), "Andrej")])
    assert [t[2] for t in turns] == [HOST, HIM]


def test_a_recording_of_him_alone_is_all_his_and_an_unknown_one_is_nobodys():
    text = "hi everyone today we build a tokenizer. what is a token? a small piece of text."
    assert split_turns(text, Roster(HIM)) == [[0, len(text), HIM]]
    assert split_turns(text, Roster(HIM, known=False)) == [[0, len(text), "unknown"]]


def test_unpunctuated_interview_captions_are_unidentified_throughout():
    text = ("what is a neural network and why does it work so well it's a mathematical "
            "abstraction of the brain I would say with knobs")
    assert split_turns(text, Roster(HIM, ("Lex Fridman",))) == [[0, len(text), "unidentified"]]


def test_his_own_rhetorical_question_answered_by_echoing_it_does_not_end_his_answer():
    text = ("Andrej, what is missing from agents? I think a lot is missing. Why don't you use "
            "them today? The reason you don't use them today is that they just don't work.")
    turns = split_turns(text, INTERVIEW)
    speakers = [(text[s:e].strip()[:22], w) for s, e, w in turns]
    assert speakers[0] == ("Andrej, what is missin", HOST)
    assert all(w != HOST for _, w in speakers[1:])
    assert ("I think a lot is missi", HIM) in speakers


def test_a_verified_quote_of_his_is_credited_to_him_where_the_rules_left_it_unknown():
    text = ("Interesting. Here is a long argument of the host about many things. And then "
            "he says the decade of agents is a reaction to a quote. Okay.")
    quote = "the decade of agents is a reaction to a quote"
    turns = split_turns(text, INTERVIEW, his_lines=(quote,))
    [(start, end)] = [(s, e) for s, e, w in turns if w == HIM]
    assert text[start:end] == quote
