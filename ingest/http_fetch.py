"""Polite, bounded HTTP fetching with an on-disk cache, for ingesting from the web when the user
asks.

    fetcher = Fetcher(home.root / "http-cache", allow_hosts=["blog.example.org"])
    page = fetcher.get("http://karpathy.github.io/")      # raises FetchError with a reason
    post = fetcher.get(link, found_on=page.url)           # a link discovered on that page

- A clear user agent that names the tool, and a pause between requests to the same host.
- Timeouts, and retries with exponential back-off on timeouts, resets, 429 and 5xx. A host
  whose name does not resolve or that refuses connections is not retried, and is remembered as
  down for the rest of the run: offline, a long list of URLs fails in seconds, one line each.
- Bounded: every fetch has a wall-clock limit (`max_seconds`, name lookups, connecting,
  headers, body and retries included; a watchdog shuts the connection down, so a server sending
  a byte a second cannot hold the run, and a host with many unreachable addresses is tried
  only within the time left) and a size cap (`max_bytes`; the body is read in chunks and dropped at the cap,
  and a larger Content-Length is refused before reading anything).
- Only what the user asked for: a URL the user named is trusted as to its host. A link
  discovered on a page (`found_on`) stays on that page's site (www. or not) unless its host is
  in `allow_hosts`, and neither it nor any redirect may reach a private, loopback or link-local
  address (`allow_loopback` lets tests use 127.0.0.1 under a second name). Redirects go to
  http and https only. The address is checked twice: when the link is found (for a clear
  reason), and on the socket itself as it connects, so a name that resolves to a public address
  first and to 127.0.0.1 a moment later (DNS rebinding) still cannot reach the machine.
- A cache under the data home: a page fetched before is revalidated with ETag /
  Last-Modified (a 304 costs no download), and served from disk when the network is gone.
"""
from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import urlsplit

USER_AGENT = ("ktp/0.1 (Karpathy Thinking Partner; a local, personal research tool; "
              "fetches only what its user asks for)")
MB = 1 << 20
CHUNK = 64 * 1024  # bytes per read of a body: small enough to stop close to the cap


class FetchError(Exception):
    """The page could not be had; the message is a one-line reason for the user."""


