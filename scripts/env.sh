# Shared settings of the project scripts (sourced, not run).
# The cargo target dir lives in a cache outside the work tree, so a fresh clone
# reuses earlier builds when they exist (and builds from nothing when not).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/victron-gx-modbus/target}
VENV=$ROOT/.venv
export PYO3_PYTHON=$VENV/bin/python
