#!/usr/bin/env bash
# The main job on the embedded defaults: install (from uv.lock), create the data home, load the
# framework, build the graph, and serve the web UI on http://127.0.0.1:8501.
# Extra arguments go to `ktp up` (e.g. --port 8502, --no-serve).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
uv sync --frozen --quiet
exec uv run --frozen --no-sync ktp up "$@"
