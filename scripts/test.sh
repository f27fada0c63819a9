#!/usr/bin/env bash
# Install what the tests need (from uv.lock) and run the whole suite. CI runs exactly this.
# Extra arguments go to pytest (e.g. -k search, -x).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
uv sync --frozen --quiet --group test
exec uv run --frozen --no-sync pytest "$@"
