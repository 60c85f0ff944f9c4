#!/bin/sh
# Export the invoices overdue at the end of a month (CxC and CxP) to an Excel workbook with
# a summary sheet and charts, e.g. from cron on the 1st of each month for the month before:
#
#   0 7 1 * * CUENTAS_TOKEN="$(cat ~/.config/cuentas/cron-token)" sh /ruta/examples/vencidas-del-mes.sh
#
# Usage: sh examples/vencidas-del-mes.sh [YYYY-MM] [OUTPUT.xlsx]
#   YYYY-MM     the month (default: the month before today; CUENTAS_TODAY moves "today")
#   OUTPUT      default: vencidas-YYYY-MM.xlsx in the current folder
# Needs the export permission (gerente or administrador); CUENTAS_TOKEN, a login session or
# CUENTAS_SESSION_FILE says who runs it. CUENTAS=path/to/cuentas picks the program (PYTHON the
# python3 that computes the month's last day).
set -e
CUENTAS="${CUENTAS:-cuentas}"
# The last day of the month, in Python so it works the same with GNU and BSD date.
MONTH_END="$("${PYTHON:-python3}" -c '
import os, sys, datetime as d
arg = sys.argv[1] if len(sys.argv) > 1 else ""
today = d.date.fromisoformat(os.environ.get("CUENTAS_TODAY") or d.date.today().isoformat())
if arg:
    y, m = (int(x) for x in arg.split("-"))
else:
    first = today.replace(day=1) - d.timedelta(days=1)
    y, m = first.year, first.month
nxt = d.date(y + (m == 12), m % 12 + 1, 1)
print(nxt - d.timedelta(days=1))
' "${1:-}")"
MONTH="$(echo "$MONTH_END" | cut -c1-7)"
OUTPUT="${2:-vencidas-$MONTH.xlsx}"
# --today makes "overdue" mean overdue at the end of that month.
"$CUENTAS" --today "$MONTH_END" export --overdue --output "$OUTPUT"
echo "$OUTPUT"
