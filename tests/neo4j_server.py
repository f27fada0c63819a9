"""A real Neo4j Community server for the tests, from the launcher in tests/neo4j_server/.

    server = Neo4jServer.start(tmp_dir, password="...")   # 127.0.0.1, a free port
    server.uri                                            # bolt://127.0.0.1:PORT
    server.stop()

The launcher is built with Maven once (its jars cached in ~/.m2; scripts/test.sh builds it
ahead of the run, so the tests themselves reach no network); `problem()` says in one line what
is missing on a machine without Java or Maven.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

LAUNCHER = Path(__file__).resolve().parent / "neo4j_server"
CLASSPATH = LAUNCHER / "target" / "classpath.txt"
CLASSES = LAUNCHER / "target" / "classes"
START_SECONDS = 180  # a cold JVM on two busy cores takes 20-40 s


def problem() -> str | None:
    """What stops this machine from running the server, or None."""
    if not shutil.which("java"):
        return "Java is not installed (apt-get install openjdk-17-jre-headless maven)"
    if not CLASSPATH.exists() and not shutil.which("mvn"):
        return "Maven is not installed to build tests/neo4j_server (apt-get install maven)"
    return None


def build() -> None:
    """Build the launcher unless its build is newer than its sources."""
    sources = [LAUNCHER / "pom.xml", *LAUNCHER.glob("src/**/*.java")]
    if CLASSPATH.exists() and CLASSPATH.stat().st_mtime >= max(p.stat().st_mtime
                                                               for p in sources):
        return
    done = subprocess.run(["mvn", "-q", "-B", "package"], cwd=LAUNCHER, capture_output=True,
                          text=True, timeout=1200)
    if done.returncode != 0:
        raise RuntimeError("building tests/neo4j_server failed:\n" + done.stdout[-3000:]
                           + done.stderr[-3000:])


class Neo4jServer:
    def __init__(self, process: subprocess.Popen, uri: str, password: str, output: list):
        self.process, self.uri, self.password, self._output = process, uri, password, output
        self.user = "neo4j"

    @classmethod
    def start(cls, folder: Path, password: str) -> "Neo4jServer":
        build()
        classpath = f"{CLASSES}:{CLASSPATH.read_text().strip()}"
        # A small heap is plenty for the test graphs and leaves the two cores' memory alone.
        process = subprocess.Popen(
            ["java", "-Xms256m", "-Xmx1g", "-XX:+UseSerialGC", "-cp", classpath,
             "ktp.Launcher", str(folder), password],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        output: list[str] = []
        found: list[str] = []
        ready = threading.Event()

        def read() -> None:  # keeps draining, so a chatty server never blocks on its pipe
            for line in process.stdout:
                output.append(line)
                if line.startswith("bolt ") and not found:
                    found.append(line.split()[1].rstrip("/"))
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + START_SECONDS
        while not ready.wait(0.2):
            if time.monotonic() > deadline:
                break
        if not found:
            process.kill()
            raise RuntimeError("the Neo4j test server did not start:\n" + "".join(output[-40:]))
        return cls(process, found[0], password, output)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()  # the launcher stops when its input closes
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(10)

    def env(self) -> dict:
        return {"KTP_NEO4J_URI": self.uri, "KTP_NEO4J_USER": self.user,
                "KTP_NEO4J_PASSWORD": self.password}
