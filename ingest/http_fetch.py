"""Polite HTTP fetching with an on-disk cache, for ingesting from the web when the user asks.

    fetcher = Fetcher(home.root / "http-cache")
    page = fetcher.get("http://karpathy.github.io/")      # raises FetchError with a reason

- A clear user agent that names the tool, and a pause between requests to the same host.
- Timeouts, and retries with exponential back-off on timeouts, resets, 429 and 5xx. A host
  whose name does not resolve or that refuses connections is not retried, and is remembered as
  down for the rest of the run: offline, a long list of URLs fails in seconds, one line each.
- A cache under the data home: a page fetched before is revalidated with ETag /
  Last-Modified (a 304 costs no download), and served from disk when the network is gone.
"""
from __future__ import annotations

import hashlib
import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

USER_AGENT = ("ktp/0.1 (Karpathy Thinking Partner; a local, personal research tool; "
              "fetches only what its user asks for)")


class FetchError(Exception):
    """The page could not be had; the message is a one-line reason for the user."""


@dataclass(frozen=True)
class Page:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes
    from_cache: bool = False
    etag: str | None = None
    last_modified: str | None = None

    @property
    def text(self) -> str:
        charset = "utf-8"
        if "charset=" in self.content_type:
            charset = self.content_type.split("charset=")[-1].split(";")[0].strip() or charset
        return self.body.decode(charset, errors="replace")


class Fetcher:
    def __init__(self, cache_dir: Path, *, delay: float = 1.0, timeout: float = 20.0,
                 retries: int = 3, backoff: float = 1.0):
        self.cache_dir = Path(cache_dir)
        self.delay, self.timeout, self.retries, self.backoff = delay, timeout, retries, backoff
        self._last: dict[str, float] = {}  # host -> time of the last request
        self._down: dict[str, str] = {}  # host -> why it cannot be reached (this run)

    def get(self, url: str) -> Page:
        if urlsplit(url).scheme not in ("http", "https"):
            raise FetchError(f"{url}: only http and https URLs can be fetched")
        cached = self._cached(url)
        host = urlsplit(url).netloc
        if host in self._down:
            if cached:
                return self._page(url, *cached)
            raise FetchError(f"{url}: {self._down[host]} (host unreachable earlier in this run)")
        headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
        if cached:
            meta = cached[0]
            if meta.get("etag"):
                headers["If-None-Match"] = meta["etag"]
            if meta.get("last_modified"):
                headers["If-Modified-Since"] = meta["last_modified"]
        try:
            page = self._fetch(url, headers)
        except FetchError:
            if cached:  # offline or failing: what we had is still what the page said
                return self._page(url, *cached)
            raise
        if page.status == 304 and cached:
            return self._page(url, *cached)
        self._store(url, page)
        return page

    # ---- network ------------------------------------------------------------------------------
    def _fetch(self, url: str, headers: dict) -> Page:
        last_reason = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            self._pause(url)
            try:
                request = urllib.request.Request(url, headers=headers)
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    h = response.headers
                    return Page(response.geturl(), response.status, h.get("Content-Type", ""),
                                response.read(), etag=h.get("ETag"),
                                last_modified=h.get("Last-Modified"))
            except urllib.error.HTTPError as e:
                if e.code == 304:
                    return Page(url, 304, "", b"")
                last_reason = f"HTTP {e.code} {e.reason}"
                if e.code != 429 and e.code < 500:
                    break  # 404, 403, ...: asking again will not help
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
                reason = getattr(e, "reason", e)
                if isinstance(reason, (socket.gaierror, ConnectionRefusedError)):
                    # no such host, or nothing listening: retrying will not change that
                    self._down[urlsplit(url).netloc] = f"cannot connect ({reason})"
                    raise FetchError(f"{url}: cannot connect ({reason})") from None
                last_reason = "timed out" if "timed out" in str(reason) else \
                    f"cannot connect ({reason})"
        raise FetchError(f"{url}: {last_reason}")

    def _pause(self, url: str) -> None:
        host = urlsplit(url).netloc
        wait = self._last.get(host, 0) + self.delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last[host] = time.monotonic()

    # ---- cache --------------------------------------------------------------------------------
    def _paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode()).hexdigest()[:32]
        return self.cache_dir / f"{key}.json", self.cache_dir / f"{key}.body"

    def _cached(self, url: str) -> tuple[dict, bytes] | None:
        meta_path, body_path = self._paths(url)
        try:
            return json.loads(meta_path.read_text()), body_path.read_bytes()
        except (OSError, ValueError):
            return None

    def _store(self, url: str, page: Page) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        meta_path, body_path = self._paths(url)
        body_path.with_suffix(".tmp").write_bytes(page.body)
        body_path.with_suffix(".tmp").replace(body_path)  # body first: meta marks it complete
        meta = {"url": page.url, "content_type": page.content_type, "fetched_at": time.time(),
                "etag": page.etag, "last_modified": page.last_modified}
        meta_path.write_text(json.dumps(meta))

    def _page(self, url: str, meta: dict, body: bytes) -> Page:
        return Page(meta.get("url", url), 200, meta.get("content_type", ""), body,
                    from_cache=True)
