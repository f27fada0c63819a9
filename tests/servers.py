"""Helpers for tests that start real servers on 127.0.0.1."""
import os
import signal
import socket
import subprocess
import sys
import time
import threading
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> bytes:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


AUDIT_HOOK = '''
import sys, os
_log = os.environ["KTP_TEST_NET_LOG"]
def _local(host):
    return str(host) in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "::", "") or \\
        str(host).startswith("127.")
def _hook(event, args):
    if event == "socket.connect" and isinstance(args[1], tuple) and not _local(args[1][0]):
        open(_log, "a").write(f"connect {args[1]}\\n")
    elif event == "socket.getaddrinfo" and not _local(args[0]):
        open(_log, "a").write(f"lookup {args[0]}\\n")
sys.addaudithook(_hook)
'''


def audited_env(tmp_path, **extra) -> tuple[dict, Path]:
    """An environment whose Python processes log every non-loopback connect or DNS lookup to
    the returned file (via a sitecustomize audit hook). No file means no such attempt."""
    hook_dir = Path(tmp_path) / "audit-hook"
    hook_dir.mkdir(exist_ok=True)
    (hook_dir / "sitecustomize.py").write_text(AUDIT_HOOK)
    net_log = Path(tmp_path) / "net.log"
    env = dict(os.environ, PYTHONPATH=str(hook_dir), KTP_TEST_NET_LOG=str(net_log), **extra)
    env.pop("STREAMLIT_BROWSER_GATHER_USAGE_STATS", None)  # the command line must suffice
    return env, net_log


class Served:
    url = ""
    output = ""


@contextmanager
def ktp_serve(env: dict):
    """`ktp serve` on a free loopback port. Yields a `Served` (url; output once stopped)."""
    served = Served()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        served.url = f"http://127.0.0.1:{port}"
        assert wait_for(f"{served.url}/_stcore/health") == b"ok"
        yield served
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        served.output = server.communicate(timeout=30)[0].decode()


class LoopbackServer:
    """An HTTP server on a free port of 127.0.0.1, served from a thread while in a `with`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], path: str = ""):
        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client that gave up (timeout tests) is expected, not an error to print

        self.httpd = Server(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
