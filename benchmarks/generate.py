"""Deterministic, realistic data at any size: parties with valid RUCs, CxC and CxP invoices in
PEN and USD across two years, payments (some partial), some overdue.

The same seed and size always give the same rows, so a scenario and its baseline see the
same data. Rows are plain tuples in the column order of COLUMNS, ready for executemany,
COPY or a CSV writer.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from cuentas_cli.rules.identity import ruc_check_digit

START = date(2024, 11, 1)
TODAY = date(2026, 11, 1)
SPAN_DAYS = (TODAY - START).days
NAMES = ("COMERCIAL", "INVERSIONES", "DISTRIBUIDORA", "CONSTRUCTORA", "SERVICIOS", "AGROINDUSTRIAS", "TRANSPORTES",
         "IMPORTADORA", "MINERA", "TEXTIL")
SUFFIX = ("S.A.C.", "S.A.", "E.I.R.L.", "S.R.L.")
TERMS = (0, 15, 30, 30, 45, 60, 90)

PARTY_COLUMNS = ("id", "kind", "doc_type", "doc_number", "name", "email", "source", "is_retention_agent",
                 "is_good_taxpayer", "created_at", "updated_at")
INVOICE_COLUMNS = ("id", "direction", "party_id", "doc_type", "serie", "numero", "issue_date", "due_date", "currency",
                   "exchange_rate_e4", "base_cents", "igv_cents", "total_cents", "detraccion_bp", "detraccion_cents",
                   "paid_cents", "status", "retencion_cents", "adjust_cents", "created_at", "updated_at")
PAYMENT_COLUMNS = ("invoice_id", "paid_on", "amount_cents", "method", "created_at")
# One fixed timestamp for the bookkeeping columns keeps the data deterministic.
STAMP = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def ruc_for(i: int, prefix: str = "20") -> str:
    body = f"{prefix}{(i * 7919) % 100_000_000:08d}"
    return body + str(ruc_check_digit(body))


@dataclass
class Dataset:
    n_invoices: int
    seed: int = 42
    today: date = TODAY

    @property
    def n_parties(self) -> int:
        return max(40, self.n_invoices // 250)

    def parties(self) -> Iterator[tuple]:
        rng = random.Random(self.seed)
        for pid in range(1, self.n_parties + 1):
            kind = "client" if pid % 3 else "supplier"
            name = f"{rng.choice(NAMES)} {NAMES[pid % len(NAMES)][:4]}{pid} {rng.choice(SUFFIX)}"
            yield (pid, kind, "6", ruc_for(pid), name, f"pagos{pid}@empresa{pid}.pe", "manual", False, False, STAMP, STAMP)

    def invoices_and_payments(self) -> Iterator[tuple[tuple, list[tuple]]]:
        """(invoice row, its payment rows), in id order."""
        rng = random.Random(self.seed + 1)
        parties = self.n_parties
        for iid in range(1, self.n_invoices + 1):
            pid = rng.randint(1, parties)
            direction = "receivable" if pid % 3 else "payable"
            issued = START + timedelta(days=rng.randrange(SPAN_DAYS))
            due = issued + timedelta(days=rng.choice(TERMS))
            usd = rng.random() < 0.15
            currency = "USD" if usd else "PEN"
            rate = rng.randint(36000, 39500) if usd else 10000
            base = rng.randint(5_000, 5_000_000)  # S/ 50.00 to S/ 50,000.00
            igv = (base * 18 + 50) // 100
            total = base + igv
            detraccion_bp = 1200 if direction == "receivable" and total > 70_000 and rng.random() < 0.1 else None
            detraccion = (total * 1200 + 5000) // 10000 if detraccion_bp else 0
            payments: list[tuple] = []
            roll = rng.random()
            age = (self.today - due).days
            if issued <= self.today:
                if roll < 0.55 and age > -15:
                    payments.append((iid, min(self.today, due + timedelta(days=rng.randint(-10, 40))), total, "transferencia", STAMP))
                elif roll < 0.70:
                    part = total * rng.randint(20, 80) // 100
                    payments.append((iid, min(self.today, issued + timedelta(days=rng.randint(0, 20))), part, "transferencia", STAMP))
            payments = [p for p in payments if p[1] >= issued]
            paid = sum(p[2] for p in payments)
            if paid >= total:
                status = "PAGADA"
            elif due < self.today:
                status = "VENCIDA"
            elif paid:
                status = "PARCIAL"
            else:
                status = "PENDIENTE"
            serie = f"F{(pid % 9) + 1:03d}"  # suppliers issue facturas on F series too
            row = (iid, direction, pid, "01", serie, iid, issued, due, currency, rate, base, igv, total, detraccion_bp,
                   detraccion, paid, status, 0, 0, STAMP, STAMP)
            yield row, payments


def load(url: str, dataset: Dataset, *, chunk: int = 50_000) -> None:
    """Write the dataset into an empty database at head (executemany on SQLite, COPY on PostgreSQL)."""
    from sqlalchemy import text

    from cuentas_cli.db.engine import get_engine

    engine = get_engine(url, create=True)
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        cur = raw.cursor()

        def put(table: str, columns: tuple, rows: list[tuple]) -> None:
            if not rows:
                return
            if sqlite:
                # The text form SQLAlchemy itself stores for a DateTime on SQLite.
                rows = [tuple(v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v for v in r)
                        for r in rows]
                marks = ",".join("?" * len(columns))
                cur.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", rows)
            else:
                with cur.copy(f"COPY {table} ({','.join(columns)}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row(r)

        put("party", PARTY_COLUMNS, list(dataset.parties()))
        invoices: list[tuple] = []
        payments: list[tuple] = []
        for inv, pays in dataset.invoices_and_payments():
            invoices.append(inv)
            payments.extend(pays)
            if len(invoices) >= chunk:
                put("invoice", INVOICE_COLUMNS, invoices)
                put("payment", PAYMENT_COLUMNS, payments)
                invoices, payments = [], []
        put("invoice", INVOICE_COLUMNS, invoices)
        put("payment", PAYMENT_COLUMNS, payments)
        if not sqlite:
            for table in ("party", "invoice", "payment"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"))
    with engine.connect() as conn:
        if sqlite:
            conn.execute(text("ANALYZE"))
            conn.commit()
        else:
            # VACUUM too: index-only scans need the visibility map a fresh COPY leaves empty.
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


def write_csv(path: Path, dataset: Dataset) -> Path:
    """The dataset as an import file, with the Spanish headers an accountant's system writes."""
    parties = {p[0]: p for p in dataset.parties()}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tipo", "ruc", "razon_social", "tipo_comprobante", "serie", "numero", "fecha_emision",
                         "fecha_vencimiento", "moneda", "tipo_cambio", "base_imponible", "igv", "total"])
        for inv, _ in dataset.invoices_and_payments():
            party = parties[inv[2]]
            writer.writerow([
                "cxc" if inv[1] == "receivable" else "cxp", party[3], party[4], inv[3], inv[4], inv[5],
                inv[6].isoformat(), inv[7].isoformat(), inv[8], f"{inv[9] / 10000:.4f}",
                f"{inv[10] / 100:.2f}", f"{inv[11] / 100:.2f}", f"{inv[12] / 100:.2f}",
            ])
    return path
