"""What a user sees when a page fails: one line saying what went wrong and how to fix it, never
a traceback. The traceback goes to the log (the terminal running `ktp serve`).

The project's own errors (`corpus.errors.KtpError`) carry their fix in the message, and
`corpus.errors.explain` gives the environment's (a full disk, a damaged database, a read-only
folder) one; anything else is a bug, said as such.
"""
from __future__ import annotations

import logging
import traceback

import streamlit as st

from corpus.errors import explain
from ui.markup import md_message

log = logging.getLogger("ktp.ui")
FAILURE_KEY = "ui_failure"  # the last failure's traceback, for tests and for the curious


def one_line(error: BaseException, where: str = "on this page", home=None) -> str:
    """The failure as one line, with what to do about it (`code` in backticks)."""
    known = explain(error, home)
    if known is not None:
        text = " ".join(str(known).split())
        return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
    detail = " ".join((str(error).strip().splitlines() or [""])[0].split())[:300]
    return (f"Something went wrong {where} ({type(error).__name__}"
            f"{': ' + detail if detail else ''}). Reload the page to try again; if it keeps "
            "happening, the details are in the terminal where `ktp serve` runs.")


def show_failure(error: BaseException, where: str = "on this page", home=None) -> None:
    """Log the traceback, keep it in the session (tests read it), show one escaped line."""
    log.error("web UI failure %s", where, exc_info=error)
    st.session_state[FAILURE_KEY] = "".join(traceback.format_exception(error))
    st.error(md_message(one_line(error, where, home)), icon=":material/error:")
