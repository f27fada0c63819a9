"""Vectors of texts that rarely change (the framework's items), kept on disk by what they are
made of, so that a process starting up does not embed them again.

    vectors = cached_vectors(embedder, texts, home.root / "cache")

The file is named by the embedder's name and the texts themselves: an edited item or another
embedder makes a new file, so a stale vector is never served. Without a folder (or one that
cannot be written) the texts are embedded as usual.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Sequence

import numpy as np

from corpus.home import keep_quietly


def cached_vectors(embedder, texts: Sequence[str], folder: Path | None) -> np.ndarray:
    if folder is None or not texts:
        return embedder.embed(list(texts))
    digest = hashlib.sha256("\x00".join([embedder.name, *texts]).encode()).hexdigest()[:20]
    path = Path(folder) / f"vectors-{digest}.npy"
    try:
        vectors = np.load(path, allow_pickle=False)
        if vectors.shape == (len(texts), embedder.dim):
            return vectors
    except (OSError, ValueError):
        pass
    vectors = embedder.embed(list(texts))
    buffer = io.BytesIO()
    np.save(buffer, vectors, allow_pickle=False)
    keep_quietly(path, buffer.getvalue())  # a read-only home: embedded again next time
    return vectors
