"""The registry of his known sources (corpus/framework/sources.yaml), for ingestors to fill in
what a file does not say: a post's public URL, a video's title and upload date, a repo's URL."""
from __future__ import annotations

import functools

from corpus.framework_model import RegistrySource


def registry() -> dict[str, RegistrySource]:
    """The registry of the framework in use (the packaged one, or $KTP_FRAMEWORK's)."""
    from corpus.home import framework_dir

    return _registry_of(str(framework_dir()))


def _registry_of(folder: str) -> dict[str, RegistrySource]:
    framework = _framework_of(folder)
    return dict(framework.registry) if framework else {}


@functools.lru_cache(maxsize=4)  # keyed by folder: switching frameworks never serves a stale one
def _framework_of(folder: str):
    from pathlib import Path

    from corpus.framework_loader import FrameworkError, load_framework

    try:
        return load_framework(Path(folder))
    except FrameworkError:
        return None  # a broken framework is reported by `ktp build`; ingest goes on without it


def quotes_of(doc_id: str) -> tuple[str, ...]:
    """The framework's verified quotes of his that cite this source (read by us in context:
    they say which lines of an interview are his)."""
    from corpus.home import framework_dir
    from corpus.ids import doc_id_for_url

    framework = _framework_of(str(framework_dir()))
    if framework is None:
        return ()
    return tuple(q.text for q in framework.quotes() if doc_id_for_url(q.source.url) == doc_id)


def known(doc_id: str) -> RegistrySource | None:
    return registry().get(doc_id)


def repo_named(name: str) -> RegistrySource | None:
    """A registered repo by its name alone ('nanoGPT' -> repo:karpathy/nanoGPT)."""
    wanted = name.lower()
    return next((s for s in registry().values()
                 if s.kind == "repo" and s.id.rsplit("/", 1)[-1].lower() == wanted), None)
