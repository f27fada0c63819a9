"""The one base class of the project's own errors, and what the environment's errors mean.

    raise KtpError("the data home is gone", fix="run `ktp up` to make a new one")

Every error the project raises on purpose (store, framework, embedder, index, LLM, …) is a
`KtpError`: its message says what is wrong and what to do about it, so that the CLI can print it
as one line and the web UI can show it as it is. `explain()` turns the errors the environment
raises at us (a full disk, a read-only folder, a damaged SQLite file) into a `KtpError` too.
"""
from __future__ import annotations

import errno
import sqlite3
from pathlib import Path


class KtpError(Exception):
    """Something the user can fix; the message says what is wrong and how to fix it."""

    def __init__(self, message: str, *, fix: str | None = None):
        self.message, self.fix = message, fix
        super().__init__(f"{message}; {fix}" if fix else message)


class EnvironmentProblem(KtpError):
    """The machine refuses what we asked of it: the disk is full, a folder is read-only, …"""


# What an OSError's errno means for the data home, and what to do about it.
_ERRNO_FIXES = {
    errno.ENOSPC: ("the disk is full", "free some space and run it again"),
    errno.EDQUOT: ("the disk quota is used up", "free some space and run it again"),
    errno.EROFS: ("the file system is read-only",
                  "point KTP_HOME (or --home) at a writable folder"),
    errno.EACCES: ("permission denied",
                   "make the folder writable for you (chmod u+w), or point KTP_HOME elsewhere"),
    errno.EPERM: ("operation not permitted",
                  "make the folder writable for you (chmod u+w), or point KTP_HOME elsewhere"),
}


def explain(error: BaseException, home: Path | str | None = None) -> KtpError | None:
    """A `KtpError` saying what an environment error means, or None if it is not one we know
    (then it is a bug). `home`: the data home, named in the message."""
    where = f" (data home {home})" if home else ""
    if isinstance(error, KtpError):
        return error
    if isinstance(error, sqlite3.Error):
        return explain_sqlite(error, where)
    if isinstance(error, OSError):
        name = f": {error.filename}" if error.filename else ""
        if error.errno in _ERRNO_FIXES:
            what, fix = _ERRNO_FIXES[error.errno]
            return EnvironmentProblem(f"{what}{name}", fix=fix)
        return EnvironmentProblem(f"{error.strerror or error}{name}",
                                  fix="check the path and its permissions")
    return None


def explain_sqlite(error: sqlite3.Error, where: str = "") -> KtpError:
    """What SQLite's own messages mean for the user."""
    text = str(error)
    low = text.lower()
    if "readonly" in low or "read-only" in low:
        return EnvironmentProblem(f"cannot write to the database{where}: {text}",
                                  fix="make the data home writable (chmod u+w), or point "
                                      "KTP_HOME at a writable copy")
    if "disk is full" in low or "disk full" in low:
        return EnvironmentProblem(f"the disk is full{where}: {text}",
                                  fix="free some space and run it again (what was written "
                                      "before is intact)")
    if "locked" in low or "busy" in low:
        return EnvironmentProblem(f"the database is busy{where}: {text}",
                                  fix="another ktp is writing to it; wait for it to finish and "
                                      "run this again")
    if "unable to open" in low:
        return EnvironmentProblem(f"cannot open the database{where}: {text}",
                                  fix="check that the data home exists and is readable and "
                                      "writable for you")
    if isinstance(error, sqlite3.DatabaseError) and (
            "malformed" in low or "not a database" in low or "corrupt" in low):
        return KtpError(f"a database is damaged{where}: {text}",
                        fix="run `ktp doctor` to see which, and `ktp doctor --repair` to "
                            "recover what can be read")
    return KtpError(f"the database failed{where}: {text}",
                    fix="run `ktp doctor` to check the data home")
