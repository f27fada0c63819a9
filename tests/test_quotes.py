"""Choosing his words that answer the question: whole sentences, the answering one even when it
is the third of a passage, caption spans cut at pauses, shortening with an ellipsis that still
verifies, and never what he quotes from others."""
import pytest

from graph.embedder import MiniLMEmbedder
from simulator.citations import verify_citations
from simulator.evidence import Evidence
from simulator.quotes import QuotePool, caption_spans, choose_quotes, shorten
from simulator.reading import is_change_question

HIM = "Andrej Karpathy"


def passage(text: str, n: int = 1, **kw) -> Evidence:
    fields = dict(chunk_id=f"blog:p{n}#0", doc_id=f"blog:p{n}", kind="blog", title="A post",
                  date="2019-04-25", url="http://karpathy.github.io/x", origin="o", text=text,
                  score=1.0, why=("keyword",), author=HIM, speaker=HIM, his_words=True,
                  badge="his blog post")
    return Evidence(**{**fields, **kw})


RECIPE = ("Neural net training is a leaky abstraction. It is easy to get started, and that is "
          "part of the problem. The first step to training a neural net is to not touch any "
          "neural net code at all and instead begin by thoroughly inspecting your data. "
          "Everything after that builds on it.")


@pytest.fixture(scope="module")
def embed():
    return MiniLMEmbedder().embed


def test_the_answer_is_found_when_it_is_the_third_sentence(embed):
    question = "What should I do first, before writing any model code?"
    [best, *_] = choose_quotes(question, [passage(RECIPE)], embed, k=2)
    assert best.text.startswith("The first step to training a neural net is to not touch")
    assert "thoroughly inspecting your data." in best.text and best.whole


def test_quotes_are_whole_sentences_and_verify(embed):
    quotes = choose_quotes("Why is training neural nets hard?", [passage(RECIPE)], embed, k=3)
    answer = " ".join(f"“{q.text}” [S1]." for q in quotes)
    assert all(q.text[0].isupper() and q.text.endswith(".") for q in quotes)
    assert {c.status for c in verify_citations(answer, [passage(RECIPE)])} == {"quote-verified"}


def test_no_two_quotes_share_words_or_repeat_a_sentence(embed):
    again = passage(RECIPE, n=2, chunk_id="tweet:9#0", doc_id="tweet:9", kind="tweet")
    quotes = choose_quotes("What should I do first, before writing any model code?",
                           [passage(RECIPE), again], embed, k=5)
    spans = [(q.evidence_index, q.start, q.start + len(q.text)) for q in quotes]
    assert not any(a[0] == b[0] and a[1] < b[2] and b[1] < a[2]
                   for n, a in enumerate(spans) for b in spans[n + 1:])
    texts = [q.text for q in quotes]
    assert len(texts) == len(set(texts))
    assert sum("thoroughly inspecting your data" in t for t in texts) == 1


def test_the_words_of_a_framework_quote_are_found_and_a_stretch_sharing_words_clashes(embed):
    pool = QuotePool("What should I do first?", [passage(RECIPE)], embed)
    held = pool.holding("begin by  thoroughly inspecting your data")
    texts = [pool.candidates[n][1][2] for n in held]
    assert held and all("thoroughly inspecting your data" in t for t in texts)
    assert pool.holding("words he never wrote") == []
    sentence = next(n for n in held if pool.candidates[n][1][2].startswith("The first step"))
    others = [n for n in range(len(pool.candidates)) if n != sentence]
    assert all(pool.clashes(n, {sentence}) for n in held)  # the pair it opens, or itself
    assert not all(pool.clashes(n, {sentence}) for n in others)  # other sentences do not


def test_a_caption_passage_without_punctuation_is_cut_at_pauses_never_mid_word():
    text = ("okay so today we are going to build a tokenizer from scratch and the tokenizer is "
            "a completely separate stage of the pipeline it has its own training set and its "
            "own training algorithm which is byte pair encoding so that is the plan um and then "
            "we will look at why tokenization causes so much weirdness in language models")
    spans = caption_spans(text)
    assert spans and all(text[s - 1:s] in ("", " ") and text[e:e + 1] in ("", " ")
                         for s, e in spans)
    [quote] = choose_quotes("what is byte pair encoding in the tokenizer",
                            [passage(text, kind="transcript")], None, k=1)
    assert "byte pair encoding" in quote.text and 18 <= len(quote.text.split()) <= 40
    assert verify_citations(f"“{quote.text}” [S1]", [passage(text)])[0].status == \
        "quote-verified"


def test_a_caption_window_keeps_the_last_words_and_does_not_cut_inside_from_now():
    text = ("so i think the thing is that we are going to see a lot of change in the next few "
            "years and it is hard to say what the world will look like thirty years from now")
    ends = {text[s:e].split()[-1] for s, e in caption_spans(text)}
    assert ends == {"now"}  # not "…thirty years from", with "now" left over


