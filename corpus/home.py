"""The data home: the one directory that holds all state (corpus, graph; later index, memory).

Resolved from `KTP_HOME`, else `$XDG_DATA_HOME/ktp`, else `~/.local/share/ktp`. Nothing is ever
written inside the source tree.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


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
        self.root.mkdir(parents=True, exist_ok=True)
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
