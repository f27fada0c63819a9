"""The citation verifier: a hand-made case for each kind of problem, and properties that hold
for any text (hypothesis)."""
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.citations import verify_citations
from simulator.evidence import Evidence

TEXTS = ["Software 1.0 easily automates what you can specify.",
         "The hottest new programming language is English.",
         "Tokenization is at the heart of much weirdness of large language models."]
EVIDENCE = [Evidence(chunk_id=f"d:{i}#0", doc_id=f"d:{i}", kind="tweet", title="t", date=None,
                     url=f"https://x.com/karpathy/status/{i}", origin="o", text=t, score=0.1,
                     why=("keyword",)) for i, t in enumerate(TEXTS, 1)]


def check(answer: str):
    return [(c.marker, c.verified, c.problem) for c in verify_citations(answer, EVIDENCE)]


def test_a_verbatim_quote_with_its_marker_verifies():
    assert check('He put it as "the hottest new programming language is English" [S2].') == \
        [("S2", True, None)]


def test_curly_quotes_and_whitespace_do_not_matter():
    assert check("“Software  1.0 easily\nautomates what you can specify.” [S1]") == \
        [("S1", True, None)]


def test_an_unknown_marker_is_flagged():
    assert check("He said so [S9].") == [("S9", False, "unknown source S9")]


def test_a_quote_from_another_source_names_the_right_one():
    assert check('"what you can specify" [S2]') == [("S2", False, "quote is in S1, not S2")]


def test_a_quote_that_is_nowhere_is_flagged():
    assert check('"English is a dying programming language" [S2]') == \
        [("S2", False, "quote not found verbatim in S2")]


def test_a_quote_without_any_marker_is_flagged():
    [(marker, ok, problem)] = check('As he put it: "the hottest new programming language".')
    assert (marker, ok) == (None, False)
    assert problem == "quote without a citation (its words are in S2)"


def test_a_claim_about_what_he_said_needs_a_marker():
    [(marker, ok, problem)] = check("He argues that tokenizers cause most bugs.")
    assert (marker, ok) == (None, False) and problem.startswith("claim about what he said")


def test_extrapolation_and_headings_are_not_claims_about_him():
    assert check("Extrapolating from his framework: he thinks small models would win.") == []
    assert check("**What he has said**") == []


def test_several_markers_and_a_reference_entry():
    assert check("This comes up often [S1, S3].") == [("S1", True, None), ("S3", True, None)]
    assert check('[S2] "A quoted title" (tweet, 2024) https://x.com/x') == [("S2", True, None)]


def test_paraphrase_with_a_valid_marker_is_accepted():
    assert check("Verification is what lets a task be automated [S1].") == [("S1", True, None)]


@settings(max_examples=200, deadline=None)
@given(source=st.integers(0, 2), data=st.data())
def test_any_word_span_of_a_source_verifies_when_cited_right(source, data):
    words = TEXTS[source].split()
    start = data.draw(st.integers(0, len(words) - 3))
    end = data.draw(st.integers(start + 3, len(words)))
    spaced = data.draw(st.sampled_from([" ", "  ", "\n"])).join(words[start:end])
    [(marker, ok, problem)] = check(f'He wrote "{spaced}" [S{source + 1}].')
    assert (marker, ok, problem) == (f"S{source + 1}", True, None)


@settings(max_examples=200, deadline=None)
@given(source=st.integers(0, 2), data=st.data())
def test_a_changed_word_never_verifies(source, data):
    words = TEXTS[source].split()
    start = data.draw(st.integers(0, len(words) - 3))
    span = words[start:start + 3]
    span[data.draw(st.integers(0, 2))] = "zzyzx"
    [(marker, ok, _)] = check(f'"{" ".join(span)}" [S{source + 1}]')
    assert ok is False
