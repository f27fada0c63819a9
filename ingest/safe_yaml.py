"""YAML from untrusted files (front matter, sidecars), read so that no value can hurt us.

    data = load_yaml(text)      # YAMLProblem with a one-line reason if it cannot be used

- Dates stay strings: `corpus.dates` checks them and says what is wrong (PyYAML's own
  timestamp parsing raises a bare ValueError on 2024-02-30 and accepts year 0).
- No anchors or aliases: a few lines of `&a [*a, *a, …]` expand to gigabytes once turned into
  JSON, and no front matter needs them.
- Nesting deeper than MAX_DEPTH is refused before PyYAML recurses into it.
"""
from __future__ import annotations

import yaml

MAX_DEPTH = 50
MAX_CHARS = 1_000_000


class YAMLProblem(ValueError):
    """The text cannot be used as YAML: `problem` says why, `line` (1-based) where, if known."""

    def __init__(self, problem: str, line: int | None = None):
        super().__init__(f"line {line}: {problem}" if line else problem)
        self.problem, self.line = problem, line


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise YAMLProblem("aliases (*name) are not accepted here; write the value out",
                              event.start_mark.line + 1)
        return super().compose_node(parent, index)


# Every implicit type SafeLoader knows, except timestamps (dates are read by corpus.dates).
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load_yaml(text: str):
    if len(text) > MAX_CHARS:
        raise YAMLProblem(f"{len(text):,} characters of YAML is more than the {MAX_CHARS:,} "
                          "read here")
    _check_depth(text)
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise YAMLProblem(str(getattr(e, "problem", None) or e),
                          mark.line + 1 if mark else None) from None
    except RecursionError:
        raise YAMLProblem(f"nested more than {MAX_DEPTH} levels deep") from None


def _check_depth(text: str) -> None:
    """Flow collections ([ and {) deeper than MAX_DEPTH, counted without parsing; block
    nesting is bounded by indentation, which PyYAML handles without deep recursion."""
    depth = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise YAMLProblem(f"nested more than {MAX_DEPTH} levels deep")
        elif ch in "]}":
            depth = max(0, depth - 1)
