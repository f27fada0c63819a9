"""Where a file was copied from, when a provenance manifest beside it says so.

A collection gathered from several repositories often carries a manifest: `manifest.json`, a
JSON list of entries like {"path": "docs/llm.c_doc_layernorm.md", "repo": "karpathy/llm.c",
"commit": "…", "sha256": "…", "repo_path": "doc/layernorm/layernorm.md"}, with `path` relative
to the manifest's folder. An entry counts only when the file's SHA-256 matches it: then it says
which repository (at which commit) the file came from.

That is evidence of authorship only for a repository of his, as a README of his repo is his;
a scraper's repository is where a copy was found, not who wrote it (the caller decides).

    found = provenance_of(Path("realdata/readmes/extra_docs/llm.c_doc_layernorm.md"))
    found.repo, found.link   # "karpathy/llm.c", "https://github.com/karpathy/llm.c/blob/<commit>/doc/layernorm/layernorm.md"

A manifest that is missing, malformed or too big is simply not used: the files it would
describe are read on their own evidence, as without it.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

MANIFEST = "manifest.json"
LEVELS = 4  # folders searched upwards from a file for a manifest
MAX_MANIFEST_BYTES = 8 * 1024 * 1024
_REPO = re.compile(r"^[\w.-]{1,100}/[\w.-]{1,100}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")


@dataclass(frozen=True)
class Provenance:
    repo: str  # owner/name on GitHub
    commit: str | None
    repo_path: str | None  # the file's path inside the repo, when the entry tells it
    manifest: Path

    @property
    def owner(self) -> str:
        return self.repo.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repo.split("/", 1)[1]

    @property
    def link(self) -> str:
        """The file on GitHub at its commit, else the repository at its commit (or its page)."""
        base = f"https://github.com/{self.repo}"
        ref = self.commit or "HEAD"
        if self.repo_path:
            return f"{base}/blob/{ref}/{quote(self.repo_path, safe='/')}"
        return f"{base}/tree/{self.commit}" if self.commit else base

    @property
    def pages_site(self) -> str | None:
        """https://<owner>.github.io for a GitHub Pages repo named so: where its pages live."""
        if self.name.lower() == f"{self.owner.lower()}.github.io":
            return f"https://{self.name.lower()}"
        return None


def provenance_of(path: Path) -> Provenance | None:
    """The manifest entry for `path` whose checksum matches the file, if one is found."""
    path = Path(path).resolve()
    for folder in list(path.parents)[:LEVELS]:
        manifest = folder / MANIFEST
        if not manifest.is_file():
            continue
        try:
            entries = _entries(str(manifest), manifest.stat().st_mtime_ns)
            relative = path.relative_to(folder).as_posix()
        except (OSError, ValueError):
            return None
        entry = entries.get(relative)
        if entry is None or not _same_file(path, entry["sha256"]):
            return None  # the nearest manifest decides; one that does not list the file says no
        commit = entry.get("commit")
        return Provenance(repo=entry["repo"],
                          commit=commit if isinstance(commit, str) and _COMMIT.match(commit)
                          else None,
                          repo_path=path_in_repo(path.name, entry.get("repo_path"),
                                                 entry["repo"].split("/", 1)[1]),
                          manifest=manifest)
    return None


def is_manifest(data, path: Path) -> bool:
    """Is this parsed JSON a provenance manifest (so ingest skips it as such, not as a puzzle)?"""
    return (Path(path).name == MANIFEST and isinstance(data, list) and bool(data)
            and all(isinstance(e, dict) and "path" in e and "repo" in e for e in data[:20]))


@functools.lru_cache(maxsize=16)  # keyed by mtime: an edited manifest is read again
def _entries(manifest: str, _mtime_ns: int) -> dict[str, dict]:
    try:
        if Path(manifest).stat().st_size > MAX_MANIFEST_BYTES:
            return {}
        data = json.loads(Path(manifest).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    if not isinstance(data, list):
        return {}
    entries = {}
    for entry in data:
        if (isinstance(entry, dict) and isinstance(entry.get("path"), str)
                and isinstance(entry.get("repo"), str) and _REPO.match(entry["repo"])
                and isinstance(entry.get("sha256"), str)
                and _SHA256.match(entry["sha256"].lower())):
            entries[entry["path"].removeprefix("./")] = {**entry, "sha256": entry["sha256"].lower()}
    return entries


def _same_file(path: Path, sha256: str) -> bool:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return False
    return digest.hexdigest() == sha256


def path_in_repo(file_name: str, repo_path, repo_name: str) -> str | None:
    """Which of the entry's repo paths this file is. Entries may list one path, several
    ("lecture.md, exercise.md") or a pattern ("doc/*.md"), and the copy's name may flatten its
    path with underscores behind the repo's name (`llm.c_dev_data_README.md` is
    dev/data/README.md; `llm.c_doc_layernorm.md` is doc/layernorm/layernorm.md). Exactly one
    candidate must fit, else None: a wrong deep link is worse than a link to the repo."""
    if not isinstance(repo_path, str) or not repo_path.strip():
        return None
    names = [file_name[len(repo_name) + 1:] for sep in ("_", "-")
             if file_name.lower().startswith(repo_name.lower() + sep)] + [file_name]
    fits = set()
    for candidate in (c.strip() for c in repo_path.split(",")):
        if not candidate or ".." in candidate.split("/"):
            continue
        # the name without the repo's prefix first: "*.md" fits "paper-notes_vin.md" whole too
        found = next((f for name in names if (f := _fit(candidate, name)) is not None), None)
        if found is not None:
            fits.add(found)
    return fits.pop() if len(fits) == 1 else None


def _fit(candidate: str, name: str) -> str | None:
    """The repo path `candidate` (maybe with `*` in it) if the copy's `name` is it: the path
    flattened with underscores, the bare file name, or flattened with a folder named like its
    file left out. The `*`s are filled from the name, in order."""
    parts = candidate.split("/")
    folders, file = parts[:-1], parts[-1]
    variants = ["_".join(parts)]
    if "*" not in "/".join(folders):
        variants.append(file)
        if folders and folders[-1] == Path(file).stem:
            variants.append("_".join(folders[:-1] + [file]))
    for variant in variants:
        m = re.fullmatch(re.escape(variant).replace(r"\*", "([^/]+?)"), name)
        if m:
            stars = iter(m.groups())
            return re.sub(r"\*", lambda _m: next(stars), candidate)
    return None
