#!/usr/bin/env bash
# Install what the tests need and run the whole suite. CI runs exactly this.
#  - Python dependencies from uv.lock (with the test and browser groups)
#  - Debian's Chromium for the real-browser tests (never a downloaded browser build)
#  - Java 17 and Maven, and the Neo4j launcher they build, for the graph tests on a real Neo4j
# Extra arguments go to pytest (e.g. -k search, -x).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Chromium for the browser tests (apt-get install chromium)…" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "Chromium is missing and this user cannot install it: the browser tests will skip" \
         "(as root: apt-get install chromium)." >&2
  fi
fi
# Java 17 and Maven for the real Neo4j server the graph tests start (tests/neo4j_server/).
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Java and Maven for the Neo4j tests (apt-get install openjdk-17-jdk-headless maven)…" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless maven >/dev/null
  else
    echo "Java or Maven is missing and this user cannot install them: the Neo4j tests will skip" \
         "(as root: apt-get install openjdk-17-jdk-headless maven)." >&2
  fi
fi
# Build the launcher now (the only step that reaches Maven Central; jars cached in ~/.m2),
# so the tests themselves start the server without touching the network.
if command -v mvn >/dev/null && command -v java >/dev/null; then
  echo "Building the Neo4j test server (tests/neo4j_server, cached after the first run)…" >&2
  (cd tests/neo4j_server && mvn -q -B package) >&2
fi
uv sync --frozen --quiet --group test --group browser
exec uv run --frozen --no-sync pytest "$@"
