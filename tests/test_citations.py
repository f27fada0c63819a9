"""The citation verifier: a hand-made case for each status and each kind of problem (a host's
words, a retweet, a pasted email, a paraphrase, a reference list), the summary line, and
properties that hold for any text (hypothesis)."""
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.citations import summary_line, verify_citations
from simulator.evidence import Evidence

HIM = "Andrej Karpathy"
TEXTS = ["Software 1.0 easily automates what you can specify.",
         "The hottest new programming language is English.",
         "Tokenization is at the heart of much weirdness of large language models."]


def his(i: int, text: str, **kw) -> Evidence:
    fields = dict(chunk_id=f"d:{i}#0", doc_id=f"d:{i}", kind="tweet", title="t", date=None,
                  url=f"https://x.com/karpathy/status/{i}", origin="o", text=text, score=0.1,
                  why=("keyword",), author=HIM, speaker=HIM, his_words=True, badge="his tweet")
    return Evidence(**{**fields, **kw})


EVIDENCE = [his(i, t) for i, t in enumerate(TEXTS, 1)]
EMAIL = ("Ty to a reply:\n\n---\n\nHi Andrej,\n\nHappy to tell you the story of attention as "
         "it happened.")
OTHERS = [
    his(4, "Why do you say this is the decade of agents and not the year?", kind="transcript",
        author=HIM, speaker="Dwarkesh Patel", his_words=False, badge="Dwarkesh Patel, host"),
    his(5, "Tinker dramatically simplifies LLM post-training for researchers.",
        author="@thinkymachines", speaker="@thinkymachines", his_words=False,
        badge="retweet of @thinkymachines", retweet_of="@thinkymachines"),
    his(6, EMAIL, quoted=((EMAIL.index("Hi Andrej"), len(EMAIL), "a message addressed to him"),)),
    his(7, "A note found in a folder about learning rates.", author="unknown",
        speaker="unknown", his_words=False, badge="author unknown"),
]


def check(answer: str, evidence=EVIDENCE):
    return [(c.marker, c.status, c.problem) for c in verify_citations(answer, evidence)]


def test_a_verbatim_quote_with_its_marker_is_verified_in_his_words():
    assert check('He put it as "the hottest new programming language is English" [S2].') == \
        [("S2", "quote-verified", None)]


def test_curly_quotes_and_whitespace_do_not_matter():
    assert check("“Software  1.0 easily\nautomates what you can specify.” [S1]") == \
        [("S1", "quote-verified", None)]


def test_pieces_joined_by_an_ellipsis_are_each_checked_in_order():
    assert check('"Tokenization is at the heart … of large language models" [S3]')[0][1] == \
        "quote-verified"
    assert check('"of large language models … Tokenization is at the heart" [S3]')[0][1] == \
        "quote-not-found"


def test_the_true_words_of_a_host_cited_as_his_are_a_named_problem():
    [(marker, status, problem)] = check('He asked "this is the decade of agents" [S1].',
                                        OTHERS)
    assert (marker, status) == ("S1", "quote-not-his")
    assert problem == "the words are Dwarkesh Patel's (the host), not his"


def test_a_quote_from_a_retweet_names_the_original_author():
    [(_, status, problem)] = check('"dramatically simplifies LLM post-training" [S2]', OTHERS)
    assert status == "quote-not-his"
    assert problem == "the words are a retweet of @thinkymachines, not his"


def test_a_quote_of_an_email_he_pasted_is_quoted_by_him_not_his():
    [(_, status, problem)] = check('"Happy to tell you the story of attention" [S3]', OTHERS)
    assert status == "quote-not-his"
    assert problem == "the words are quoted by him (a message addressed to him), not his own"
    assert check('"Ty to a reply" [S3]', OTHERS)[0][1] == "quote-verified"


def test_words_of_an_unknown_author_are_not_known_to_be_his():
    assert check('"found in a folder about learning rates" [S4]', OTHERS)[0][1:] == (
        "quote-not-his",
        "the author of this source is unknown, so the words are not known to be his")


def test_an_unknown_marker_is_flagged():
    assert check("He said so [S9].") == [("S9", "unknown-source", "unknown source S9")]


def test_a_quote_from_another_source_names_the_right_one():
    assert check('"what you can specify" [S2]') == [
        ("S2", "quote-not-found", "quote is in S1, not S2")]


