#!/usr/bin/env bash
# Install what the tests need and run the whole suite. CI runs exactly this.
#  - Python dependencies from uv.lock (with the test and browser groups)
#  - Debian's Chromium for the real-browser tests (never a downloaded browser build)
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
uv sync --frozen --quiet --group test --group browser
exec uv run --frozen --no-sync pytest "$@"
