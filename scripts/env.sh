# Sourced by the scripts: find or install uv, and keep every tool offline-friendly and quiet.
export UV_PYTHON_DOWNLOADS=never            # use the machine's Python 3.11+, never download one
export STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
export ORT_DISABLE_TELEMETRY=1
export UV_COMPILE_BYTECODE=1              # precompile at install: start-up does not recompile
uv() { python3 -m uv "$@"; }
if ! python3 -m uv --version >/dev/null 2>&1; then
  echo "Installing uv (the package manager that reads uv.lock)…" >&2
  python3 -m pip install --quiet uv
fi