def test_a_quote_that_is_nowhere_is_flagged():
    assert check('"English is a dying programming language" [S2]') == \
        [("S2", "quote-not-found", "quote not found verbatim in S2")]


def test_a_quote_without_any_marker_is_flagged():
    [(marker, status, problem)] = check('As he put it: "the hottest new programming language".')
    assert (marker, status) == (None, "uncited-quote")
    assert problem == "quote without a citation (its words are in S2)"


def test_claims_about_what_he_said_need_a_marker_in_any_phrasing():
    for sentence in ("He argues that tokenizers cause most bugs.",
                     "He has always said that tokenizers cause most bugs.",
                     "Karpathy's view is that tokenizers cause most bugs.",
                     "In his view, tokenizers cause most bugs.",
                     "As he puts it, tokenizers cause most bugs."):
        [(marker, status, problem)] = check(sentence)
        assert (marker, status) == (None, "uncited-claim"), sentence
        assert problem.startswith("claim about what he said")


def test_extrapolation_and_headings_are_not_claims_about_him():
    assert check("Extrapolating from his framework: he thinks small models would win.") == []
    assert check("**What he has said**") == []


def test_a_reference_list_entry_is_not_a_citation():
    assert check('[S2] "A quoted title" (tweet, 2024) https://x.com/x') == [
        ("S2", "reference", None)]
    assert summary_line(verify_citations("[S1] Title\n[S2] Title", EVIDENCE)) == \
        "0 quotes verified in his words · no problems"


def test_a_paraphrase_with_a_marker_is_a_claim_cited_with_its_support_score():
    [supported] = verify_citations("Software 1.0 automates what you can specify [S1].",
                                   EVIDENCE)
    assert supported.status == "claim-supported" and supported.support == 1.0
    [weak] = verify_citations("He prefers cooking soup on Sundays [S1].", EVIDENCE)
    assert weak.status == "claim-weak" and weak.support == 0.0 and not weak.verified


def test_the_summary_line_counts_each_kind_honestly():
    answer = ('"the hottest new programming language is English" [S2]. '
              "Software 1.0 automates what you can specify [S1]. "
              "He likes soup [S3]. "
              '"English is a dying language" [S2].\n\n[S1] a reference')
    assert summary_line(verify_citations(answer, EVIDENCE)) == (
        "1 quote verified in his words · 2 claims cited (1 supported, 1 weak) · 1 problem")


@settings(max_examples=200, deadline=None)
@given(source=st.integers(0, 2), data=st.data())
def test_any_word_span_of_a_source_verifies_when_cited_right(source, data):
    words = TEXTS[source].split()
    start = data.draw(st.integers(0, len(words) - 3))
    end = data.draw(st.integers(start + 3, len(words)))
    spaced = data.draw(st.sampled_from([" ", "  ", "\n"])).join(words[start:end])
    [(marker, status, problem)] = check(f'He wrote "{spaced}" [S{source + 1}].')
    assert (marker, status, problem) == (f"S{source + 1}", "quote-verified", None)


@settings(max_examples=200, deadline=None)
@given(source=st.integers(0, 2), data=st.data())
def test_a_changed_word_never_verifies(source, data):
    words = TEXTS[source].split()
    start = data.draw(st.integers(0, len(words) - 3))
    span = words[start:start + 3]
    span[data.draw(st.integers(0, 2))] = "zzyzx"
    [(marker, status, _)] = check(f'"{" ".join(span)}" [S{source + 1}]')
    assert status != "quote-verified"


def test_a_quote_of_a_markdown_passage_verifies_with_or_without_its_emphasis_marks():
    post = [his(8, "We usually talk about the *derivative* of one input, or about a "
                   "**gradient** with respect to all the inputs.", kind="doc")]
    for quote in ("We usually talk about the *derivative* of one input, or about a gradient "
                  "with respect to all the inputs.",  # the reading drops bold, keeps italics
                  "We usually talk about the derivative of one input",
                  "about a **gradient** with respect to all the inputs"):
        assert check(f"- “{quote}” [S1]", post) == [("S1", "quote-verified", None)]
    assert check("- “We usually talk about the *gradient* of one input” [S1]", post) == [
        ("S1", "quote-not-found", "quote not found verbatim in S1")]
