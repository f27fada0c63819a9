"""How well a cited passage supports a claim made about it: a score in [0, 1].

    score = support_scorer(embedder)("He recommends inspecting the data first.", passage_text)

With the local embedder: the best cosine between the claim and the passage's sentences (or the
passage as a whole), so a claim that paraphrases one sentence of a long passage still scores
high. Without one: the share of the claim's content words found in the passage (stems compared),
a cruder line. Each has its own threshold, calibrated on bench/claim_pairs.yaml (35 supported
and 35 unsupported pairs written by reading the passages); bench/claim_support.py measures them.
"""
from __future__ import annotations

import re
from typing import Callable

from corpus.query import STOPWORDS

# From bench/claim_support.py (see the README for the figures): the score above which a cited
# passage is taken to support the claim; below it the citation is reported as weak.
EMBEDDING_SUPPORTED = 0.55
LEXICAL_SUPPORTED = 0.5
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_MARKER = re.compile(r"\[S\d+(?:\s*,\s*S?\d+)*\]")

Scorer = Callable[[str, str], float]


def content_stems(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {w[:6] for w in words if w not in STOPWORDS and len(w) > 2}


def lexical_support(claim: str, passage: str) -> float:
    wanted = content_stems(_MARKER.sub("", claim)) - _ATTRIBUTION_WORDS
    if not wanted:
        return 0.0
    return round(len(wanted & content_stems(passage)) / len(wanted), 4)


_ATTRIBUTION_WORDS = content_stems("he karpathy andrej says said argues thinks believes "
                                   "writes wrote notes points view according")


class EmbeddingSupport:
    """Cosine of the claim to the closest sentence (or the whole) of the passage."""

    threshold = EMBEDDING_SUPPORTED

    def __init__(self, embedder):
        self.embedder = embedder

    def __call__(self, claim: str, passage: str) -> float:
        import numpy as np

        pieces = [passage] + [s for s in (p.strip() for p in _SENTENCE.split(passage))
                              if len(s.split()) >= 4]
        vectors = self.embedder.embed([_MARKER.sub("", claim).strip()] + pieces)
        return round(float(np.max(vectors[1:] @ vectors[0])), 4)


class LexicalSupport:
    threshold = LEXICAL_SUPPORTED

    def __call__(self, claim: str, passage: str) -> float:
        return lexical_support(claim, passage)


def support_scorer(embedder=None):
    """The best scorer at hand: by meaning with an embedder, else by shared words."""
    return EmbeddingSupport(embedder) if embedder is not None else LexicalSupport()
