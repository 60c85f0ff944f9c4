"""The demo company's files: a deterministic generator of the examples/ CSV, XLSX and PLE files.

`examples/make_examples.py` writes these files into the repository; `cuentas demo` imports
them from there, or writes them again into the demo folder when cuentas was installed
without the repository (same seed, same rows). Everything is fictitious: RUCs in the
20999xxxxxx / 10999xxxxxx ranges with valid check digits, e-mail addresses under `.example`.

The company lives on DEMO_TODAY: a year of invoices issued up to that day, most of them
paid (some late, some in part), and the rest open across every aging bucket.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

DEMO_TODAY = date(2026, 6, 15)
FIRST_DAY = DEMO_TODAY - timedelta(days=364)
COMPANY_NAME = "EMPRESA DEMO S.A.C."
SEED = 2026

PARTIES_FILE = "terceros.csv"
SALES_FILE = "ventas.csv"
PURCHASES_FILE = "compras.xlsx"
PAYMENTS_FILE = "pagos.csv"
LEGACY_FILE = "cartera-sistema-anterior.csv"
MAPPING_FILE = "mapping-sistema-anterior.toml"
STATEMENT_FILE = "extracto-bcp.csv"  # the company's BCP account, the month before DEMO_TODAY
# The May 2026 Registro de Ventas (14.1) as SUNAT's PLE names it: LE + RUC + period + book + flags.
PLE_PERIOD = "202605"

_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def ruc(first_ten: str) -> str:
    """A RUC with its SUNAT check digit."""
    total = sum(int(d) * w for d, w in zip(first_ten, _WEIGHTS))
    return first_ten + str((11 - total % 11) % 10)


COMPANY_RUC = ruc("2099999000")
PLE_FILE = f"LE{COMPANY_RUC}{PLE_PERIOD}00140100001111.txt"

CLIENT_NAMES = [
    "COMERCIAL LOS ANDES", "DISTRIBUIDORA DEL PACÍFICO", "INVERSIONES KALLPA", "AGROINDUSTRIAS CHAVÍN",
    "TEXTIL SAN MARTÍN", "CORPORACIÓN INCA NORTE", "IMPORTADORA TUMBES", "FARMACÉUTICA AMAZONÍA",
    "TRANSPORTES CUSCO EXPRESS", "CONSTRUCTORA RÍMAC", "PESQUERA BAHÍA DE PAITA", "MINERA HUASCARÁN",
    "SERVICIOS GENERALES LIMA SUR", "CONSULTORES ASOCIADOS DEL SUR", "LIBRERÍA EL ESTUDIANTE",
    "PANIFICADORA SANTA ROSA", "HOTEL MIRAFLORES PLAZA", "CLÍNICA SAN BORJA", "COLEGIO JOSÉ OLAYA",
    "FERRETERÍA EL MAESTRO", "RESTAURANTES NIKKEI", "ÓPTICA VISIÓN CLARA",
]
CLIENT_SUFFIXES = ["S.A.C.", "S.A.", "E.I.R.L.", "S.R.L."]
PERSON_CLIENTS = ["QUISPE MAMANI ROSA ELENA", "HUAMÁN TORRES JORGE LUIS", "FLORES CHÁVEZ MARÍA DEL PILAR"]
SUPPLIER_NAMES = [
    "PAPELERA NACIONAL", "LOGÍSTICA INTEGRAL CALLAO", "TELECOMUNICACIONES ANDINAS", "ENERGÍA DEL SUR",
    "SEGURIDAD PRIVADA CENTINELA", "SOFTWARE CONTABLE PERÚ", "ALQUILERES E INMUEBLES SURCO", "COURIER RÁPIDO",
    "UNIFORMES Y TEXTILES LIMA", "IMPRENTA GRÁFICA DEL CENTRO", "LIMPIEZA INDUSTRIAL BRILLO", "AGUA POTABLE DEL NORTE",
    "ESTUDIO JURÍDICO VARGAS", "COMBUSTIBLES GRIFO ESTRELLA", "EQUIPOS DE OFICINA MODERNOS",
]
SALES_DESCRIPTIONS = ["Venta de mercadería", "Servicio de mantenimiento", "Servicio de consultoría",
                      "Venta de repuestos", "Servicio de transporte", "Suministros de oficina"]
PURCHASE_DESCRIPTIONS = ["Compra de suministros", "Servicio mensual", "Alquiler de local", "Servicio de seguridad",
                         "Combustible", "Licencias de software", "Servicio de limpieza", "Asesoría legal"]


@dataclass
class Party:
    kind: str  # cxc | cxp
    doc: str
    name: str
    email: str
    phone: str
    address: str
    terms: int  # days of credit
    habit: str  # on_time | late | partial | bad


@dataclass
class Invoice:
    kind: str
    party: Party
    serie: str
    numero: int
    issued: date
    due: date
    currency: str
    rate: str  # "" for PEN
    total_cents: int
    description: str
    detraccion_pct: int = 0
    payments: list[tuple[date, int, str, str]] = field(default_factory=list)  # date, cents, method, reference

    @property
    def base_cents(self) -> int:
        return int((Decimal(self.total_cents) / Decimal("1.18")).quantize(Decimal("1"), rounding=ROUND_HALF_UP))

    @property
    def igv_cents(self) -> int:
        return self.total_cents - self.base_cents

    @property
    def detraccion_cents(self) -> int:
        return int((Decimal(self.total_cents) * self.detraccion_pct / 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


@dataclass
class Company:
    parties: list[Party]
    sales: list[Invoice]
    purchases: list[Invoice]
    legacy: list[Invoice]
    ple_note: Invoice  # a credit note in the PLE register
    ple_annulled: Invoice


def _slug_words(name: str) -> list[str]:
    import unicodedata

    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().upper().replace(".", " ").split()


def _slug(name: str) -> str:
    return "".join(c for c in "".join(_slug_words(name)).lower() if c.isalnum())[:30]


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _rate(rng: random.Random) -> str:
    return f"3.{rng.randint(680, 790)}"


def _parties(rng: random.Random) -> list[Party]:
    habits = ["on_time"] * 9 + ["late"] * 7 + ["partial"] * 3 + ["bad"] * 3
    rng.shuffle(habits)
    out: list[Party] = []
    for i, base in enumerate(CLIENT_NAMES):
        name = f"{base} DEMO {CLIENT_SUFFIXES[i % len(CLIENT_SUFFIXES)]}"
        out.append(Party("cxc", ruc(f"2099999{100 + i:03d}"), name, f"pagos@{_slug(base)}.example",
                         f"01{rng.randint(2000000, 7999999)}", f"AV. DEMO NRO. {100 + 10 * i} - LIMA",
                         rng.choice([15, 30, 30, 45, 60]), habits[i]))
    for i, name in enumerate(PERSON_CLIENTS):
        out.append(Party("cxc", ruc(f"10999990{10 + i:02d}"), name, f"{_slug(name)}@correo.example",
                         f"9{rng.randint(10000000, 99999999)}", "", 15, ["on_time", "late", "bad"][i]))
    for i, base in enumerate(SUPPLIER_NAMES):
        out.append(Party("cxp", ruc(f"2099998{100 + i:03d}"), f"{base} DEMO S.A.C.", f"facturas@{_slug(base)}.example",
                         f"01{rng.randint(2000000, 7999999)}", f"JR. PROVEEDOR NRO. {200 + 10 * i} - LIMA",
                         rng.choice([0, 15, 30, 30, 45]), "on_time" if i % 4 else "late"))
    return out


def _settle(inv: Invoice, rng: random.Random, habit: str) -> None:
    """Payments dated on or before DEMO_TODAY, following the party's habit."""
    due = inv.due
    if habit == "on_time":
        when = due - timedelta(days=rng.randint(0, min(10, (due - inv.issued).days)))
        parts = [(when, 100)]
    elif habit == "late":
        parts = [(due + timedelta(days=rng.choice([5, 12, 20, 35, 50, 75])), 100)]
    elif habit == "partial":
        parts = [(due + timedelta(days=rng.randint(0, 20)), 50), (due + timedelta(days=rng.randint(40, 90)), 50)]
    else:  # bad payer: pays the oldest late, the rest stays open
        parts = [(due + timedelta(days=rng.randint(60, 150)), 100)] if rng.random() < 0.5 else []
    remaining = inv.total_cents
    if inv.detraccion_pct and parts:
        # The client deposits the detracción in the Banco de la Nación account and pays the rest.
        deposit = inv.detraccion_cents
        when = parts[0][0]
        if when <= DEMO_TODAY:
            inv.payments.append((when, deposit, "detraccion", f"constancia {rng.randint(10000000, 99999999)}"))
            remaining -= deposit
    paid_so_far = 0
    for index, (when, pct) in enumerate(parts):
        if when > DEMO_TODAY:
            break
        cents = remaining - paid_so_far if index == len(parts) - 1 else remaining * pct // 100
        if cents <= 0:
            continue
        method = rng.choice(["transferencia", "transferencia", "transferencia", "cheque", "efectivo"])
        inv.payments.append((when, cents, method, f"OP-{rng.randint(100000, 999999)}"))
        paid_so_far += cents


