"""One canonical passage per text: near-duplicate passages found at build time.

    copies = find_copies(passages)       # {copy chunk id: canonical chunk id}
    update_copies(store)                 # `ktp build`: recompute when the corpus changed,
                                         # comparing only the new passages (copy_signatures.py)

Why: the same words reach the corpus more than once. His lectures exist as caption files and
again inside one long transcript, a thread carries the text of a tweet that was also exported
alone, rolling captions repeat a line. Each such passage cost a second embedding and took a
second place in results. Here a passage whose words are nearly those of another (Jaccard
similarity of their word 5-shingles at least JACCARD, after folding case and punctuation) is a
*copy* of it: it stays in its document and in keyword search, but the vector index gives it the
canonical's vector instead of embedding it, and every result list shows one passage per text.

Which passage is canonical: the one whose link is the best locator. A passage with a start
time (a caption, linked to the second) before an untimed one; a thread's passage before a lone
tweet (the thread keeps the context), a tweet before a page or README quoting it; his words
before anyone else's; then the smaller id, so the choice is the same on every run.

Shingles shared by more than COMMON passages are left out of the comparison: such a phrase
("if you want to learn more") links many passages that are otherwise unlike, and counting it
would cost quadratic time for no duplicate found. Passages shorter than MIN_WORDS are never
copies: a short reply ("Yes, exactly.") repeated across posts is a different post each time,
and costs next to nothing to embed.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

JACCARD = 0.8
SHINGLE = 5  # words per shingle
MIN_WORDS = 8
COVERED = 0.9  # share of a passage's shingles already in canonical passages
COMMON = 40
_WORD = re.compile(r"\w+")
# Untimed kinds by how well their link locates the words: a thread keeps the tweet's context,
# a tweet links to exactly those words; a page or README passage only to somewhere in it.
_KIND_RANK = {"thread": 0, "tweet": 1}


def normalise(text: str) -> list[str]:
    """The words of a passage, case and accents folded, punctuation dropped (captions and a
    cleaned transcript of the same talk differ mostly in those)."""
    text = text.casefold()
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text)
                       if not unicodedata.combining(ch))
    return _WORD.findall(text)


_WORD_CODES: dict[str, int] = {}


def word_code(word: str) -> int:
    """A word's 64-bit code, the same in every process (Python's own string hash is not), so
    the shingles of passages seen by an earlier build can be kept on disk and compared with
    new ones (`corpus.signatures`). Remembered per word: a corpus has few distinct words."""
    code = _WORD_CODES.get(word)
    if code is None:
        code = _WORD_CODES[word] = int.from_bytes(
            hashlib.blake2b(word.encode(), digest_size=8).digest(), "little", signed=True)
    return code


def shingle_sets(texts: list[str]) -> list[np.ndarray]:
    """Each text's distinct shingles, as sorted 64-bit codes: a shingle is the codes of its
    SHINGLE words mixed into one (two different runs of words mix alike about once in 2^64).
    Texts under MIN_WORDS words get none."""
    out = []
    for text in texts:
        words = normalise(text)
        if len(words) < MIN_WORDS:
            out.append(np.zeros(0, dtype=np.uint64))
            continue
        ids = np.fromiter(map(word_code, words), dtype=np.int64,
                          count=len(words)).view(np.uint64)
        code = np.zeros(len(ids) - SHINGLE + 1, dtype=np.uint64)
        with np.errstate(over="ignore"):  # wrapping around 2^64 is the point
            for k in range(SHINGLE):
                code = code * np.uint64(0x100000001B3) + ids[k:len(ids) - SHINGLE + 1 + k] + \
                    np.uint64(1)
        out.append(np.unique(code))
    return out


def preference(passage: Mapping) -> tuple:
    """Sort key: the best canonical first (see the module notes)."""
    return (passage.get("start_time") is None, _KIND_RANK.get(passage.get("kind"), 2),
            not passage.get("his_words"), passage["id"])


def shared_shingles(sets: list[np.ndarray]) -> dict[tuple[int, int], int]:
    """{(i, j): number of shingles sets i and j share}, i < j, for every pair sharing one.
    Exact, not estimated: one sort of all shingles finds who holds each, so only pairs that
    share a shingle are ever looked at (shingles held by more than COMMON sets are skipped)."""
    sizes = np.array([len(s) for s in sets], dtype=np.int64)
    if not sizes.sum():
        return {}
    codes = np.concatenate(sets)
    owner = np.repeat(np.arange(len(sets), dtype=np.int64), sizes)
    order = np.argsort(codes, kind="stable")
    codes, owner = codes[order], owner[order]
    # Runs of one shingle code: [start, end) positions, kept when 2..COMMON sets hold it.
    edges = np.flatnonzero(np.diff(codes)) + 1
    starts = np.concatenate(([0], edges))
    width = np.concatenate((edges, [len(codes)])) - starts
    pairs = []
    for size in range(2, COMMON + 1):
        at = starts[width == size]
        for a in range(size if len(at) else 0):
            for b in range(a + 1, size):
                pairs.append(owner[at + a] * len(sets) + owner[at + b])
    if not pairs:
        return {}
    key, shared = np.unique(np.concatenate(pairs), return_counts=True)
    return {(int(k // len(sets)), int(k % len(sets))): int(n)
            for k, n in zip(key.tolist(), shared.tolist())}


def find_copies(passages: Iterable[Mapping], sets: list[np.ndarray] | None = None
                ) -> dict[str, tuple[str, float]]:
    """{copy id: (canonical id, share of the copy's shingles found in canonical passages)}.
    `passages`: dicts with id, text, kind, start_time and his_words. `sets`: their shingles
    (`shingle_sets`), when the caller has them: then `passages` must be sorted by `preference`.

    Passages are taken most preferred first. One is a copy when it is nearly the same text as
    a canonical passage (Jaccard at least JACCARD), or when at least COVERED of its shingles
    are already in canonical passages (the long transcript cut elsewhere than the captions it
    repeats: each of its passages straddles two caption passages); its canonical is then the
    canonical passage it shares most with. A copy never points at another copy."""
    if sets is None:
        passages = sorted(passages, key=preference)
        sets = shingle_sets([p["text"] for p in passages])
    partners: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for (i, j), n in shared_shingles(sets).items():
        partners[j].append((n, i))  # i < j: i is the more preferred of the two
    # Every shingle as a dense number, so "already in a canonical passage" is one flag each
    # (a set of Python ints would take ~1 GB at 100,000 passages).
    sizes = [len(s) for s in sets]
    dense = np.unique(np.concatenate(sets), return_inverse=True)[1] if sum(sizes) else []
    ends = np.cumsum(sizes)
    covered = np.zeros(len(dense), dtype=bool)  # indexed by dense shingle number
    copies: dict[str, tuple[str, float]] = {}
    for j, size in enumerate(sizes):
        mine = dense[ends[j] - size:ends[j]]
        best = max(((n, -i) for n, i in partners.get(j, ())
                    if passages[i]["id"] not in copies), default=None)
        if best is not None:
            n, i = best[0], -best[1]
            cover = float(covered[mine].mean())
            if n / (size + sizes[i] - n) >= JACCARD or cover >= COVERED:
                copies[passages[j]["id"]] = (passages[i]["id"], round(cover, 4))
                continue
        covered[mine] = True
    return copies


def digest(copies: Mapping[str, str]) -> str:
    """A short fingerprint of a copy map (the vector index records the one it was synced
    with, so a changed map is a sync to do even when no document changed)."""
    h = hashlib.sha256()
    for copy in sorted(copies):
        h.update(f"{copy}\t{copies[copy]}\n".encode())
    return h.hexdigest()[:16]


def update_copies(store) -> dict:
    """Recompute the store's copy map when the corpus changed since it was last computed, or
    the map lost entries since (a repair that chunked documents again). With the signatures
    the last computation kept beside the store (`signatures_path`), only the new passages and
    those their arrival or others' leaving reaches are decided again (corpus/copy_signatures.py);
    without them, or when passages changed their order, every passage is.
    Returns {"copies", "passages", "recomputed": bool, "decided": passages decided again,
    "from_scratch": bool}."""
    from corpus.copy_signatures import Signatures, from_scratch, refresh

    corpus = store.fingerprint()
    if store.copies_state() == (corpus, store.copies_digest()):
        return {"copies": store.copy_count(), "passages": store.chunk_count(),
                "recomputed": False, "decided": 0, "from_scratch": False}
    path = signatures_path(store)
    kept = Signatures.load(path)
    found = None
    if kept is not None and kept.corpus == store.copies_fingerprint():
        found = refresh(kept, _ordering_rows(store), corpus, lambda ids: _texts(store, ids))
    if found is not None:
        copies, signatures, decided = found.copies, found.signatures, found.decided
    else:
        rows = _ordering_rows(store, with_text=True)
        copies, signatures = from_scratch(rows, corpus)
        decided = len(rows)
    store.set_copies(copies, corpus)
    try:  # after the map: kept signatures always describe the map the store holds
        signatures.save(path)
    except OSError:  # a read-only home: found from scratch again next time
        pass
    return {"copies": len(copies), "passages": len(signatures.ids), "recomputed": True,
            "decided": decided, "from_scratch": found is None}


def signatures_path(store) -> Path:
    """Where the shingles and decisions of the last copy finding are kept: beside the store,
    named after it (corpus.sqlite3 -> corpus.copy-signatures.npz)."""
    return Path(store.path).with_name(f"{Path(store.path).stem}.copy-signatures.npz")


def _ordering_rows(store, with_text: bool = False) -> list[dict]:
    """Every passage with what orders it (kind, start time, his words) and its key: its
    document's hash and its offsets, which change whenever its text can."""
    text = ", c.text" if with_text else ""
    rows = store.db.execute("SELECT c.id, d.hash, c.start, c.\"end\", d.kind, c.start_time,"
                            f" c.speaker{text} FROM chunks c JOIN documents d ON d.id = c.doc_id")
    out = []
    for r in rows:
        row = {"id": r[0], "key": f"{r[1]}:{r[2]}:{r[3]}", "kind": r[4], "start_time": r[5],
               "his_words": r[6] == store.subject}
        if with_text:
            row["text"] = r[7]
        out.append(row)
    return out


def _texts(store, ids: list[str]) -> dict[str, str]:
    found = {}
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        found.update(store.db.execute(
            f"SELECT id, text FROM chunks WHERE id IN ({','.join('?' * len(part))})", part))
    return found
