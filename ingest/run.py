"""One ingest run: walk the inputs, read each with the right reader, store what is good, and
report everything else with its reason.

    summary = ingest_paths([Path("notes/")], store)
    print(summary.line())   # "loaded 12, unchanged 3, replaced 1, skipped 2"

A bad item never stops the run and never touches what is already stored: each document is
written in its own transaction, and a skipped item is only listed in the summary.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from corpus.model import Document
from corpus.store import CorpusStore
from ingest.errors import SkipItem
from ingest.textfile import SUFFIXES, read_text_file


@dataclass
class IngestSummary:
    loaded: int = 0
    unchanged: int = 0
    replaced: int = 0
    skipped: list[dict] = field(default_factory=list)  # [{"path": ..., "reason": ...}]
    by_kind: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"loaded": self.loaded, "unchanged": self.unchanged, "replaced": self.replaced,
                "skipped": self.skipped, "by_kind": dict(sorted(self.by_kind.items()))}

    def line(self) -> str:
        return (f"loaded {self.loaded}, unchanged {self.unchanged}, replaced {self.replaced}, "
                f"skipped {len(self.skipped)}")


def ingest_paths(paths: Iterable[Path], store: CorpusStore,
                 progress: Callable[[Path], None] | None = None) -> IngestSummary:
    paths = list(paths)
    summary = IngestSummary()
    run_id = store.start_run([str(p) for p in paths])
    for path in _walk(paths, summary):
        if progress:
            progress(path)
        try:
            _store(read_text_file(path), store, summary)
        except SkipItem as e:
            summary.skipped.append({"path": str(path), "reason": str(e)})
        except OSError as e:
            summary.skipped.append({"path": str(path), "reason": f"cannot read: {e.strerror}"})
    store.finish_run(run_id, summary.as_dict())
    return summary


def _store(doc: Document, store: CorpusStore, summary: IngestSummary) -> None:
    existing = store.get(doc.id)
    if existing and existing.origin != doc.origin and existing.hash != doc.hash:
        raise SkipItem(f"its id {doc.id!r} is already taken by {existing.origin}; give one of "
                       "them its own `id:` in the front matter")
    outcome = store.add(doc)
    setattr(summary, outcome, getattr(summary, outcome) + 1)
    summary.by_kind[doc.kind] += 1


def _walk(paths: list[Path], summary: IngestSummary) -> Iterator[Path]:
    """Files to read, in a stable order. Hidden files and folders (.git, .DS_Store) are passed
    over; other files that are not text formats are reported as skipped."""
    for path in paths:
        if not path.exists():
            summary.skipped.append({"path": str(path), "reason": "no such file or folder"})
        elif path.is_file():
            yield from _supported(path, summary)
        else:
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if child.is_file() and not any(p.startswith(".") for p in rel.parts):
                    yield from _supported(child, summary)


def _supported(path: Path, summary: IngestSummary) -> Iterator[Path]:
    if path.suffix.lower() in SUFFIXES:
        yield path
    else:
        summary.skipped.append({"path": str(path), "reason": f"unsupported format "
                                f"({path.suffix or 'no extension'}); ktp ingest reads "
                                f"{', '.join(SUFFIXES)} files"})
