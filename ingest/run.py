"""One ingest run: walk the inputs, read each with the right reader, store what is good, and
report everything else with its reason.

    summary = ingest_paths([Path("notes/")], store)
    print(summary.line())   # "loaded 12, unchanged 3, replaced 1, skipped 2"

A bad item never stops the run and never touches what is already stored: a skipped item is
only listed in the summary, and documents are committed in batches (`CorpusStore.batched`), so
a crash rolls back the open batch and never leaves half a document.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from corpus.store import CorpusStore
from ingest.base import Loaded, Skipped
from ingest.detect import is_url, is_x_archive_folder, reader_for, url_reader
from ingest.errors import SkipItem
from ingest.http_fetch import Fetcher


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


def ingest_paths(paths: Iterable[Path | str], store: CorpusStore,
                 progress: Callable[[int, int, Path | str | None], None] | None = None,
                 forced: str | None = None, fetcher: Fetcher | None = None) -> IngestSummary:
    """Ingest files, folders, archives and URLs (strings starting with http:// or https://).
    `progress(done, total, input)` is called before each input; `forced` is a format name from
    `ingest.detect.FORMATS` instead of detecting it; `fetcher` fetches URLs (by default with
    a cache beside the store)."""
    paths = [str(p) if is_url(str(p)) else Path(p) for p in paths]
    fetcher = fetcher or Fetcher(store.path.parent / "http-cache")
    summary = IngestSummary()
    run_id = store.start_run([str(p) for p in paths])
    inputs = list(_walk(paths, summary))
    for done, path in enumerate(inputs):
        if progress:
            progress(done, len(inputs), path)
        first_seen: dict[str, str] = {}  # ids this input has produced: a repeat is a skip
        with store.batched() as batch:
            try:
                read = url_reader(path, fetcher) if isinstance(path, str) else \
                    reader_for(path, forced)
                for item in read(path):
                    if isinstance(item, Skipped):
                        summary.skipped.append({"path": item.where, "reason": item.reason})
                    elif item.document.id in first_seen:
                        summary.skipped.append({"path": str(path), "reason": (
                            f"{item.document.id} appears more than once in this input; the "
                            "first copy was kept")})
                    else:
                        first_seen[item.document.id] = str(path)
                        _store(item, store, summary)
                        batch.tick()
            except SkipItem as e:  # what was read before it is complete: it is committed
                summary.skipped.append({"path": str(path), "reason": str(e)})
            except OSError as e:
                summary.skipped.append({"path": str(path),
                                        "reason": f"cannot read: {e.strerror}"})
    if progress:
        progress(len(inputs), len(inputs), None)
    store.finish_run(run_id, summary.as_dict())
    return summary


def _store(item: Loaded, store: CorpusStore, summary: IngestSummary) -> None:
    doc = item.document
    existing = store.existing(doc.id)
    if existing and existing[1] != doc.origin and existing[0] != doc.hash:
        if doc.kind in ("tweet", "thread"):
            # The same post from a second export (scrapes overlap): keep the fuller text, so
            # that ingesting both, in either order and again, settles instead of flip-flopping.
            if len(doc.text) <= existing[2]:
                summary.unchanged += 1
                summary.by_kind[doc.kind] += 1
                return
        else:
            summary.skipped.append({"path": doc.origin, "reason": (
                f"its id {doc.id!r} is already taken by {existing[1]}; give one of them "
                "its own `id:` in the front matter")})
            return
    outcome = store.add(doc, item.chunks)
    setattr(summary, outcome, getattr(summary, outcome) + 1)
    summary.by_kind[doc.kind] += 1


def _walk(paths: list[Path], summary: IngestSummary) -> Iterator[Path]:
    """Inputs to read, in a stable order: files, and an X archive folder as one input. Hidden
    files and folders (.git, .DS_Store) are passed over; media files are reported as skipped."""
    for path in paths:
        if isinstance(path, str):
            yield path  # a URL
        elif not path.exists():
            summary.skipped.append({"path": str(path), "reason": "no such file or folder"})
        elif path.is_file() or is_x_archive_folder(path):
            yield path
        else:
            yield from _walk_folder(path, summary)


def _walk_folder(folder: Path, summary: IngestSummary) -> Iterator[Path]:
    archives: list[Path] = []
    for child in sorted(folder.rglob("*")):
        rel = child.relative_to(folder)
        if any(p.startswith(".") for p in rel.parts) or any(a in child.parents for a in archives):
            continue
        if child.is_dir() and is_x_archive_folder(child):
            archives.append(child)
            yield child
        elif child.is_file() and child.suffix.lower() in MEDIA:
            summary.skipped.append({"path": str(child), "reason": f"a media file "
                                    f"({child.suffix}); only text, tweets and captions are read"})
        elif child.is_file():
            yield child


MEDIA = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".mp4", ".mov", ".webm", ".mp3",
         ".wav", ".m4a", ".pdf", ".ico"}