class Refused(FetchError):
    """Not fetched, by rule (another site, a private address, a redirect to ftp://). Never
    retried, and never answered from the cache: the rule, not the network, said no."""


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
        # A charset nobody knows (or a codec that is not a text encoding) is most likely a typo
        # for utf-8; decoding as utf-8 with replacements costs a few characters, not the page.
        try:
            return self.body.decode(_charset(self.content_type), errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


# The one regular expression here (tests/test_ingest_web.py checks it stays linear).
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([^\"';\s]+)", re.I)


def _charset(content_type: str) -> str:
    m = _CHARSET.search(content_type)
    return m.group(1) if m else "utf-8"


class Fetcher:
    def __init__(self, cache_dir: Path, *, delay: float = 1.0, timeout: float = 20.0,
                 retries: int = 3, backoff: float = 1.0, max_bytes: int = 20 * MB,
                 max_seconds: float = 60.0, allow_hosts: Iterable[str] = (),
                 allow_loopback: bool = False):
        """timeout: seconds to wait for any one byte; max_seconds: for a whole fetch;
        max_bytes: the largest body read; allow_hosts: hosts (besides the page's own site) that
        discovered links may lead to; allow_loopback: let discovered links and redirects reach
        127.0.0.1/::1 under names the user did not give (for tests on a local server)."""
        self.cache_dir = Path(cache_dir)
        self.delay, self.timeout, self.retries, self.backoff = delay, timeout, retries, backoff
        self.max_bytes, self.max_seconds = max_bytes, max_seconds
        self.allow_hosts = frozenset(site_of(_host_of(h)) for h in allow_hosts)
        self.allow_loopback = allow_loopback
        self._last: dict[str, float] = {}  # host -> time of the last request
        self._down: dict[str, str] = {}  # host -> why it cannot be reached (this run)
        self._named: set[str] = set()  # hosts of URLs the user asked for: trusted as to address

    def get(self, url: str, *, found_on: str | None = None) -> Page:
        """The page at `url`. `found_on`: the page a link was discovered on (a feed, an index);
        without it the URL is the user's own and its host is trusted."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise FetchError(f"{url}: only http and https URLs can be fetched")
        deadline = _Deadline(self.max_seconds,
                             check_peer=lambda host, address: self._check_peer(url, host, address))
        try:
            return self._get(url, found_on, deadline)
        finally:
            deadline.stop()

    def _get(self, url: str, found_on: str | None, deadline: _Deadline) -> Page:
        if found_on is None:
            self._named.add(_host(url))
        else:
            self._check_discovered(url, found_on, deadline)
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
            page = self._fetch(url, headers, found_on, deadline)
        except Refused:
            raise
        except FetchError:
            if cached:  # offline or failing: what we had is still what the page said
                return self._page(url, *cached)
            raise
        if page.status == 304 and cached:
            return self._page(url, *cached)
        self._store(url, page)
        return page

    # ---- what may be fetched ------------------------------------------------------------------
    def _check_discovered(self, url: str, found_on: str, deadline: _Deadline) -> None:
        if not self._on_site(url, found_on):
            raise Refused(f"{url}: on another site than {_host(found_on)}, where the link was "
                          f"found; not fetched (to fetch it, add --allow-host {_host(url)})")
        self._check_address(url, "a link found on a page", deadline)

    def _check_redirect(self, url: str, target: str, found_on: str | None,
                        deadline: _Deadline) -> None:
        if urlsplit(target).scheme not in ("http", "https"):
            raise Refused(f"{url}: redirected to {target}; only http and https redirects "
                          "are followed")
        if found_on is not None and not self._on_site(target, found_on):
            raise Refused(f"{url}: redirected to another site ({_host(target)}); not followed "
                          f"(to follow it, add --allow-host {_host(target)})")
        self._check_address(target, f"redirected to {target}", deadline)

    def _on_site(self, url: str, found_on: str) -> bool:
        site = site_of(_host(url))
        return site == site_of(_host(found_on)) or site in self.allow_hosts

    def _check_address(self, url: str, what: str, deadline: _Deadline) -> None:
        """A host the user did not name must not lead into their own network (a router's admin
        page, a local service): every address its name resolves to has to be public. This early
        look says why in the link's own terms; `_check_peer` is what holds, on the socket."""
        host = _host(url)
        if host in self._named:
            return
        for address in _addresses(host, deadline.remaining()):
            if kind := self._forbidden(address):
                raise Refused(f"{url}: {what}, and {host} is a {kind} address ({address}); "
                              "only public addresses are fetched unless you name the URL "
                              "yourself")

    def _check_peer(self, url: str, host: str, address) -> None:
        """The same rule at connection time, for each address the connection's own lookup gave
        and for the address the socket is connected to: the host name may resolve differently
        now than when it was checked. `host` is the one connected to (a redirect's, or a proxy
        the user set up, which is theirs like a URL they named)."""
        host = host.lower().rstrip(".")
        if host in self._named or host in _proxy_hosts():
            return
        if kind := self._forbidden(address):
            raise Refused(f"{url}: {host} is a {kind} address ({address}) when connecting; only "
                          "public addresses are fetched unless you name the URL yourself")

    def _forbidden(self, address) -> str | None:
        kind = _non_public_kind(address)
        return None if kind == "loopback" and self.allow_loopback else kind

    # ---- network ------------------------------------------------------------------------------
    def _fetch(self, url: str, headers: dict, found_on: str | None, deadline: _Deadline
               ) -> Page:
        opener = urllib.request.build_opener(
            _WatchedHTTP(deadline), _WatchedHTTPS(deadline),
            _CheckedRedirects(lambda target: self._check_redirect(url, target, found_on,
                                                                  deadline)))
        return self._attempts(url, headers, opener, deadline)

    def _attempts(self, url: str, headers: dict, opener, deadline: _Deadline) -> Page:
        last_reason = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(self.backoff * 2 ** (attempt - 1), deadline.remaining()))
            self._pause(url)
            try:
                return self._attempt(url, headers, opener, deadline)
            except urllib.error.HTTPError as e:
                e.close()
                if e.code == 304:
                    return Page(url, 304, "", b"")
                last_reason = f"HTTP {e.code} {e.reason}"
                if e.code != 429 and e.code < 500:
                    break  # 404, 403, ...: asking again will not help
            except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
                if deadline.expired:
                    break
                reason = getattr(e, "reason", e)
                if isinstance(reason, (socket.gaierror, ConnectionRefusedError)):
                    # no such host, or nothing listening: retrying will not change that
                    self._down[urlsplit(url).netloc] = f"cannot connect ({reason})"
                    raise FetchError(f"{url}: cannot connect ({reason})") from None
                last_reason = _network_reason(reason)
            finally:
                deadline.release()
            if deadline.expired:
                break
        if deadline.expired:
            raise FetchError(f"{url}: gave up after {self.max_seconds:g} s, the time limit for "
                             "one page (the server sends too slowly, or without end); try "
                             "again later")
        raise FetchError(f"{url}: {last_reason}")

    def _attempt(self, url: str, headers: dict, opener, deadline: _Deadline) -> Page:
        request = urllib.request.Request(url, headers=headers)
        with opener.open(request, timeout=self.timeout) as response:
            body = self._read_body(url, response, deadline)
            h = response.headers
            return Page(response.geturl(), response.status, h.get("Content-Type", ""), body,
                        etag=h.get("ETag"), last_modified=h.get("Last-Modified"))

    def _read_body(self, url: str, response, deadline: _Deadline) -> bytes:
        announced = _content_length(response.headers)
        if announced is not None and announced > self.max_bytes:
            raise FetchError(f"{url}: the server announces {_size(announced)} "
                             f"(Content-Length), more than the {_size(self.max_bytes)} cap; "
                             "is it a page? Nothing was downloaded")
        body = bytearray()
        while chunk := response.read(min(CHUNK, self.max_bytes + 1 - len(body))):
            body += chunk
            if len(body) > self.max_bytes:
                raise FetchError(f"{url}: stopped after {_size(self.max_bytes)} (the cap); "
                                 "is it a page?")
        if deadline.expired:  # the watchdog's shutdown reads like an ordinary end of the body
            raise TimeoutError("the time limit for the page was reached")
        if announced is not None and len(body) < announced:
            raise http.client.IncompleteRead(bytes(body), announced - len(body))
        return bytes(body)

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


# ---- the time limit ----------------------------------------------------------------------------
class _Deadline:
    """A wall-clock limit on one fetch. The socket timeout only bounds each wait for a byte, so
    a server trickling a byte a second never trips it; when this timer fires, it shuts down
    every connection the fetch opened, which wakes the read wherever it is blocked (TLS
    handshake, headers or body). Before there is a connection to shut down, the name lookup
    and each attempt to connect are given only the time left.

    check_peer(host, address): raises (Refused) if the connection must not go to `address`."""

    def __init__(self, seconds: float, check_peer: Callable[[str, object], None] | None = None):
        self._fired = False
        self._ends = time.monotonic() + seconds
        self._check_peer = check_peer
        self._lock = threading.Lock()
        self._handles: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    @property
    def expired(self) -> bool:
        return self._fired or time.monotonic() >= self._ends

    def remaining(self) -> float:
        return max(0.0, self._ends - time.monotonic())

    def connect(self, address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None
                ) -> socket.socket:
        """socket.create_connection, watched and checked: every address the name resolves to
        must pass check_peer before any is tried, and so must the address the socket ends up
        connected to; each attempt gets min(timeout, the time left), and none starts once the
        time is up. We keep a duplicate handle rather than the socket itself: TLS wraps (and
        detaches) the original, but a duplicate stays valid, and shutting it down shuts the one
        connection both refer to."""
        host, port = address[:2]
        if timeout is socket._GLOBAL_DEFAULT_TIMEOUT:
            timeout = socket.getdefaulttimeout()
        infos = _resolve(host, port, self.remaining())
        for info in infos:
            self._check(host, info[4])
        error: OSError | None = None
        for family, kind, proto, _, sockaddr in infos:
            left = self.remaining()
            if left <= 0:
                break
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(left if timeout is None else min(timeout, left))
                if source_address:
                    sock.bind(source_address)
                sock.connect(sockaddr)
                self._check(host, sock.getpeername())
                sock.settimeout(timeout)
            except OSError as e:
                sock.close()
                error = e
                continue
            except BaseException:
                sock.close()
                raise
            with self._lock:
                if not self._fired:
                    self._handles.append(sock.dup())
                    return sock
            sock.close()
            break
        if error is not None and not self.expired:
            raise error
        raise TimeoutError("the time limit for the page was reached")

    def _check(self, host: str, sockaddr) -> None:
        if self._check_peer is not None:
            self._check_peer(host, ipaddress.ip_address(sockaddr[0].split("%")[0]))

    def _expire(self) -> None:
        with self._lock:
            self._fired = True
            for handle in self._handles:
                try:
                    handle.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed by the server or by us

    def release(self) -> None:
        """Close our duplicates (after each attempt): they alone would keep a finished
        connection open."""
        with self._lock:
            for handle in self._handles:
                handle.close()
            self._handles.clear()

    def stop(self) -> None:
        self._timer.cancel()
        self.release()


class _Watched:
    """A urllib handler whose connections open their socket through a _Deadline."""

    def __init__(self, deadline: _Deadline):
        super().__init__()
        self.deadline = deadline

    def do_open(self, http_class, req, **kwargs):
        def connection(host, **kw):
            conn = http_class(host, **kw)
            # http.client opens every socket through this attribute (plain, TLS, via a proxy)
            conn._create_connection = self.deadline.connect
            return conn

        return super().do_open(connection, req, **kwargs)


class _WatchedHTTP(_Watched, urllib.request.HTTPHandler):
    pass


class _WatchedHTTPS(_Watched, urllib.request.HTTPSHandler):
    pass


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only where `check(target)` does not raise (urllib alone would follow
    ftp:// and any host)."""

    def __init__(self, check: Callable[[str], None]):
        self.check = check

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        try:
            self.check(newurl)
        except Refused:
            fp.close()
            raise
        return super().redirect_request(req, fp, code, msg, headers, newurl)


# ---- small helpers ---------------------------------------------------------------------------
def site_of(host: str | None) -> str:
    """The site a host belongs to for the same-site rule: www.example.org is example.org."""
    host = (host or "").lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def same_site(url: str, other: str) -> bool:
    return site_of(_host(url)) == site_of(_host(other))


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").rstrip(".")


def _host_of(name: str) -> str:
    """A host from what a user may type for one: example.org, Example.org:8080, a whole URL."""
    return _host(name if "://" in name else f"//{name}")


def _addresses(host: str, seconds: float) -> list:
    """The addresses `host` resolves to (for the early check; a lookup that takes longer than
    `seconds` counts as none, and the fetch then meets its time limit)."""
    try:
        infos = _resolve(host, None, seconds)
    except (OSError, UnicodeError):
        # Not resolvable here: the fetch itself then says it cannot connect, or a proxy (which
        # resolves names itself) is in the way and guards its own network.
        return []
    return sorted({ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}, key=str)


def _resolve(host: str, port, seconds: float) -> list:
    """socket.getaddrinfo for a TCP connection, given up (TimeoutError) after `seconds`. A name
    lookup cannot be interrupted, so it runs in a daemon thread that is left behind when the
    time is up; the system resolver's own timeouts end it later. An address needs no lookup."""
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pass
    else:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                  flags=socket.AI_NUMERICHOST)
    if seconds <= 0:
        raise TimeoutError("the time limit for the page was reached")
    outcome: dict = {}

    def lookup() -> None:
        try:
            outcome["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except BaseException as e:  # handed to the caller
            outcome["error"] = e

    worker = threading.Thread(target=lookup, name=f"lookup {host}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeoutError(f"looking up {host} took longer than the time left for the page")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["infos"]


def _proxy_hosts() -> set[str]:
    """The hosts of the proxies urllib will use (from the environment): the user's own."""
    return {_host_of(value) for scheme, value in urllib.request.getproxies().items()
            if scheme != "no" and value}


def _non_public_kind(address) -> str | None:
    """What kind of non-public address this is, or None for a public one."""
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    for kind in ("loopback", "link_local", "unspecified", "private"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-public"


def _content_length(headers) -> int | None:
    try:
        return int(headers.get("Content-Length", ""))
    except ValueError:
        return None


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", MB), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def _network_reason(reason) -> str:
    if "timed out" in str(reason):
        return "timed out"
    if isinstance(reason, http.client.IncompleteRead):
        return f"the connection broke off after {len(reason.partial)} bytes"
    if isinstance(reason, http.client.HTTPException):
        return f"the connection broke off ({type(reason).__name__})"
    return f"cannot connect ({reason})"
