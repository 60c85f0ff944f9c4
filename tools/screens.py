"""Writes docs/screens-es.md: text captures of the screens an accountant sees in the default
language (Spanish), at 100 columns, from a fresh demo company.

    python -m tools.screens            # rewrite docs/screens-es.md
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "screens-es.md"
HEADER = """# Screens in Spanish

Text captures of the screens an accountant sees with the default language (Spanish), at 100
columns. The dashboard and the statement are the demo company's (`cuentas demo --dir DIR`, then the
environment lines it prints). Written by `python -m tools.screens`; the same commands with
`--lang en` give the English screens.
"""
SECTIONS: list[tuple[str, list[str]]] = [
    ("`cuentas --help`", ["COLUMNS=100 cuentas --help"]),
    ("`cuentas facturas --help`", ["COLUMNS=100 cuentas facturas --help"]),
    ("`cuentas tablero` (the dashboard) at 100 columns", ["COLUMNS=100 cuentas tablero --format table"]),
    ("A mistake, and the invoices that are overdue",
     ["cuentas facturas pagar F001-1001", "COLUMNS=100 cuentas facturas vencidas --kind cxc --format table | head -12"]),
    ("A client's statement of account (estado de cuenta)",
     ["COLUMNS=100 cuentas clientes estado-de-cuenta 20999991140 --from 01/05/2026 --format table | head -40"]),
    ("The bank: a month of the statement and its reconciliation",
     ["cuentas banco cuentas add soles-bcp --bank BCP --currency PEN --number 193-1234567-0-12",
      "cuentas banco importar examples/extracto-bcp.csv --account soles-bcp",
      "COLUMNS=100 cuentas banco conciliar --auto --format table | tail -3",
      "COLUMNS=100 cuentas banco revisar --format table", "COLUMNS=100 cuentas banco estado --format table"]),
]


def _run(line: str, env: dict[str, str], cwd: Path) -> str:
    bin_dir = Path(sys.executable).parent
    shell = f"PATH={shlex.quote(str(bin_dir))}:$PATH; {line}"
    done = subprocess.run(["sh", "-c", shell + " 2>&1"], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    return "\n".join(part.rstrip() for part in done.stdout.rstrip("\n").split("\n"))


def render() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CUENTAS_", "LC_", "LANG"))}
        env.update({"LANG": "C", "CUENTAS_HOME": str(Path(tmp) / "home"), "PYTHONDONTWRITEBYTECODE": "1"})
        made = subprocess.run([str(Path(sys.executable).parent / "cuentas"), "demo", "--dir", str(Path(tmp) / "demo")],
                              env=env, capture_output=True, text=True, timeout=600)
        if made.returncode != 0:
            raise SystemExit(f"cuentas demo failed:\n{made.stderr}")
        for name, value in re.findall(r"export (CUENTAS_[A-Z_]+)=(\S+)", made.stderr + made.stdout):
            env[name] = value.strip("'\"")
        out = [HEADER]
        for title, lines in SECTIONS:
            out += [f"## {title}", "", "```text"]
            for line in lines:
                out += [f"$ {line}", _run(line, env, ROOT)]  # from the repository: examples/ as the README
            out += ["```", ""]
        return "\n".join(out)


def main() -> None:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
