"""Load and validate the framework YAML files (`corpus/framework/`) into a `Framework`.

    framework = load_framework()            # the packaged files, or $KTP_FRAMEWORK
    framework = load_framework(Path("my/"))  # a folder of your own

Every problem found is reported at once, each as `file:line: what is wrong`, so that a broken
file can be fixed in one pass: duplicate ids, references to items that do not exist (or are of
the wrong kind), quotes without a complete source, missing fields, unknown fields (usually a typo).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.errors import KtpError
from corpus.framework_model import (
    KINDS, PREDICTION_TYPES, Framework, Item, KindSpec, Quote, QuoteSource, RegistrySource,
    Subject,
)
from corpus.home import framework_dir

SOURCES_FILE = "sources.yaml"
SUBJECT_FILE = "subject.yaml"
_SUBJECT_LISTS = ("aliases", "handles", "x_account_ids", "github_owners", "domains",
                  "youtube_channels")
_COMMON_KEYS = {"id", "summary", "description", "quotes", "related", "__line__"}
_REGISTRY_KEYS = {"id", "kind", "title", "url", "date", "__line__"}
_REGISTRY_EXTRA = {"youtube_id", "arxiv_id", "repo", "host", "duration", "note",
                   "other_speakers", "channel", "genre"}
GENRES = {"fiction"}  # a source whose words are his but are not his views (a short story)
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_ID = re.compile(r"^[a-z]+:[a-z0-9][a-z0-9._/-]*$")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class FrameworkError(KtpError, ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        head = f"the framework has {len(problems)} problem(s); fix them and run `ktp build` again:"
        super().__init__("\n".join([head] + [f"  {p}" for p in problems]))


def load_framework(folder: Path | None = None) -> Framework:
    """The framework in `folder` (default: the packaged one, or $KTP_FRAMEWORK's). Parsed once
    per process for the same file contents: the subject, the world and the retriever each ask
    for it, and parsing is ~0.2 s of a cold `ktp ask`."""
    folder = Path(folder) if folder else framework_dir()
    if not folder.is_dir():
        raise FrameworkError([Problem(str(folder), 0, "no such folder; set KTP_FRAMEWORK to the "
                                      "folder that holds axioms.yaml and the other files")])
    key = _contents(folder)
    if key not in _LOADED:
        _LOADED.clear()  # one framework in use at a time; a changed file makes a new key
        _LOADED[key] = _Loader(folder).load()
    return _LOADED[key]


_LOADED: dict[str, Framework] = {}


def _contents(folder: Path) -> str:
    """A digest of the folder's YAML files, names and bytes (Framework is immutable)."""
    import hashlib

    digest = hashlib.sha256(str(folder.resolve()).encode())
    for path in sorted(folder.glob("*.y*ml")):
        digest.update(path.name.encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"unreadable")  # the loader reports it
    return digest.hexdigest()


class _Loader:
    def __init__(self, folder: Path):
        self.folder = folder
        self.problems: list[Problem] = []
        self.items: dict[str, Item] = {}
        self.where: dict[str, tuple[str, int]] = {}  # id -> (file, line), for duplicate reports

    def problem(self, file: str, line: int, message: str) -> None:
        self.problems.append(Problem(file, line, message))

    def load(self) -> Framework:
        docs = {name: self.read(name) for name in sorted({s.file for s in KINDS.values()}
                                                           | {SOURCES_FILE, SUBJECT_FILE})}
        if not any(d is not None for d in docs.values()):
            self.problem(str(self.folder), 0, "no framework files here (expected axioms.yaml, …)")
        generating = None
        persona = docs.get("persona.yaml") or {}
        if isinstance(persona.get("persona"), dict) and "generating_function" in persona["persona"]:
            gf = dict(persona["persona"]["generating_function"])
            gf.setdefault("id", "persona:generating-function")
            generating = self.item(KindSpec("persona", "GeneratingFunction", "persona.yaml", ""),
                                   gf, register=False)
        for spec in KINDS.values():
            for raw in self.entries(docs.get(spec.file), spec.file, spec.key):
                self.item(spec, raw)
        registry = self.registry(docs.get(SOURCES_FILE))
        subject = self.subject(docs.get(SUBJECT_FILE))
        self.check_links()
        if self.problems:
            raise FrameworkError(self.problems)
        return Framework(items=dict(sorted(self.items.items())), registry=registry,
                         generating_function=generating, subject=subject)

    # ---- reading ------------------------------------------------------------------------------
    def read(self, name: str) -> dict | None:
        import yaml

        path = self.folder / name
        if not path.exists():
            return None
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_line_loader())
        except UnicodeDecodeError as e:
            self.problem(name, 0, f"not UTF-8 text ({e.reason}); save it as UTF-8")
            return None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            self.problem(name, mark.line + 1 if mark else 0,
                         f"not valid YAML: {getattr(e, 'problem', None) or e}")
            return None
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.problem(name, 1, "the file must be a mapping of top-level keys to lists")
            return None
        return data

    def entries(self, doc: dict | None, file: str, key: str) -> list[dict]:
        if doc is None:
            return []
        node: Any = doc
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return []
        if not isinstance(node, list):
            self.problem(file, _line(doc), f"`{key}` must be a list of items")
            return []
        good = [e for e in node if isinstance(e, dict)]
        if len(good) != len(node):
            self.problem(file, _line(doc), f"every entry under `{key}` must be a mapping")
        return good

    # ---- one item -----------------------------------------------------------------------------
    def item(self, spec: KindSpec, raw: dict, register: bool = True) -> Item | None:
        file, line = spec.file, _line(raw)
        item_id = raw.get("id")
        if not isinstance(item_id, str) or not _ID.match(item_id):
            self.problem(file, line, f"missing or malformed id {item_id!r}; "
                         f"use '{spec.kind}:<kebab-case-name>'")
            return None
        if register and not item_id.startswith(spec.kind + ":"):
            self.problem(file, line, f"id {item_id!r} under `{spec.key}` must start with "
                         f"'{spec.kind}:'")
        allowed = _COMMON_KEYS | {spec.title_key} | set(spec.links) | set(spec.required) \
            | set(spec.optional)
        for key in sorted(set(raw) - allowed):
            self.problem(file, line, f"{item_id}: unknown field `{key}` "
                         f"(allowed: {', '.join(sorted(allowed - {'__line__'}))})")
        text = {k: self.text(raw, k, file, item_id) for k in (spec.title_key, "summary",
                                                              "description")}
        for key in spec.required:
            if raw.get(key) in (None, ""):
                self.problem(file, line, f"{item_id}: missing required field `{key}`")
        if spec.kind == "prediction" and raw.get("type") not in (None, *PREDICTION_TYPES):
            self.problem(file, line, f"{item_id}: `type` must be one of {PREDICTION_TYPES}")
        quotes = self.quotes(raw.get("quotes") or [], file, line, item_id)
        if len(quotes) < spec.min_quotes:
            self.problem(file, line, f"{item_id}: needs at least {spec.min_quotes} quote(s) with "
                         "a source")
        links = {name: self.refs(raw, name, file, item_id)
                 for name in [*spec.links, "related"] if raw.get(name) is not None}
        attrs = {k: _plain(raw[k]) for k in (*spec.required, *spec.optional) if k in raw}
        item = Item(id=item_id, kind=spec.kind, title=text[spec.title_key], summary=text["summary"],
                    description=text["description"], quotes=tuple(quotes), links=links,
                    attrs=attrs, file=file, line=line)
        if register:
            if item_id in self.items:
                first = self.where[item_id]
                self.problem(file, line, f"duplicate id {item_id!r} (first defined at "
                             f"{first[0]}:{first[1]})")
            else:
                self.items[item_id], self.where[item_id] = item, (file, line)
        return item

    def text(self, raw: dict, key: str, file: str, item_id: str) -> str:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            self.problem(file, _line(raw), f"{item_id}: missing `{key}` (a non-empty string)")
            return ""
        return " ".join(value.split())

    def refs(self, raw: dict, name: str, file: str, item_id: str) -> tuple[str, ...]:
        value = raw.get(name)
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(file, _line(raw), f"{item_id}: `{name}` must be a list of item ids")
            return ()
        return tuple(value)

    def quotes(self, raw_quotes: Any, file: str, line: int, item_id: str) -> list[Quote]:
        if not isinstance(raw_quotes, list):
            self.problem(file, line, f"{item_id}: `quotes` must be a list")
            return []
        quotes = []
        for n, raw in enumerate(raw_quotes, start=1):
            qline = _line(raw) if isinstance(raw, dict) else line
            text = raw.get("text") if isinstance(raw, dict) else raw
            if not isinstance(text, str) or not text.strip():
                self.problem(file, qline, f"{item_id}: quote {n} has no `text`")
                continue
            source = raw.get("source") if isinstance(raw, dict) else None
            if not isinstance(source, dict):
                self.problem(file, qline, f"{item_id}: quote {n} has no source; add `source:` "
                             "with title, date and url")
                continue
            missing = [k for k in ("title", "date", "url") if not source.get(k)]
            if missing:
                self.problem(file, _line(source), f"{item_id}: quote {n}'s source lacks "
                             f"{', '.join(missing)}")
                continue
            date = _plain(source["date"])
            if not _DATE.match(str(date)):
                self.problem(file, _line(source), f"{item_id}: quote {n}'s date {date!r} is not "
                             "YYYY-MM-DD")
                continue
            at = _seconds(source.get("at"))
            if at is False:
                self.problem(file, _line(source), f"{item_id}: quote {n}'s `at` must be seconds "
                             "or h:mm:ss")
                continue
            quotes.append(Quote(id=f"{item_id}#q{n}", item_id=item_id, text=" ".join(text.split()),
                                source=QuoteSource(title=str(source["title"]), date=str(date),
                                                   url=str(source["url"]),
                                                   at=at)))
        return quotes

    # ---- the subject ---------------------------------------------------------------------------
    def subject(self, doc: dict | None) -> Subject:
        raw = (doc or {}).get("subject")
        if doc is None or not isinstance(raw, dict) or not str(raw.get("name") or "").strip():
            self.problem(SUBJECT_FILE, _line(doc) if isinstance(doc, dict) else 0,
                         "needs `subject:` with at least a `name:` (whose words these are)")
            return Subject(name="unknown")
        for key in sorted(set(raw) - {"name", "__line__", *_SUBJECT_LISTS}):
            self.problem(SUBJECT_FILE, _line(raw), f"subject: unknown field `{key}`")
        lists = {}
        for key in _SUBJECT_LISTS:
            value = raw.get(key) or []
            if not isinstance(value, list):
                self.problem(SUBJECT_FILE, _line(raw), f"subject: `{key}` must be a list")
                value = []
            lists[key] = tuple(str(_plain(v)) for v in value)
        return Subject(name=" ".join(str(raw["name"]).split()), **lists)

    # ---- registry and cross references --------------------------------------------------------
    def registry(self, doc: dict | None) -> dict[str, RegistrySource]:
        found: dict[str, RegistrySource] = {}
        for raw in self.entries(doc, SOURCES_FILE, "sources"):
            line, sid = _line(raw), raw.get("id")
            missing = [k for k in ("id", "kind", "title", "url") if not raw.get(k)]
            if missing:
                self.problem(SOURCES_FILE, line, f"source {sid or '?'} lacks {', '.join(missing)}")
                continue
            for key in sorted(set(raw) - _REGISTRY_KEYS - _REGISTRY_EXTRA):
                self.problem(SOURCES_FILE, line, f"{sid}: unknown field `{key}`")
            if sid in found:
                self.problem(SOURCES_FILE, line, f"duplicate source id {sid!r}")
                continue
            extra = {k: _plain(raw[k]) for k in sorted(_REGISTRY_EXTRA & set(raw))}
            if "genre" in extra and extra["genre"] not in GENRES:
                self.problem(SOURCES_FILE, line, f"{sid}: genre must be one of "
                             f"{', '.join(sorted(GENRES))}, not {extra['genre']!r}")
            found[sid] = RegistrySource(id=sid, kind=str(raw["kind"]), title=str(raw["title"]),
                                        url=str(raw["url"]),
                                        date=str(_plain(raw["date"])) if raw.get("date") else None,
                                        extra=extra)
        return dict(sorted(found.items()))

    def check_links(self) -> None:
        for item in self.items.values():
            spec = KINDS[item.kind]
            for name, targets in item.links.items():
                link = spec.links.get(name)
                allowed = link.targets if link else ("*",)
                for target in targets:
                    other = self.items.get(target)
                    if other is None:
                        self.problem(item.file, item.line, f"{item.id}: `{name}` refers to "
                                     f"{target!r}, which is not defined in any framework file")
                    elif "*" not in allowed and other.kind not in allowed:
                        self.problem(item.file, item.line, f"{item.id}: `{name}` must point at "
                                     f"{' or '.join(allowed)} items, not {target!r}")
                if link and link.exactly is not None and len(set(targets)) != link.exactly:
                    self.problem(item.file, item.line, f"{item.id}: `{name}` must name exactly "
                                 f"{link.exactly} different items, not {len(set(targets))}")
            for name, link in spec.links.items():
                if link.at_least and len(item.links.get(name, ())) < link.at_least:
                    self.problem(item.file, item.line, f"{item.id}: `{name}` needs at least "
                                 f"{link.at_least} item id(s)")


def _line_loader():
    """A SafeLoader that records each mapping's line as `__line__` (1-based)."""
    import yaml

    class LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml: ~5x faster
        pass

    def mapping(loader, node, deep=False):
        value = yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=True)
        value["__line__"] = node.start_mark.line + 1
        return value

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return LineLoader


def _seconds(value: Any) -> int | None | bool:
    """`at:` as seconds: 754, "754" or "12:34" / "1:02:34"; False when it is neither."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    parts = str(value).split(":")
    if all(p.isdigit() for p in parts) and len(parts) <= 3:
        return sum(int(p) * 60 ** i for i, p in enumerate(reversed(parts)))
    return False


def _line(raw: Any) -> int:
    return raw.get("__line__", 0) if isinstance(raw, dict) else 0


def _plain(value: Any) -> Any:
    """YAML turns 2025-11-16 into a date object; keep dates as ISO strings, drop line markers."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
