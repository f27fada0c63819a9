"""Rolling-caption merging: every spoken word once, in order."""
from ingest.captions import merge_rolling_lines


def test_rolling_lines_give_each_word_once():
    lines = ["we are redoing computing", "we are redoing computing all over again",
             "all over again", "all over again and they are available", "and they are available"]
    assert merge_rolling_lines(lines) == \
        "we are redoing computing all over again and they are available"


def test_plain_lines_are_kept_whole_even_when_a_word_repeats_by_chance():
    lines = ["what is it", "it is a model", "a model of text"]
    assert merge_rolling_lines(lines) == "what is it it is a model a model of text"


def test_a_line_repeated_exactly_appears_once():
    assert merge_rolling_lines(["hello there", "hello there", "", "general idea"]) == \
        "hello there general idea"
