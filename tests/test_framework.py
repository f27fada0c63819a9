"""Framework loading and validation: the real files load, and each kind of broken file is
rejected with a message that names the file and the line."""
from pathlib import Path

import pytest

from conftest import TINY_FRAMEWORK, write_files
from corpus.framework_loader import FrameworkError, load_framework


def broken(tmp_path: Path, name: str, text: str) -> FrameworkError:
    folder = write_files(tmp_path / "fw", {**TINY_FRAMEWORK, name: text})
    with pytest.raises(FrameworkError) as caught:
        load_framework(folder)
    return caught.value


def only_problem(error: FrameworkError) -> str:
    assert len(error.problems) == 1, [str(p) for p in error.problems]
    return str(error.problems[0])


def test_the_tiny_framework_loads(tiny_framework):
    fw = load_framework(tiny_framework)
    assert [a.id for a in fw.of_kind("axiom")] == ["axiom:small", "axiom:verify"]
    assert fw.items["model:loop"].links == {"axioms": ("axiom:small",)}
    [quote] = fw.items["axiom:small"].quotes
    assert (quote.id, quote.source.date) == ("axiom:small#q1", "2020-01-01")
    assert fw.referencing("axiom:small", "between")[0].id == "tension:small-vs-verify"


def test_a_dangling_reference_is_named_with_file_and_line(tmp_path):
    error = broken(tmp_path, "mental_models.yaml", """
        mental_models:
          - id: model:loop
            title: Loop
            summary: s
            description: d
            axioms: [axiom:small, axiom:missing]
            quotes: [{text: q, source: {title: t, date: 2020-01-01, url: "https://x.com/a/status/1"}}]
        """)
    assert only_problem(error) == ("mental_models.yaml:2: model:loop: `axioms` refers to "
                                   "'axiom:missing', which is not defined in any framework file")


def test_a_reference_to_the_wrong_kind_is_rejected(tmp_path):
    error = broken(tmp_path, "tensions.yaml", """
        tensions:
          - id: tension:odd
            title: Odd
            summary: s
            description: d
            between: [axiom:small, model:loop]
        """)
    assert "`between` must point at axiom items, not 'model:loop'" in only_problem(error)


def test_a_quote_without_a_source_is_rejected(tmp_path):
    error = broken(tmp_path, "axioms.yaml", """
        axioms:
          - id: axiom:small
            number: 1
            title: Small
            summary: s
            description: d
            quotes:
              - text: "a quote with nowhere to come from"
          - id: axiom:verify
            number: 2
            title: Verify
            summary: s
            description: d
            quotes:
              - text: "q"
                source: {title: T, url: "https://x.com/a/status/2"}
        """)
    messages = [str(p) for p in error.problems]
    assert "axioms.yaml:8: axiom:small: quote 1 has no source; add `source:` with title, " \
           "date and url" in messages
    assert "axioms.yaml:16: axiom:verify: quote 1's source lacks date" in messages


def test_a_duplicate_id_names_both_places(tmp_path):
    error = broken(tmp_path, "tensions.yaml", """
        tensions:
          - id: axiom:small
            title: Not a tension id at all
            summary: s
            description: d
            between: [axiom:small, axiom:verify]
        """)
    messages = [str(p) for p in error.problems]
    assert ("tensions.yaml:2: duplicate id 'axiom:small' (first defined at axioms.yaml:2)"
            in messages)
    assert any("must start with 'tension:'" in m for m in messages)


def test_a_tension_must_name_exactly_two_axioms(tmp_path):
    error = broken(tmp_path, "tensions.yaml", """
        tensions:
          - id: tension:lonely
            title: One-sided
            summary: s
            description: d
            between: [axiom:small]
        """)
    assert "must name exactly 2 different items, not 1" in only_problem(error)


def test_unknown_fields_and_missing_text_are_reported(tmp_path):
    error = broken(tmp_path, "eras.yaml", """
        eras:
          - id: era:early
            title: Early
            start: 2019-01
            summary: s
            descripton: typo in the key
        """)
    messages = [str(p) for p in error.problems]
    assert any(m.startswith("eras.yaml:2: era:early: unknown field `descripton`") for m in messages)
    assert "eras.yaml:2: era:early: missing `description` (a non-empty string)" in messages


def test_invalid_yaml_names_the_line(tmp_path):
    error = broken(tmp_path, "eras.yaml", "eras:\n  - id: era:x\n    title: [unclosed\n")
    assert only_problem(error).startswith("eras.yaml:4: not valid YAML")


def test_a_missing_folder_says_how_to_point_at_one(tmp_path):
    with pytest.raises(FrameworkError, match="set KTP_FRAMEWORK"):
        load_framework(tmp_path / "nowhere")


def test_the_packaged_framework_is_complete():
    fw = load_framework()
    counts = fw.counts()
    assert counts["axiom"] == 10
    assert [a.attrs["number"] for a in fw.of_kind("axiom")] == list(range(1, 11))
    for kind in ("model", "tension", "prediction", "tradition", "person", "work", "era",
                 "blindspot", "extension", "step", "aesthetic"):
        assert counts[kind] > 0, kind
    assert fw.generating_function is not None
    assert {p.attrs["type"] for p in fw.of_kind("prediction")} == {"explicit", "implicit"}
    assert len(fw.registry) >= 40
    assert all(q.source.url.startswith("http") for q in fw.quotes())