def test_a_long_sentence_keeps_its_best_clauses_with_an_ellipsis_that_verifies():
    long = ("When you start a project, after you have collected the data, cleaned it, looked at "
            "the label distribution, checked for duplicates, and spent a long afternoon with "
            "it, you should build a simple baseline first, a model so dumb that it cannot be "
            "wrong in interesting ways, and only then reach for anything clever or deep.")
    quote, whole = shorten(long, {"simple", "baseli", "first"})
    assert not whole and "…" in quote and "simple baseline first" in quote
    assert len(quote.replace("…", "").split()) <= 45
    assert verify_citations(f"“{quote}” [S1]", [passage(long)])[0].status == "quote-verified"


def test_what_he_quotes_from_others_and_code_are_never_chosen():
    email = ("My notes on the story.\n\n---\n\nHi Andrej,\n\nAttention came from trying to avoid "
             "the bottleneck between encoder and decoder in translation.")
    start = email.index("Hi Andrej")
    code = "Here is the loop:\n\n```\nfor step in range(steps): optimizer.step()\n```\n"
    quotes = choose_quotes("where did attention come from?",
                           [passage(email, quoted=((start, len(email), "a message"),)),
                            passage(code, 2)], None, k=5)
    assert all("bottleneck" not in q.text and "optimizer" not in q.text for q in quotes)


def test_change_questions_are_recognised():
    assert is_change_question("Has his view on RL changed?")
    assert is_change_question("What did he think about agents in 2017 vs 2025?")
    assert is_change_question("How did his thinking on scaling evolve over the years?")
    assert not is_change_question("What is software 2.0?")
    assert is_change_question("How did his view of agents shift over the years?")
    assert is_change_question("Has he changed his mind about self-driving?")
    assert is_change_question("How has his approach to teaching evolved?")
    assert not is_change_question("Which books have stuck with him the most over the years?")
    assert not is_change_question("What shift in AI research did he realize when GPT-3 came out?")
    assert not is_change_question("What changes when models get bigger?")


def test_the_protocol_steps_shown_are_the_few_closest_to_the_question(embed):
    from corpus.framework_loader import load_framework
    from simulator.reading import choose_steps

    framework = load_framework()  # the packaged framework: ten steps
    steps = choose_steps("How many nines of reliability does a demo need before it ships?",
                         framework, embed, None)
    assert 2 <= len(steps) <= 4
    assert any("long tail" in s.title.lower() for s in steps)
    other = choose_steps("Should I look at my training data by hand?", framework, embed, None)
    assert any("data" in s.title.lower() for s in other) and other != steps


def test_a_stray_full_stop_is_not_a_sentence_and_opens_no_quote():
    from corpus.quotable import quotable_spans

    text = ("It helped us write the model itself (meta :D!) . I recommend watching the earlier "
            "videos first to get comfortable with the basics. Then we go on to the next part.")
    quotes = [q for _, _, q in quotable_spans(text)]
    assert quotes and not any(q.startswith(".") for q in quotes)
    assert "I recommend watching the earlier videos first to get comfortable with the basics." \
        in quotes


def test_a_sentence_that_runs_into_a_link_is_quoted_up_to_it_and_verifies(embed):
    from corpus.quotable import quotable_spans

    readme = ("Small models are more useful than people think. Tiny language models can write "
              "fluent short stories if the domain is narrow enough (see [the dataset]"
              "(https://example.org/stories) for details). The best place to start reading "
              "about all of this is probably [this post](https://example.org/post).")
    quotes = [q for _, _, q in quotable_spans(readme)]
    cut = "Tiny language models can write fluent short stories if the domain is narrow enough …"
    assert cut in quotes
    assert not any("http" in q or "](" in q or "(see" in q for q in quotes)
    assert "best place" not in " ".join(quotes)  # the link is what it says: no teaser
    best = choose_quotes("Can tiny language models write stories?", [passage(readme)], embed)
    assert best[0].text == cut
    checked = verify_citations(f"“{best[0].text}” [S1]", [passage(readme)])[0]
    assert checked.status == "quote-verified"


def test_a_line_from_his_fiction_is_not_quoted_as_his_view_unless_the_story_is_asked_about(
        embed):
    from corpus.framework_loader import load_framework
    from simulator.evidence import with_genres

    framework = load_framework()
    story = passage("The agent ran its experiments all night and it never once checked in with "
                    "the humans who launched it.", 1,
                    chunk_id="blog:ai#0", doc_id="blog:ai", title="Short Story on AI")
    view = passage("Long training runs cost real money, so I like a person to approve them "
                   "before the compute is spent.", 2)
    evidence = with_genres([story, view], framework)
    assert evidence[0].genre == "fiction" and evidence[0].badge == "his blog post, fiction"
    assert evidence[1].genre is None and evidence[1].badge == "his blog post"
    asked = "Should an agent running experiments check in with the humans who launched it?"

    def story_scores(question, given):
        pool = QuotePool(question, given, embed)
        return [score for (i, _), score in zip(pool.candidates, pool.scores) if i == 0]

    about_story = "In his short story, does the agent check in with the humans who launched it?"
    assert story_scores(about_story, evidence) == story_scores(about_story, [story, view])
    weighed, plain = story_scores(asked, evidence), story_scores(asked, [story, view])
    assert weighed == pytest.approx([0.5 * p for p in plain], abs=1e-4)


