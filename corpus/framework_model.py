"""The framework of his ideas as plain data: items (axioms, mental models, tensions, ...), their
quotes with sources, the links between them, and the registry of his known public sources.

The YAML schema is described in `corpus/framework/README.md`; `framework_loader` reads and
validates it into these classes. One generic `Item` carries every kind: the kinds differ only in
which links and attributes they have, and those are declared in `KINDS` below.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class LinkSpec:
    targets: tuple[str, ...]  # item kinds a reference may point at ("*" = any)
    exactly: int | None = None  # e.g. a tension names exactly two axioms
    at_least: int = 0


@dataclass(frozen=True)
class KindSpec:
    kind: str  # "axiom"
    label: str  # "Axiom" (also the graph node kind)
    file: str  # "axioms.yaml"
    key: str  # top-level key in that file
    links: Mapping[str, LinkSpec] = field(default_factory=dict)
    required: tuple[str, ...] = ()  # kind-specific attributes that must be present
    optional: tuple[str, ...] = ()
    min_quotes: int = 0
    title_key: str = "title"


_ANY = LinkSpec(("*",))
_IDEAS = ("axiom", "model")

KINDS: dict[str, KindSpec] = {s.kind: s for s in [
    KindSpec("axiom", "Axiom", "axioms.yaml", "axioms", required=("number",), min_quotes=1),
    KindSpec("model", "MentalModel", "mental_models.yaml", "mental_models",
             links={"axioms": LinkSpec(("axiom",), at_least=1)}, min_quotes=1),
    KindSpec("tension", "Tension", "tensions.yaml", "tensions",
             links={"between": LinkSpec(("axiom",), exactly=2)}, optional=("resolution",)),
    KindSpec("prediction", "Prediction", "predictions.yaml", "predictions",
             links={"grounds": LinkSpec(_IDEAS)}, required=("type",), optional=("made", "horizon")),
    KindSpec("tradition", "Tradition", "lineage.yaml", "traditions",
             links={"members": LinkSpec(("person", "work"))}),
    KindSpec("person", "Person", "lineage.yaml", "people", title_key="name",
             links={"influenced": LinkSpec(_IDEAS)}, optional=("took", "cited")),
    KindSpec("work", "Work", "lineage.yaml", "works",
             links={"author": LinkSpec(("person",)), "influenced": LinkSpec(_IDEAS)},
             optional=("year", "url")),
    KindSpec("era", "Era", "eras.yaml", "eras", required=("start",),
             optional=("end", "highlights")),
    KindSpec("blindspot", "BlindSpot", "blind_spots.yaml", "blind_spots",
             links={"challenges": LinkSpec(_IDEAS)}),
    KindSpec("extension", "Extension", "blind_spots.yaml", "extensions",
             links={"addresses": LinkSpec(("blindspot",)), "challenges": LinkSpec(_IDEAS)}),
    KindSpec("step", "ProtocolStep", "protocol.yaml", "protocol",
             links={"axioms": LinkSpec(("axiom",))}, required=("order", "question")),
    KindSpec("aesthetic", "Aesthetic", "persona.yaml", "persona.aesthetics"),
]}
PREDICTION_TYPES = ("explicit", "implicit")


@dataclass(frozen=True)
class QuoteSource:
    title: str
    date: str  # YYYY-MM-DD
    url: str
    at: int | None = None  # seconds into a video or podcast


@dataclass(frozen=True)
class Quote:
    id: str  # "<item id>#q<n>"
    item_id: str
    text: str
    source: QuoteSource


@dataclass(frozen=True)
class Item:
    id: str
    kind: str
    title: str
    summary: str
    description: str
    quotes: tuple[Quote, ...] = ()
    links: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # incl. "related"
    attrs: Mapping[str, Any] = field(default_factory=dict)  # number, type, start, ...
    file: str = ""
    line: int = 0

    @property
    def label(self) -> str:
        return KINDS[self.kind].label


@dataclass(frozen=True)
class RegistrySource:
    """A known public source of his (a fact, not an opinion): post, talk, podcast, paper, repo."""
    id: str  # the id the corpus gives it once ingested: blog:<slug>, yt:<id>, repo:<o>/<n>, ...
    kind: str
    title: str
    url: str
    date: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # youtube_id, arxiv_id, repo, host


@dataclass(frozen=True)
class Subject:
    """Whose words the partner serves, as data (`subject.yaml`): the name passages of his are
    attributed to, and the evidence that material is his (handles, accounts, domains, repos,
    channels). Editing this file is all it takes to point the partner at another thinker."""
    name: str
    aliases: tuple[str, ...] = ()  # other ways he is named (first name, surname, ASR spellings)
    handles: tuple[str, ...] = ()  # X / Twitter handles, without @
    x_account_ids: tuple[str, ...] = ()
    github_owners: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()  # sites that publish only his writing
    youtube_channels: tuple[str, ...] = ()  # channel ids, @handles or names

    def is_handle(self, handle: str | None) -> bool:
        return bool(handle) and handle.lstrip("@").lower() in {h.lower() for h in self.handles}

    def is_named(self, name: str | None) -> bool:
        """Is `name` (an author field, a speaker label) him?"""
        if not name:
            return False
        wanted = " ".join(name.lstrip("@").split()).lower()
        return wanted in {n.lower() for n in (self.name, *self.aliases, *self.handles)}

    def owns_domain(self, host: str | None) -> bool:
        host = (host or "").lower().removeprefix("www.")
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def owns_channel(self, channel: str | None) -> bool:
        return bool(channel) and channel.strip().lower() in {
            c.lower() for c in (*self.youtube_channels, self.name)}


DEFAULT_SUBJECT = Subject(name="Andrej Karpathy")


@dataclass(frozen=True)
class Framework:
    items: Mapping[str, Item]
    registry: Mapping[str, RegistrySource]
    generating_function: Item | None = None
    subject: Subject = DEFAULT_SUBJECT

    def of_kind(self, kind: str) -> list[Item]:
        items = [i for i in self.items.values() if i.kind == kind]
        order = {"axiom": "number", "step": "order", "era": "start"}.get(kind)
        return sorted(items, key=lambda i: (str(i.attrs.get(order, "")).zfill(8) if order else "",
                                            i.title.lower()))

    def get(self, item_id: str) -> Item | None:
        return self.items.get(item_id)

    def quotes(self) -> list[Quote]:
        found = [q for i in self.items.values() for q in i.quotes]
        if self.generating_function:
            found.extend(self.generating_function.quotes)
        return found

    def counts(self) -> dict[str, int]:
        by_kind = {k: len(self.of_kind(k)) for k in KINDS}
        by_kind["quote"] = len(self.quotes())
        by_kind["source"] = len(self.registry)
        return by_kind

    def referencing(self, item_id: str, link: str | None = None) -> list[Item]:
        """Items whose links point at `item_id` (optionally through one named link)."""
        return [i for i in self.items.values()
                if any(item_id in targets for name, targets in i.links.items()
                       if link is None or name == link)]
