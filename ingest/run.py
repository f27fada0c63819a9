"""One ingest run: walk the inputs, read each with the right reader, store what is good, and
report everything else with its reason.

    summary = ingest_paths([Path("notes/")], store)
    print(summary.line())   # "loaded 12, unchanged 3, replaced 1, skipped 2"

A bad item never stops the run and never touches what is already stored: a skipped item is
only listed in the summary with its reason. Readers run outside any transaction, and what they
yield is written in small transactions, so a crash loses at most the open one (never half a
document) and a second ingest can write in between. An input that fails half-way keeps what was
read before the failure; the run record is closed however the run ends.
"""
from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

from corpus.errors import KtpError, explain
from corpus.model import UNKNOWN_AUTHOR
from corpus.store import CorpusStore
from corpus.subject import current_subject, is_his
from ingest.base import Loaded, Skipped
from ingest.detect import is_url, is_x_archive_folder, reader_for, sidecar_of, url_reader
from ingest.quoted import quoted_spans
from ingest.errors import SkipItem
from ingest.http_fetch import Fetcher


@dataclass
class IngestSummary:
    loaded: int = 0
    unchanged: int = 0
    replaced: int = 0
    skipped: list[dict] = field(default_factory=list)  # [{"path": ..., "reason": ...}]
    by_kind: Counter = field(default_factory=Counter)
    origins: dict[str, str] = field(default_factory=dict, repr=False)  # id -> origin, this run

    def as_dict(self) -> dict:
        return {"loaded": self.loaded, "unchanged": self.unchanged, "replaced": self.replaced,
                "skipped": self.skipped, "by_kind": dict(sorted(self.by_kind.items()))}

    def counted(self) -> tuple:
        return (self.loaded, self.unchanged, self.replaced, len(self.skipped),
                Counter(self.by_kind), dict(self.origins))

    def restore(self, counted: tuple) -> None:
        self.loaded, self.unchanged, self.replaced, skipped, by_kind, origins = counted
        del self.skipped[skipped:]
        self.by_kind, self.origins = Counter(by_kind), dict(origins)

    def line(self) -> str:
        return (f"loaded {self.loaded}, unchanged {self.unchanged}, replaced {self.replaced}, "
                f"skipped {len(self.skipped)}")


def ingest_paths(paths: Iterable[Path | str], store: CorpusStore,
                 progress: Callable[[int, int, Path | str | None], None] | None = None,
                 forced: str | None = None, fetcher: Fetcher | None = None,
                 author: str | None = None) -> IngestSummary:
    """Ingest files, folders, archives and URLs (strings starting with http:// or https://).
    `progress(done, total, input)` is called before each input; `forced` is a format name from
    `ingest.detect.FORMATS` instead of detecting it; `fetcher` fetches URLs (by default with
    a cache beside the store); `author`: who wrote what the inputs do not attribute themselves
    (the user vouches for it; a retweet or another account's archive keeps its own author)."""
    paths = [str(p) if is_url(str(p)) else Path(p) for p in paths]
    fetcher = fetcher or Fetcher(store.path.parent / "http-cache")
    summary = IngestSummary()
    with store.run([str(p) for p in paths]) as run:  # closed however the run ends
        run.summary = summary.as_dict
        inputs = list(_walk(paths, summary))
        for done, path in enumerate(inputs):
            if progress:
                progress(done, len(inputs), path)
            _ingest_one(path, store, summary, forced, fetcher, author)
        if progress:
            progress(len(inputs), len(inputs), None)
    return summary


WRITE_EVERY = 200  # items stored per transaction: the write lock is held only to write them