def build(seed: int = SEED) -> Company:
    """The whole demo company, the same every time."""
    rng = random.Random(seed)
    parties = _parties(rng)
    clients = [p for p in parties if p.kind == "cxc"]
    suppliers = [p for p in parties if p.kind == "cxp"]

    sales: list[Invoice] = []
    day = FIRST_DAY
    numero = 1
    while day <= DEMO_TODAY:
        if day.weekday() < 5:
            for _ in range(rng.choice([0, 1, 1, 1, 2])):
                client = rng.choice(clients)
                usd = client.doc.startswith("20") and rng.random() < 0.12
                total = rng.randint(15_000, 2_500_000) if not usd else rng.randint(50_000, 900_000)
                description = rng.choice(SALES_DESCRIPTIONS)
                pct = 12 if description.startswith("Servicio") and not usd and total > 70_000 and rng.random() < 0.5 else 0
                inv = Invoice("cxc", client, "F001", numero, day, day + timedelta(days=client.terms), "USD" if usd else "PEN",
                              _rate(rng) if usd else "", total, description, pct)
                _settle(inv, rng, client.habit)
                sales.append(inv)
                numero += 1
        day += timedelta(days=1)

    purchases: list[Invoice] = []
    numbers = {s.doc: rng.randint(100, 5000) for s in suppliers}
    series = {s.doc: f"F{rng.randint(1, 99):03d}" for s in suppliers}
    month = date(FIRST_DAY.year, FIRST_DAY.month, 1)
    while month <= DEMO_TODAY:
        for supplier in suppliers:
            if rng.random() < 0.75:
                issued = month + timedelta(days=rng.randint(0, 27))
                if not FIRST_DAY <= issued <= DEMO_TODAY:
                    continue
                numbers[supplier.doc] += rng.randint(1, 40)
                usd = rng.random() < 0.08
                inv = Invoice("cxp", supplier, series[supplier.doc], numbers[supplier.doc], issued,
                              issued + timedelta(days=supplier.terms), "USD" if usd else "PEN",
                              _rate(rng) if usd else "", rng.randint(8_000, 900_000),
                              rng.choice(PURCHASE_DESCRIPTIONS))
                _settle(inv, rng, supplier.habit if rng.random() < 0.9 else "late")
                purchases.append(inv)
        month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)

    # Invoices from an older system, in its own layout (read with the mapping file).
    legacy: list[Invoice] = []
    for i, supplier in enumerate(suppliers[:8]):
        issued = date(2026, 4, 13 + i)
        legacy.append(Invoice("cxp", supplier, "0001", 7000 + i, issued, issued + timedelta(days=30), "PEN", "",
                              rng.randint(20_000, 400_000), "Saldo migrado del sistema anterior"))

    # The May PLE register repeats May's sales (re-importing them adds nothing) and adds a
    # credit note on an open invoice and one voided (anulado) invoice.
    may = [s for s in sales if (s.issued.year, s.issued.month) == (2026, 5)]
    target = next(s for s in may if not s.payments and s.currency == "PEN" and s.total_cents > 200_000
                  and not s.detraccion_pct and s.issued.day < 25)
    note = Invoice("cxc", target.party, "FC01", 1, date(2026, 5, 29), date(2026, 5, 29), "PEN", "",
                   target.total_cents // 10 // 100 * 100, f"Descuento sobre F001-{target.numero}")
    note.payments = []
    note.description = f"F001-{target.numero}"  # the modified document
    annulled = Invoice("cxc", may[-1].party, "F001", numero, date(2026, 5, 30), date(2026, 5, 30), "PEN", "", 0,
                       "anulado")
    return Company(parties, sales, purchases, legacy, note, annulled)


# --- writing the files ---------------------------------------------------------------------------


def _csv_text(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def parties_csv(company: Company) -> str:
    return _csv_text(
        ["tipo", "ruc", "razon_social", "email", "telefono", "direccion"],
        [[p.kind, p.doc, p.name, p.email, p.phone, p.address] for p in company.parties],
    )


def sales_csv(company: Company) -> str:
    return _csv_text(
        ["tipo", "ruc", "razon_social", "tipo_comprobante", "serie", "numero", "fecha_emision", "fecha_vencimiento",
         "moneda", "tipo_cambio", "total", "detraccion_pct", "descripcion"],
        [["cxc", i.party.doc, i.party.name, "01", i.serie, str(i.numero), i.issued.isoformat(), i.due.isoformat(),
          i.currency, i.rate, _money(i.total_cents), str(i.detraccion_pct or ""), i.description] for i in company.sales],
    )


def payments_csv(company: Company) -> str:
    rows = []
    for inv in [*company.sales, *company.purchases]:
        for when, cents, method, reference in inv.payments:
            rows.append((when, inv.kind, inv.party.doc, inv.serie, inv.numero, cents, method, reference))
    rows.sort(key=lambda r: (r[0], r[1], r[2], r[3], r[4]))
    return _csv_text(
        ["fecha_pago", "tipo", "ruc", "serie", "numero", "monto", "medio", "referencia"],
        [[r[0].isoformat(), r[1], r[2], r[3], str(r[4]), _money(r[5]), r[6], r[7]] for r in rows],
    )


def legacy_csv(company: Company) -> str:
    def dmy(d: date) -> str:
        return d.strftime("%d/%m/%Y")

    return _csv_text(
        ["Cod Prov", "Nombre Proveedor", "Doc", "F. Doc", "F. Pago", "Mon", "Bruto"],
        [[i.party.doc, i.party.name, f"{i.serie}-{i.numero}", dmy(i.issued), dmy(i.due), "SOLES",
          _money(i.total_cents)] for i in company.legacy],
        delimiter=";",
    )


MAPPING_TOML = """\
# Column mapping for `cartera-sistema-anterior.csv`, the export of an older accounting system
# whose headers cuentas does not recognise by itself:
#
#   cuentas import examples/cartera-sistema-anterior.csv --mapping examples/mapping-sistema-anterior.toml
#
# [columns]: cuentas field = "header in the file" (or its 1-based column number).
# Fields: kind, party_doc, party_doc_type, party_name, doc_type, serie, numero, document,
# issue_date, due_date, currency, rate, base, igv, total, description, detraccion.
[columns]
party_doc = "Cod Prov"
party_name = "Nombre Proveedor"
document = "Doc"          # serie and número in one column: 0001-7000
issue_date = "F. Doc"
due_date = "F. Pago"
currency = "Mon"
total = "Bruto"

# [options]: what the file itself does not say.
[options]
kind = "cxp"              # every row is a supplier's invoice (cuentas por pagar)
date_format = "DD/MM/YYYY"
delimiter = ";"
"""


def _ple_line(fields: dict[int, str], width: int = 35) -> str:
    values = [""] * width
    for position, value in fields.items():
        values[position - 1] = value
    return "|".join(values) + "|"


def ple_text(company: Company) -> str:
    """Registro de Ventas 14.1 of May 2026 (fields as peru-reference.md numbers them)."""
    lines = []
    may = [s for s in company.sales if (s.issued.year, s.issued.month) == (2026, 5)]
    cuo = 0
    for inv in may:
        cuo += 1
        lines.append(_ple_line({
            1: f"{PLE_PERIOD}00", 2: f"V{cuo:05d}", 3: f"M{cuo}", 4: inv.issued.strftime("%d/%m/%Y"),
            5: inv.due.strftime("%d/%m/%Y"), 6: "01", 7: inv.serie, 8: str(inv.numero), 10: "6", 11: inv.party.doc,
            12: inv.party.name, 14: _money(inv.base_cents), 16: _money(inv.igv_cents), 25: _money(inv.total_cents),
            26: inv.currency, 27: inv.rate or "1.000", 35: "1",
        }))
    note = company.ple_note
    target_serie, target_numero = note.description.split("-")
    target = next(s for s in may if s.numero == int(target_numero))
    cuo += 1
    lines.append(_ple_line({
        1: f"{PLE_PERIOD}00", 2: f"V{cuo:05d}", 3: f"M{cuo}", 4: note.issued.strftime("%d/%m/%Y"),
        5: note.due.strftime("%d/%m/%Y"), 6: "07", 7: note.serie, 8: str(note.numero), 10: "6", 11: note.party.doc,
        12: note.party.name, 14: "-" + _money(note.base_cents), 16: "-" + _money(note.igv_cents),
        25: "-" + _money(note.total_cents), 26: "PEN", 27: "1.000", 28: target.issued.strftime("%d/%m/%Y"),
        29: "01", 30: target_serie, 31: target_numero, 35: "1",
    }))
    voided = company.ple_annulled
    cuo += 1
    lines.append(_ple_line({
        1: f"{PLE_PERIOD}00", 2: f"V{cuo:05d}", 3: f"M{cuo}", 4: voided.issued.strftime("%d/%m/%Y"), 6: "01",
        7: voided.serie, 8: str(voided.numero), 10: "6", 11: voided.party.doc, 12: voided.party.name,
        14: "0.00", 16: "0.00", 25: "0.00", 26: "PEN", 27: "1.000", 35: "2",
    }))
    return "\r\n".join(lines) + "\r\n"


PURCHASES_HEADER = ["Tipo", "RUC proveedor", "Proveedor", "Tipo comprobante", "Serie", "Número", "Fecha de emisión",
                    "Fecha de vencimiento", "Moneda", "Tipo de cambio", "Base imponible", "IGV", "Total", "Descripción"]


def purchases_rows(company: Company) -> list[list]:
    """The rows of compras.xlsx as typed cells (dates, numbers)."""
    return [["cxp", i.party.doc, i.party.name, "01", i.serie, i.numero, i.issued, i.due, i.currency,
             float(i.rate) if i.rate else None, i.base_cents / 100, i.igv_cents / 100, i.total_cents / 100,
             i.description] for i in company.purchases]


def write_purchases_xlsx(company: Company, path: Path) -> None:
    """An Excel workbook as people keep them: a title row above the header, real date cells."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    # Fixed document properties so the same data gives the same file.
    workbook.set_properties({"title": "Registro de compras", "author": "cuentas demo",
                             "created": datetime(2026, 6, 15, 12, 0, 0)})
    sheet = workbook.add_worksheet("Compras")
    bold = workbook.add_format({"bold": True})
    day = workbook.add_format({"num_format": "dd/mm/yyyy"})
    amount = workbook.add_format({"num_format": "#,##0.00"})
    sheet.write(0, 0, f"Registro de compras — {COMPANY_NAME} — {FIRST_DAY:%d/%m/%Y} al {DEMO_TODAY:%d/%m/%Y}", bold)
    sheet.write_row(2, 0, PURCHASES_HEADER, bold)
    for r, row in enumerate(purchases_rows(company), start=3):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, date):
                sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
            elif isinstance(value, float) and c >= 10:
                sheet.write_number(r, c, value, amount)
            else:
                sheet.write(r, c, value)
    sheet.freeze_panes(3, 0)
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 1, 13)
    sheet.set_column(2, 2, 42)
    sheet.set_column(3, 13, 14)
    workbook.close()


def statement_csv(company: Company) -> str:
    """The company's BCP statement from 16/05 to 15/06 in the bank's download layout: deposits
    naming a serie-número, a client's name or RUC, or only an amount; one partial payment; two
    payments to suppliers; fees and a transfer between the company's accounts. Every movement is
    of an invoice still open after pagos.csv, so `bank match` has work to do."""
    rng = random.Random(SEED + 20)
    start = DEMO_TODAY - timedelta(days=30)

    def open_of(invoices: list[Invoice]) -> list[tuple[Invoice, int]]:
        out = []
        for inv in invoices:
            left = inv.total_cents - sum(p[1] for p in inv.payments)
            if inv.currency == "PEN" and not inv.detraccion_pct and left > 0 and inv.issued < DEMO_TODAY:
                out.append((inv, left))
        return out

    sales, purchases = open_of(company.sales), open_of(company.purchases)
    rng.shuffle(sales)
    rng.shuffle(purchases)
    moves: list[tuple[date, int, str]] = []

    def day(inv: Invoice | None) -> date:
        low = max(start, inv.issued + timedelta(days=1)) if inv else start
        return low + timedelta(days=rng.randint(0, max(0, (DEMO_TODAY - low).days)))

    for k, (inv, left) in enumerate(sales[:20]):
        who = " ".join(_slug_words(inv.party.name))
        if k < 9:
            text = rng.choice([f"ABONO {inv.serie}-{inv.numero}", f"TRANSF {who[:16].strip()} {inv.serie}-{inv.numero:08d}",
                               f"DEP {inv.serie} {inv.numero}"])
        elif k < 13 and inv.party.doc.startswith("20"):
            text = f"TRANSF DE {who[:24].strip()}"
        elif k < 16:
            text = f"TRANSF INTERBANC {inv.party.doc}"
        elif k < 18:
            text = "DEPOSITO EN EFECTIVO"
        elif k == 18:
            left = left // 2  # a partial payment naming the invoice: proposed, left for a person
            text = f"ABONO {inv.serie}-{inv.numero}"
        else:
            continue
        moves.append((day(inv), left, text))
    for inv, left in purchases[:2]:
        moves.append((day(inv), -left, f"PAGO PROV {inv.serie}-{inv.numero}"))
    moves += [(start + timedelta(days=14), -1500, "COMISION MANTENIMIENTO"), (start + timedelta(days=20), -235, "ITF"),
              (start + timedelta(days=3), 500_000, "TRASPASO ENTRE CUENTAS PROPIAS")]
    balance, rows = 4_825_000, []
    for n, (when, cents, text) in enumerate(sorted(moves, key=lambda m: (m[0], m[2]))):
        balance += cents
        rows.append([f"{when:%d/%m/%Y}", f"{when:%d/%m/%Y}", text, ("-" if cents < 0 else "") + _money(abs(cents)),
                     _money(balance), f"{1_040_100 + n * 37}"])
    return _csv_text(["Fecha", "Fecha valuta", "Descripción operación", "Monto", "Saldo", "Operación - Número"], rows,
                     delimiter=";")


def write_all(folder: Path, company: Company | None = None) -> list[Path]:
    """Write every demo file into `folder`; returns their paths."""
    company = company or build()
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        PARTIES_FILE: parties_csv(company),
        SALES_FILE: sales_csv(company),
        PAYMENTS_FILE: payments_csv(company),
        LEGACY_FILE: legacy_csv(company),
        MAPPING_FILE: MAPPING_TOML,
        STATEMENT_FILE: statement_csv(company),
    }
    written = []
    for name, text in texts.items():
        path = folder / name
        path.write_text(text, encoding="utf-8", newline="")
        written.append(path)
    ple = folder / PLE_FILE
    ple.write_bytes(ple_text(company).encode("latin-1"))  # SUNAT's PLE program writes ISO-8859-1
    written.append(ple)
    xlsx = folder / PURCHASES_FILE
    write_purchases_xlsx(company, xlsx)
    written.append(xlsx)
    return written


DEMO_FILES = (PARTIES_FILE, SALES_FILE, PURCHASES_FILE, PAYMENTS_FILE, LEGACY_FILE, MAPPING_FILE, PLE_FILE,
              STATEMENT_FILE)
