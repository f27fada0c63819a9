"""`ktp serve` for real: a Streamlit server on 127.0.0.1 that answers, and that opens no
connection to anywhere but this machine (checked by an audit hook inside the server process)."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

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


def test_serve_answers_on_loopback_and_never_phones_home(tmp_path: Path, data_home: Path):
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(AUDIT_HOOK)
    net_log = tmp_path / "net.log"
    env = dict(os.environ, PYTHONPATH=str(hook_dir), KTP_TEST_NET_LOG=str(net_log),
               KTP_HOME=str(data_home))
    env.pop("STREAMLIT_BROWSER_GATHER_USAGE_STATS", None)  # the command line must suffice
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        assert wait_for(f"http://127.0.0.1:{port}/_stcore/health") == b"ok"
        assert b"<title>" in wait_for(f"http://127.0.0.1:{port}/")
        time.sleep(2)  # give any start-up phoning home the time to happen
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode()
    assert f"http://127.0.0.1:{port}" in output
    assert not net_log.exists(), net_log.read_text()
    # Control: the same hook does catch a lookup when one happens.
    lookup = "import socket\ntry: socket.getaddrinfo('example.invalid', 80)\nexcept OSError: pass"
    subprocess.run([sys.executable, "-c", lookup], env=env, check=True)
    assert net_log.read_text() == "lookup example.invalid\n"
