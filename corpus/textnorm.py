"""Normalising text for verbatim comparison: a quote "appears in" a source when it does after
whitespace is collapsed and typographic quote marks and apostrophes are made plain. Used to check
framework quotes, evidence links and citations against the sources they name."""
from __future__ import annotations

import re

QUOTE_MARKS = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"',
                        "‘": "'", "’": "'", "‚": "'", "`": "'", "\u00a0": " "})


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text.translate(QUOTE_MARKS)).strip()
