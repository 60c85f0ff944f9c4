"""`cuentas import FOLDER` of 10,000 SUNAT UBL 2.1 invoices (signed-shape XML, one file each,
a fifth of them a crédito in three cuotas with detracción, 500 clients) into SQLite, against
lxml parsing the same files (each read and parsed, nothing else): target 2.0x. The note gives
the import of one file, the command's fixed cost (start-up, schema check, session: alone about
twice the bare parse of 10,000 files here), and the ratio of what the documents add beyond it.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

from benchmarks.generate import ruc_for
from benchmarks.harness import PYTHON, Result, best_of, cuentas, run_process
from benchmarks.scenarios.importer import TODAY, fresh_sqlite, sqlite_template
from benchmarks.ubl_files import Doc

FILES = 10_000
OURS = "20100070970"


def make_folder(workdir: Path, files: int = FILES) -> Path:
    folder = workdir / f"ubl-{files}"
    done = folder / ".complete"
    if done.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    us = ("6", OURS, "EMPRESA EMISORA S.A.C.")
    for n in range(1, files + 1):
        customer = ("6", ruc_for(n % 500 + 1), f"CLIENTE {n % 500 + 1} S.A.C.")
        day = f"2026-{(n % 9) + 1:02d}-{(n % 28) + 1:02d}"
        base = 1000 + n % 9000
        igv = base * 18 // 100
        total = base + igv
        money = lambda c: f"{c}.00"  # noqa: E731
        if n % 5 == 0:  # 12% detracción (code 037) and the net pending in three cuotas, as SUNAT requires
            detraccion = Decimal(total) * Decimal("0.12")
            pending = Decimal(total) - detraccion
            third = (pending / 3).quantize(Decimal("0.01"))
            doc = Doc(id=f"F001-{n}", issued=day, issuer=us, customer=customer, base=money(base), igv=money(igv),
                      total=money(total), forma="Credito", pending=f"{pending:.2f}",
                      detraccion=("037", "12.00", f"{detraccion:.2f}"),
                      cuotas=[(f"{third:.2f}", "2027-01-15"), (f"{third:.2f}", "2027-02-15"),
                              (f"{pending - 2 * third:.2f}", "2027-03-15")])
        else:
            doc = Doc(id=f"F001-{n}", issued=day, issuer=us, customer=customer, base=money(base), igv=money(igv),
                      total=money(total))
        (folder / f"{OURS}-01-F001-{n}.xml").write_text(doc.xml(), encoding="utf-8")
    done.write_text("")
    return folder


def _template(workdir: Path) -> tuple[Path, str]:
    """The importer's SQLite template with company.ruc set (done once per work folder)."""
    base, token = sqlite_template(workdir)
    home = workdir / "ubl-tpl"
    if not (home / "cuentas.db").exists():
        fresh_sqlite(base, workdir, "ubl-tpl")
        run_process(cuentas("settings", "set", "company.ruc", OURS),
                    env={"CUENTAS_TODAY": TODAY, "CUENTAS_TOKEN": token, "CUENTAS_HOME": str(home)})
    return home / "cuentas.db", token


def run(ctx) -> list[Result]:  # noqa: ANN001
    if not ctx.sqlite:
        return []
    files = min(FILES, ctx.size)
    folder = make_folder(ctx.workdir, files)
    template, token = _template(ctx.workdir)
    env_base = {"CUENTAS_TODAY": TODAY, "CUENTAS_TOKEN": token}
    bare = best_of(3, lambda: run_process([PYTHON, "-c", (
        "import os, sys\nfrom lxml import etree\n"
        "parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)\n"
        f"folder = {str(folder)!r}\n"
        "for name in sorted(os.listdir(folder)):\n"
        "    if name.endswith('.xml'):\n"
        "        with open(os.path.join(folder, name), 'rb') as f:\n"
        "            etree.fromstring(f.read(), parser)\n")]))

    def ours():  # noqa: ANN202
        home = fresh_sqlite(template, ctx.workdir, "run-ubl")
        return run_process(cuentas("import", str(folder)), env={**env_base, "CUENTAS_HOME": str(home)})

    one = ctx.workdir / "ubl-1"
    if not one.exists():
        one.mkdir()
        shutil.copy2(next(folder.glob("*.xml")), one)

    def ours_one():  # noqa: ANN202
        home = fresh_sqlite(template, ctx.workdir, "run-ubl")
        return run_process(cuentas("import", str(one)), env={**env_base, "CUENTAS_HOME": str(home)})

    mine = best_of(3, ours)
    fixed = best_of(3, ours_one)  # what the command costs before its documents: start-up, schema check, session
    return [Result(f"import {files:,} UBL XML invoices into SQLite", mine.seconds, bare.seconds, 2.0, mine.peak_mib,
                   note=f"baseline: lxml reading and parsing every file of the folder; importing one file takes "
                        f"{fixed.seconds:.2f} s, so the documents themselves cost "
                        f"{(mine.seconds - fixed.seconds) / bare.seconds:.2f}x the bare parse")]
