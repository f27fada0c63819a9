"""A small HTTP server on 127.0.0.1 for ingest tests: serves fixed routes (our own pages), counts
requests, records headers, answers ETag revalidation with 304, and can be slow or flaky."""
from __future__ import annotations

import time
from collections import Counter
from http.server import BaseHTTPRequestHandler

from servers import LoopbackServer


class SiteServer(LoopbackServer):
    def __init__(self, routes: dict[str, tuple[str, str | bytes]]):
        """routes: path -> (content type, body). Special paths: /slow (sleeps 1.5 s), /flaky
        (503 on the first request, then the route `/flaky` if given)."""
        self.routes = routes
        self.hits: Counter = Counter()
        self.headers: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the stdlib's name)
                server.hits[self.path] += 1
                server.headers.append(dict(self.headers))
                if self.path == "/slow":
                    time.sleep(1.5)  # past the tests' 0.5 s client timeout
                if self.path == "/flaky" and server.hits[self.path] == 1:
                    return self._send(503, "text/plain", b"busy")
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

            def log_message(self, *args):
                pass

        super().__init__(Handler)
