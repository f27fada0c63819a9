"""The data home: the one directory that holds all state (corpus, graph, index, memory).

Resolved from `KTP_HOME`, else `$XDG_DATA_HOME/ktp`, else `~/.local/share/ktp`. Nothing is ever
written inside the source tree.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from corpus.errors import KtpError


class HomeError(KtpError):
    """The data home is missing or cannot be made."""


@dataclass(frozen=True)
class DataHome:
    root: Path

    @classmethod
    def resolve(cls, explicit: str | os.PathLike | None = None) -> "DataHome":
        if explicit:
            return cls(Path(explicit).expanduser().resolve())
        if os.environ.get("KTP_HOME"):
            return cls(Path(os.environ["KTP_HOME"]).expanduser().resolve())
        xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return cls((Path(xdg) / "ktp").resolve())

    def ensure(self) -> "DataHome":
        """Create the data home if it is missing (commands that write: up, ingest, build)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise HomeError(f"the data home {self.root} is a file, not a folder",
                            fix="point KTP_HOME (or --home) at a folder") from None
        except OSError as e:
            raise HomeError(f"cannot create the data home {self.root}: {e.strerror}",
                            fix="create it yourself, or point KTP_HOME (or --home) at a "
                                "folder you can write to") from None
        return self

    def require(self) -> "DataHome":
        """The data home, which must exist already (commands that only read never create a
        folder, so that a mistyped --home is an error, not a new empty home)."""
        if not self.root.is_dir():
            raise HomeError(f"there is no data home at {self.root}",
                            fix="check --home / KTP_HOME, or create it with `ktp up` or "
                                "`ktp ingest PATH`")
        return self

    @property
    def corpus_db(self) -> Path:
        return self.root / "corpus.sqlite3"

    @property
    def graph_json(self) -> Path:
        return self.root / "graph.json"

    @property
    def memory_db(self) -> Path:
        """Conversations and notes about the user: never mixed with the corpus."""
        return self.root / "memory.sqlite3"


def framework_dir() -> Path:
    """The framework YAML folder: `KTP_FRAMEWORK` if set (your own copy), else the packaged one."""
    if os.environ.get("KTP_FRAMEWORK"):
        return Path(os.environ["KTP_FRAMEWORK"]).expanduser().resolve()
    return Path(__file__).resolve().parent / "framework"


def keep_quietly(path: Path, data: bytes) -> bool:
    """Write a file that only saves work later (a compiled model, cached vectors): atomically,
    so no reader sees half of it, and not at all where the folder cannot be written (a
    read-only home still works, it just does the work again). True if it was kept."""
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as tmp:
            tmp.write(data)
        os.replace(tmp.name, path)
        return True
    except OSError:
        return False
