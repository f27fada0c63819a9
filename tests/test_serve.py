"""`ktp serve` for real: a Streamlit server on 127.0.0.1 that answers, and that opens no
connection to anywhere but this machine (checked by an audit hook inside the server process)."""
import os
import subprocess
import sys
import time
from pathlib import Path

from servers import audited_env, ktp_serve, wait_for


def test_serve_answers_on_loopback_and_never_phones_home(tmp_path: Path, data_home: Path):
    env, net_log = audited_env(tmp_path, KTP_HOME=str(data_home))
    with ktp_serve(env) as served:
        assert b"<title>" in wait_for(served.url + "/")
        time.sleep(2)  # give any start-up phoning home the time to happen
    assert f"Serving the web UI at {served.url}" in served.output
    assert not net_log.exists(), net_log.read_text()
    # Control: the same hook does catch a lookup when one happens.
    lookup = "import socket\ntry: socket.getaddrinfo('example.invalid', 80)\nexcept OSError: pass"
    subprocess.run([sys.executable, "-c", lookup], env=env, check=True)
    assert net_log.read_text() == "lookup example.invalid\n"


def test_serve_refuses_a_bad_or_taken_port_before_saying_it_serves(data_home: Path):
    import socket

    env = {**os.environ, "KTP_HOME": str(data_home)}
    bad = subprocess.run([sys.executable, "-m", "ui.cli", "serve", "--port", "99999"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "99999 is not in the range 1<=x<=65535" in bad.stderr and "Serving" not in bad.stdout
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run([sys.executable, "-m", "ui.cli", "serve", "--port", str(port)],
                              capture_output=True, text=True, env=env, timeout=60)
    assert busy.returncode == 1 and "Serving" not in busy.stdout
    assert busy.stderr == (f"Error: cannot serve on 127.0.0.1:{port}: Address already in use; "
                           "stop what is using it, or choose another port with --port\n")
