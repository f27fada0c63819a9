"""An isolated world for every test: its own data home under tmp_path, the packaged framework
unless a test points KTP_FRAMEWORK elsewhere, and helpers to write small framework folders."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from corpus.store import CorpusStore

REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata"
requires_realdata = pytest.mark.skipif(not REALDATA.is_dir(),
                                       reason="../shared/realdata is not here")


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "ktp-home"
    monkeypatch.setenv("KTP_HOME", str(home))
    monkeypatch.delenv("KTP_FRAMEWORK", raising=False)
    return home


@pytest.fixture
def store(tmp_path: Path):
    with CorpusStore(tmp_path / "corpus.sqlite3") as s:
        yield s


def write_files(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return folder


# A framework small enough to work out by hand (see tests/test_textbook.py).
TINY_FRAMEWORK = {
    "axioms.yaml": """
        axioms:
          - id: axiom:small
            number: 1
            title: Small things first
            summary: Start with the smallest version.
            description: Build the smallest working thing before anything bigger.
            quotes:
              - text: "the smallest thing that works"
                source: {title: Small post, date: 2020-01-01, url: "http://karpathy.github.io/2020/01/01/small/"}
          - id: axiom:verify
            number: 2
            title: Check what you can
            summary: Automate what can be checked.
            description: Work that can be verified can be handed to machines.
            quotes:
              - text: "if you can check it you can automate it"
                source: {title: Tweet, date: 2021-05-05, url: "https://x.com/karpathy/status/42"}
        """,
    "mental_models.yaml": """
        mental_models:
          - id: model:loop
            title: The build loop
            summary: Build, understand, automate.
            description: First by hand, then automated.
            axioms: [axiom:small]
            quotes:
              - text: "build it by hand first"
                source: {title: Small post, date: 2020-01-01, url: "http://karpathy.github.io/2020/01/01/small/"}
        """,
    "tensions.yaml": """
        tensions:
          - id: tension:small-vs-verify
            title: Small versus checked
            summary: Small things are not always checkable.
            description: The two pull apart when checking needs scale.
            between: [axiom:small, axiom:verify]
        """,
    "eras.yaml": """
        eras:
          - id: era:early
            title: Early years
            start: 2019-01
            end: 2020-12
            summary: The early years.
            description: When the small things were built.
        """,
    "sources.yaml": """
        sources:
          - id: blog:small
            kind: blog
            title: Small post
            date: 2020-01-01
            url: http://karpathy.github.io/2020/01/01/small/
        """,
}


@pytest.fixture
def tiny_framework(tmp_path: Path) -> Path:
    return write_files(tmp_path / "framework", TINY_FRAMEWORK)
