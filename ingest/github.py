"""A repository's README from its GitHub URL: https://github.com/<owner>/<name> becomes the
document repo:<owner>/<name>. The raw file host can be pointed elsewhere (a mirror, or GitHub
Enterprise) with KTP_GITHUB_RAW."""
from __future__ import annotations

import os
import re
from typing import Iterator

from corpus.model import Document
from ingest.authorship import by_repo_owner
from ingest.base import Loaded, SkipItem
from ingest.http_fetch import Fetcher, FetchError
from ingest.known import known

_REPO_URL = re.compile(r"^https?://(?:www\.)?github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?(?:/.*)?$")
NAMES = ("README.md", "readme.md", "README.markdown", "README.rst", "README.txt", "README")


def is_repo_url(url: str) -> bool:
    return bool(_REPO_URL.match(url))


def read_github_readme(url: str, fetcher: Fetcher) -> Iterator[Loaded]:
    owner, name = _REPO_URL.match(url).groups()
    raw = os.environ.get("KTP_GITHUB_RAW", "https://raw.githubusercontent.com").rstrip("/")
    reasons = []
    for filename in NAMES:
        try:
            page = fetcher.get(f"{raw}/{owner}/{name}/HEAD/{filename}")
        except FetchError as e:
            reasons.append(str(e))
            if "HTTP 404" not in str(e):
                break  # offline or failing: the other names will fail the same way
            continue
        text = page.text.strip()
        heading = re.search(r"^#\s+(.+)$", text, re.M)
        registered = known(f"repo:{owner}/{name}")
        author, how = by_repo_owner(owner)
        yield Loaded(Document(
            id=f"repo:{owner}/{name}", kind="readme",
            title=heading.group(1).strip() if heading else f"{owner}/{name}", text=text,
            date=registered.date if registered else None,
            url=f"https://github.com/{owner}/{name}", origin=page.url, author=author,
            authorship=how))
        return
    raise SkipItem(f"no README found for {owner}/{name}: {reasons[-1] if reasons else ''}")