def test_a_genre_the_registry_does_not_know_is_a_problem(tmp_path):
    import shutil

    from corpus.framework_loader import FrameworkError, load_framework
    from corpus.home import framework_dir

    folder = shutil.copytree(framework_dir(), tmp_path / "fw")
    sources = folder / "sources.yaml"
    sources.write_text(sources.read_text().replace("genre: fiction", "genre: poetry", 1))
    with pytest.raises(FrameworkError, match="genre must be one of fiction, not 'poetry'"):
        load_framework(folder)


def test_a_shortened_link_ends_its_sentence_and_an_enumeration_is_no_open_parenthesis():
    from corpus.quotable import quotable_spans

    tweet = ("My answer is a reference to this earlier post nitter.net/karpathy/status/188254… "
             "Basically my timelines are a few times longer than what you hear at parties, but "
             "still optimistic. The apparent conflict is not: we 1) saw a lot of progress while "
             "2) there is still a lot of work remaining (integration work, sensors, safety).")
    quotes = [q for _, _, q in quotable_spans(tweet)]
    assert ("Basically my timelines are a few times longer than what you hear at parties, but "
            "still optimistic.") in quotes
    assert any(q.startswith("The apparent conflict is not: we 1) saw") for q in quotes)
    assert not any("nitter.net" in q for q in quotes)
    assert not any("fine) and" in q for q in (q for _, _, q in quotable_spans(
        "It ran for a while and was fine) and then it stopped working for good.")))


def test_a_markdown_heading_is_not_quoted_as_something_he_said():
    from corpus.quotable import quotable_spans

    doc = ("So the paper says they trained on two trillion tokens, and that is a lot.\n\n"
           "### Brief taste of the complexities of tokenization\n\n"
           "Tokenization is at the heart of much weirdness of large language models.")
    quotes = [q for _, _, q in quotable_spans(doc)]
    assert "Tokenization is at the heart of much weirdness of large language models." in quotes
    assert not any("Brief taste" in q for q in quotes)


def test_a_bold_title_line_is_not_quoted_but_a_bold_sentence_is():
    from corpus.quotable import quotable_spans

    doc = ("**Lecture 5: Building makemore Part 4: Becoming a Backprop Ninja**\n\n"
           "We take the two-layer network and backpropagate through it by hand, with no "
           "autograd.\n\n**Backprop is well worth understanding and gaining intuition for.**")
    quotes = [q for _, _, q in quotable_spans(doc)]
    assert not any("Lecture 5" in q for q in quotes)
    assert "Backprop is well worth understanding and gaining intuition for." in quotes
    assert any(q.startswith("We take the two-layer network") for q in quotes)


def test_what_is_x_puts_the_sentence_that_defines_x_first(embed):
    from simulator.quotes import defined_term

    assert defined_term("What is vibe coding?") == "vibe coding"
    assert defined_term("What does he mean by Software 2.0?") == "software 2.0"
    assert defined_term("Why is vibe coding popular?") is None
    posts = [passage("A friend asked me if I was vibe coding today and I said no, I am really "
                     "coding.", 1),
             passage("I went to a vibe coding hackathon and built a small web app with "
                     "payments.", 2),
             passage("There is a new kind of coding I call vibe coding, where you give in to "
                     "the vibes and forget that the code even exists.", 3)]
    assert choose_quotes("What is vibe coding?", posts, embed)[0].evidence_index == 2


def test_a_step_is_backed_only_by_a_quote_that_relates_to_the_step_itself(embed):
    """A sentence close to the question but not to the step backs nothing: the step is left
    unbacked rather than shown with a quote that has nothing to do with it."""
    from simulator.reading import STEP_BACKING, STEP_RELATES

    post = passage("The repository trains a small GPT in a few hours on one node. It is the "
                   "simplest, fastest repository for training medium-sized GPTs.")
    question = "Which repository trains a small GPT fastest?"
    pool = QuotePool(question, [post], embed)
    step = embed(["Look at the raw data before theorising: have I looked at many examples of "
                  "the inputs with my own eyes?"])[0]
    assert pool.best_for(step, STEP_BACKING - 0.2) is not None  # close enough to the question
    assert pool.best_for(step, STEP_BACKING - 0.2, relates=STEP_RELATES) is None


def test_a_question_about_a_talk_does_not_discount_its_captions(embed):
    """Unpunctuated captions rank below written sentences that say as much, unless the
    question asks about a talk: then what he said there is what is asked for."""
    captions = passage("so the reason we divide by the square root of the head size here is "
                       "to keep the variance at one before it goes into the softmax", n=2,
                       chunk_id="yt:abcdefghijk#3", doc_id="yt:abcdefghijk", kind="transcript")
    post = passage("Dividing by the square root of the head size keeps the variance near one "
                   "before the softmax.")
    written = choose_quotes("Why divide by the square root of the head size before the softmax?",
                            [post, captions], embed, k=1)
    spoken = choose_quotes("In his lecture, why does he divide by the square root of the head "
                           "size before the softmax?", [post, captions], embed, k=1)
    assert written[0].evidence_index == 0 and spoken[0].evidence_index == 1
