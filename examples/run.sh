#!/bin/sh
# The main job on the embedded default: a fresh SQLite database under ./demo-home.
set -e
CUENTAS="${CUENTAS:-.venv/bin/cuentas}"
export CUENTAS_HOME="${CUENTAS_HOME:-$PWD/demo-home}"
rm -rf "$CUENTAS_HOME"
echo "clave-demo-segura" | "$CUENTAS" init --admin admin --password-stdin
echo "clave-demo-segura" | "$CUENTAS" login admin --password-stdin --session-file "$CUENTAS_HOME/session"
export CUENTAS_SESSION_FILE="$CUENTAS_HOME/session"
"$CUENTAS" whoami
"$CUENTAS" roles list
