"""What a user sees when a page fails: one line saying what went wrong and how to fix it, never
a traceback. The traceback goes to the log (the terminal running `ktp serve`)."""
from __future__ import annotations

import errno
import logging
import sqlite3
import traceback

import streamlit as st

from ui.markup import esc

log = logging.getLogger("ktp.ui")
FAILURE_KEY = "ui_failure"  # the last failure's traceback, for tests and for the curious


def one_line(error: BaseException, where: str = "this page") -> str:
    """The failure as one line of plain text, with what to do about it."""
    detail = (str(error).strip().splitlines() or [""])[0][:300]
    if isinstance(error, sqlite3.OperationalError) and "locked" in detail:
        return ("The corpus database is busy (another ktp command is writing to it). Wait for "
                "it to finish, then reload the page.")
    if isinstance(error, sqlite3.DatabaseError):
        return (f"The corpus database cannot be read ({detail}). Move corpus.sqlite3 out of the "
                "data home and ingest again (or restore a copy), then reload the page.")
    if isinstance(error, PermissionError):
        return (f"Permission denied for {error.filename or 'a file of the data home'}. Make the "
                "data home readable and writable by you (or set KTP_HOME to another folder), "
                "then reload the page.")
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return "The disk of the data home is full. Free some space, then reload the page."
    if isinstance(error, OSError):
        what = f"{error.strerror or detail}" + (f": {error.filename}" if error.filename else "")
        return (f"A file could not be read or written ({what}). Check the data home (KTP_HOME), "
                "then reload the page.")
    if isinstance(error, MemoryError):
        return "The server ran out of memory. Close other programs, then reload the page."
    kind = type(error).__name__
    return (f"Something went wrong on {where} ({kind}{': ' + detail if detail else ''}). "
            "Reload the page to try again; if it keeps happening, the details are in the "
            "terminal where ktp serve runs.")


def show_failure(error: BaseException, where: str = "this page") -> None:
    """Log the traceback, keep it in the session (tests read it), show one escaped line."""
    log.error("web UI failure on %s", where, exc_info=error)
    st.session_state[FAILURE_KEY] = "".join(traceback.format_exception(error))
    st.error(esc(one_line(error, where)), icon=":material/error:")