def _ingest_one(path, store: CorpusStore, summary: IngestSummary, forced, fetcher,
                author) -> None:
    """Read one input item by item and store what is good. The reader runs outside any
    transaction (another ingest can write meanwhile); every WRITE_EVERY items are written in
    one. Whatever goes wrong in the middle of an input, what was read before it is kept."""
    first_seen: dict[str, str] = {}  # ids this input has produced: a repeat is a skip
    pending: list[Loaded] = []

    def flush() -> None:
        items = list(pending)
        pending.clear()
        counted = summary.counted()
        try:
            with store.transaction():
                for item in items:
                    _store(item, store, summary)
        except (KtpError, sqlite3.Error, OSError) as e:
            # The store itself refuses (disk full, read-only, damaged): one line, and stop.
            raise explain(e) or e from None
        except Exception:  # noqa: BLE001 - one item the store cannot take: find it, keep the rest
            summary.restore(counted)  # what the rolled-back batch counted did not happen
            for item in items:
                try:
                    with store.transaction():
                        _store(item, store, summary)
                except (KtpError, sqlite3.Error, OSError) as e:
                    raise explain(e) or e from None
                except Exception as e:  # noqa: BLE001
                    summary.skipped.append({"path": item.document.origin or str(path),
                                            "reason": f"{item.document.id} could not be "
                                            f"stored ({type(e).__name__}: {e})"})

    try:
        read = url_reader(path, fetcher) if isinstance(path, str) else reader_for(path, forced)
        for item in read(path):
            if isinstance(item, Skipped):
                summary.skipped.append({"path": item.where, "reason": item.reason})
            elif item.document.id in first_seen:
                summary.skipped.append({"path": str(path), "reason": (
                    f"{item.document.id} appears more than once in this input; the "
                    "first copy was kept")})
            else:
                first_seen[item.document.id] = str(path)
                pending.append(vouched(item, author) if author else item)
                if len(pending) >= WRITE_EVERY:
                    flush()
    except SkipItem as e:
        summary.skipped.append({"path": str(path), "reason": str(e)})
    except OSError as e:
        summary.skipped.append({"path": str(path),
                                "reason": f"cannot read: {e.strerror or e}"})
    except RecursionError:
        summary.skipped.append({"path": str(path), "reason": (
            "nested too deeply to read (a structure hundreds of levels deep is not an export "
            "this tool knows)")})
    except MemoryError:
        summary.skipped.append({"path": str(path), "reason": "too large to read in memory"})
    except Exception as e:  # noqa: BLE001 - a reader's bug must not cost the other inputs
        summary.skipped.append({"path": str(path), "reason": (
            f"could not be read ({type(e).__name__}: {e}); the rest of the run went on. "
            "This is a bug in ktp's reader for it: please report it with the file")})
    finally:
        if pending:
            flush()


def vouched(item: Loaded, author: str) -> Loaded:
    """The item with `author` (given by the user) where the source named nobody."""
    doc = item.document
    if doc.author != UNKNOWN_AUTHOR:
        return item
    name = current_subject().name if current_subject().is_named(author) else author
    how = f"the user said so (ktp ingest --author {author!r})"

    def who(speaker: str | None) -> str | None:
        return name if speaker in (None, UNKNOWN_AUTHOR) else speaker

    meta = dict(doc.meta)
    if meta.get("turns"):
        meta["turns"] = [[s, e, who(w)] for s, e, w in meta["turns"]]
    if is_his(name) and not meta.get("quoted") and doc.kind not in ("transcript",):
        meta.update({"quoted": spans} if (spans := quoted_spans(doc.text)) else {})
    new = replace(doc, author=name, authorship=how, meta=meta, hash="")
    chunks = [replace(c, speaker=who(c.speaker)) for c in item.chunks] \
        if item.chunks is not None else None
    return Loaded(new, chunks)


def _store(item: Loaded, store: CorpusStore, summary: IngestSummary) -> None:
    doc = item.document
    existing = store.existing(doc.id)
    if existing and doc.kind == "transcript" and _labelled_same(store.get(doc.id), doc):
        summary.unchanged += 1  # speaker labels from `ktp build --speakers` are kept
        summary.by_kind[doc.kind] += 1
        return
    claimed = summary.origins.get(doc.id)
    if existing and existing[1] != doc.origin and existing[0] != doc.hash:
        if doc.kind in ("tweet", "thread"):
            # The same post from a second export (scrapes overlap): keep the fuller text, so
            # that ingesting both, in either order and again, settles instead of flip-flopping.
            if len(doc.text) <= existing[2]:
                summary.unchanged += 1
                summary.by_kind[doc.kind] += 1
                return
        elif claimed and claimed != doc.origin:
            # Two files of this run claim one id: the first stays, the second is explained.
            summary.skipped.append({"path": doc.origin, "reason": (
                f"its id {doc.id!r} is already taken by {existing[1]}; give one of them "
                "its own `id:` in the front matter")})
            return
        # Otherwise it is the same document from somewhere new (an edited copy uploaded
        # again, a folder moved): the origin is provenance, not identity, so it replaces.
    summary.origins[doc.id] = doc.origin
    outcome = store.add(doc, item.chunks)
    setattr(summary, outcome, getattr(summary, outcome) + 1)
    summary.by_kind[doc.kind] += 1


def _labelled_same(old, new) -> bool:
    return bool(old and old.meta.get("speaker_labels") and old.text == new.text)


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
        elif child.is_file() and sidecar_of(child):
            continue  # it describes the file beside it, which reads it; not a document
        elif child.is_file() and child.suffix.lower() in MEDIA:
            summary.skipped.append({"path": str(child), "reason": (
                f"a media file ({child.suffix}); only text, tweets, captions and PDFs are read")})
        elif child.is_file():
            yield child


MEDIA = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".mp4", ".mov", ".webm", ".mp3",
         ".wav", ".m4a", ".ico"}  # (a .pdf is a paper: ingest/pdf.py)
