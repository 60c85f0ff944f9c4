#!/bin/sh
# The main job on the embedded default: build the demo company in a fresh SQLite file under
# ./cuentas-demo (an earlier demo there is replaced), log in as its administrador and show the
# dashboard. Nothing outside that folder is touched: CUENTAS_HOME points at it too.
set -e
CUENTAS="${CUENTAS:-.venv/bin/cuentas}"
DEMO_DIR="${DEMO_DIR:-$PWD/cuentas-demo}"
export CUENTAS_HOME="${CUENTAS_HOME:-$DEMO_DIR/home}"
exec "$CUENTAS" demo --dir "$DEMO_DIR"
