"""`ktp serve` for real: a Streamlit server on 127.0.0.1 that answers, and that opens no
connection to anywhere but this machine (checked by an audit hook inside the server process)."""
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
