"""The persona: his way of thinking rendered from the framework data, not pasted from a blob.

    text = render_persona(framework, relevant={"axiom:verifiability", "model:software-2-3"})

The items most relevant to the question are rendered in full (summary, description, one short
quote); every other axiom, mental model and aesthetic gets one line; the response protocol and
the blind spots to flag close it. A token budget (≈ 4 characters a token) is kept by rendering
fewer items in full. Editing a framework file changes the prompt on the next run.
"""
from __future__ import annotations

from corpus.framework_model import Framework, Item

CHARS_PER_TOKEN = 4
DEFAULT_BUDGET = 2500  # tokens for the whole persona


def render_persona(framework: Framework, relevant: set[str] | None = None,
                   budget: int = DEFAULT_BUDGET) -> str:
    relevant = set(relevant or ())
    full = [i for kind in ("axiom", "model") for i in framework.of_kind(kind) if i.id in relevant]
    while True:
        text = _render(framework, full)
        if len(text) <= budget * CHARS_PER_TOKEN or not full:
            return text
        full = full[:-1]  # the least relevant full item drops to one line


def _render(framework: Framework, full: list[Item]) -> str:
    full_ids = {i.id for i in full}
    parts = ["# How Andrej Karpathy thinks (rendered from the framework data)"]
    if framework.generating_function:
        gf = framework.generating_function
        parts.append(f"Generating function: {gf.title}. {gf.summary}")
    if full:
        parts.append("## Most relevant to this question")
        parts += [_full(i) for i in full]
    for kind, heading in (("axiom", "Axioms (what he takes as given)"),
                          ("model", "Mental models"), ("aesthetic", "Aesthetic preferences")):
        lines = [f"- {_label(i)}: {i.summary}" for i in framework.of_kind(kind)
                 if i.id not in full_ids]
        if lines:
            parts.append(f"## {heading}\n" + "\n".join(lines))
    steps = framework.of_kind("step")
    if steps:
        parts.append("## How he approaches a problem\n" + "\n".join(
            f"{s.attrs['order']}. {s.title}: {s.attrs['question']}" for s in steps))
    blind = framework.of_kind("blindspot")
    if blind:
        parts.append("## Known blind spots (flag them when relevant)\n"
                     + "\n".join(f"- {b.title}: {b.summary}" for b in blind))
    return "\n\n".join(parts)


def _full(item: Item) -> str:
    text = f"### {_label(item)}\n{item.summary} {item.description}"
    if item.quotes:
        q = item.quotes[0]
        text += f'\nIn his words: "{q.text}" ({q.source.title}, {q.source.date})'
    return text


def _label(item: Item) -> str:
    number = item.attrs.get("number")
    return f"Axiom {number}, {item.title}" if number else item.title
