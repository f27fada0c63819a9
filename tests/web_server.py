"""A small HTTP server on 127.0.0.1 for ingest tests: serves fixed routes (our own pages), counts
requests, records headers, answers ETag revalidation with 304, and can be slow, flaky or
hostile (a body without end, headers a byte at a time, a huge Content-Length, redirects)."""
from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler

from servers import LoopbackServer

HOSTILE = ("/endless", "/slow-headers", "/huge")
GIVE_UP_AFTER = 60.0  # seconds a hostile endpoint keeps going if the client never hangs up


class SiteServer(LoopbackServer):
    def __init__(self, routes: dict[str, tuple[str, str | bytes]]):
        """routes: path -> (content type, body). `redirects`: path -> where a 302 points.
        Special paths: /slow (sleeps 1.5 s), /flaky (503 on the first request, then the route
        `/flaky` if given), and the hostile ones, which go on until the client hangs up (then
        `finished[path]` is set; `sent[path]` counts the bytes written): /endless (a body
        without end), /slow-headers (a header 20 bytes a second, without end), /huge (says
        Content-Length: 10**12)."""
        self.routes = routes
        self.redirects: dict[str, str] = {}
        self.hits: Counter = Counter()
        self.headers: list[dict] = []
        self.sent: Counter = Counter()
        self.finished = {path: threading.Event() for path in HOSTILE}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the stdlib's name)
                server.hits[self.path] += 1
                server.headers.append(dict(self.headers))
                if self.path in HOSTILE:
                    return self._hostile()
                if self.path == "/slow":
                    time.sleep(1.5)  # past the tests' 0.5 s client timeout
                if self.path == "/flaky" and server.hits[self.path] == 1:
                    return self._send(503, "text/plain", b"busy")
                if self.path in server.redirects:
                    return self._redirect(server.redirects[self.path])
                if self.path not in server.routes:
                    return self._send(404, "text/plain", b"not here")
                ctype, body = server.routes[self.path]
                body = body.encode() if isinstance(body, str) else body
                etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
                if self.headers.get("If-None-Match") == etag:
                    return self._send(304, ctype, b"", etag)
                self._send(200, ctype, body, etag)

            def _send(self, code, ctype, body, etag=None):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if etag:
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def _redirect(self, location):
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _hostile(self):
                try:
                    {"/endless": self._endless, "/slow-headers": self._slow_headers,
                     "/huge": self._huge}[self.path]()
                except OSError:
                    pass  # the client hung up: what these endpoints wait for
                finally:
                    server.finished[self.path].set()

            def _endless(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()  # no Content-Length: the body ends when the server says
                self._write(b"<html><body>")
                paragraph = b"<p>" + b"more " * 13000 + b"</p>\n"
                give_up = time.monotonic() + GIVE_UP_AFTER
                while time.monotonic() < give_up:
                    self._write(paragraph)

            def _slow_headers(self):
                self._write(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nX-Drip: ")
                give_up = time.monotonic() + GIVE_UP_AFTER
                while time.monotonic() < give_up:
                    self._write(b"x")
                    time.sleep(0.05)

            def _huge(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(10 ** 12))
                self.end_headers()
                self._write(b"<html><body><p>The first of a trillion bytes.")

            def _write(self, data: bytes):
                self.wfile.write(data)
                server.sent[self.path] += len(data)

            def log_message(self, *args):
                pass

        super().__init__(Handler)
