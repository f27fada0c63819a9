"""Files uploaded on the Corpus page, on their way to `ingest_paths`.

Each press of Ingest stages its files in a fresh folder under the data home
(`upload-XXXXXXXX/`), removed when the run is over, whether it succeeded or not. Every file
gets its own path: files of distinct names lie together in `upload-…/1/upload/` (so a
caption's `.info.json` still sits beside its captions), and a second file of the same name goes
to `upload-…/2/upload/`, and so on. The folder holding a file is always called `upload`,
because ingest takes a README's document id from its folder's name: the same README uploaded
again gets the same id (and, edited, replaces the old version) instead of a new random one.

A name that could leave the folder or that ingest would pass over is refused with a reason:
path separators, `.` and `..`, control characters, hidden names, overlong names.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

STAGING_PREFIX = "upload-"
FOLDER = "upload"
STALE_AFTER = 6 * 3600  # seconds: an older staging folder is left over from a crash
MAX_NAME_BYTES = 200


def refusal(name: str) -> str | None:
    """Why an uploaded file name cannot be used, or None when it can."""
    if not name or not name.strip():
        return "it has no name"
    if name in (".", ".."):
        return "that is not a file name"
    if "/" in name or "\\" in name:
        return "a file name may not contain / or \\ (upload the file itself, not a path)"
    if re.search(r"[\x00-\x1f\x7f]", name):
        return "its name contains control characters"
    if name.startswith("."):
        return "hidden files (names starting with a dot) are not read"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"its name is longer than {MAX_NAME_BYTES} bytes"
    return None


@dataclass
class Staged:
    root: Path
    files: list[Path] = field(default_factory=list)  # in upload order
    shown: dict[str, str] = field(default_factory=dict)  # staged path -> name for the user
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)

    def name_of(self, path) -> str:
        """How a staged path (or any path) is shown to the user."""
        return self.shown.get(str(path)) or Path(str(path)).name

    def explain(self, text: str) -> str:
        """`text` (a skip reason) with every staged path replaced by the name the user knows."""
        for path in sorted(self.shown, key=len, reverse=True):
            text = text.replace(path, self.shown[path])
        return text


@contextmanager
def staged(uploads: Iterable, home_root: Path) -> Iterator[Staged]:
    """Write the uploads (objects with `.name` and `.getbuffer()`) to a fresh staging folder;
    the folder is removed on leaving the block, also when ingest raised."""
    root = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=home_root))
    result = Staged(root)
    try:
        taken: dict[str, int] = {}  # name -> how many files of that name so far
        for upload in uploads:
            name = str(upload.name)
            reason = refusal(name)
            if reason:
                result.refused.append((name, reason))
                continue
            n = taken[name.lower()] = taken.get(name.lower(), 0) + 1  # case-blind file systems
            folder = root / str(n) / FOLDER
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / name
            target.write_bytes(upload.getbuffer())
            result.files.append(target)
            result.shown[str(target)] = name if n == 1 else f"{name} (file {n} of that name)"
        yield result
    finally:
        shutil.rmtree(root, ignore_errors=True)


def is_staged(path, home_root: Path) -> bool:
    """Whether a path recorded by an ingest run was a staged upload of this data home."""
    try:
        rel = Path(str(path)).relative_to(home_root)
    except ValueError:
        return False
    return bool(rel.parts) and rel.parts[0].startswith(STAGING_PREFIX)


def sweep(home_root: Path, now: float | None = None) -> int:
    """Remove staging folders left behind by a crash or a killed server (older than
    STALE_AFTER, so a run in progress in another session keeps its files). Returns how many."""
    now = time.time() if now is None else now
    removed = 0
    for folder in Path(home_root).glob(STAGING_PREFIX + "*"):
        try:
            if folder.is_dir() and now - folder.stat().st_mtime > STALE_AFTER:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed
