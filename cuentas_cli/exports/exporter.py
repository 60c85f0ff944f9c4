"""Export invoices, filtered as `invoices list` filters them, to XLSX (typed cells, a Summary
sheet with aging and cash-flow tables and native Excel charts), CSV (UTF-8 with BOM), JSON and
PDF (a printable report).

Rows are streamed from one query and written as they come: XLSX through xlsxwriter's
constant_memory mode, CSV and JSON line by line. Each row's balance is the ledger's rule
(`balances.balance_cents`: 0 for notes and ANULADA). The Summary sheet and the PDF's figures
come from the same report functions as `cuentas dashboard` (`reports.ledger`, `fold_aging`,
`fold_cashflow`, as of today, 8 weeks), restricted to the export's filters, so with the same
filters they equal `cuentas dashboard --format json` figure for figure. Text cells that a spreadsheet would run as a formula (starting with
= + - @, tab or CR) are neutralised with a leading apostrophe in CSV and XLSX; the importer
removes that apostrophe again, so an export imports back to the same invoices.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from cuentas_cli import outputs
from cuentas_cli.errors import UsageError
from cuentas_cli.outputs import DEFAULT_MODE, Target
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.ledger.invoices import InvoiceFilter
from cuentas_cli.ledger.balances import balance_cents
from cuentas_cli.ledger.statuses import status_for
# One rule for every CSV/XLSX text cell the program writes, listings included.
from cuentas_cli.textsafe import FORMULA_STARTS, neutralise  # noqa: F401

if TYPE_CHECKING:
    from sqlmodel import Session

    from cuentas_cli.reports.aging import AgingReport
    from cuentas_cli.reports.cashflow import Cashflow

FORMATS = ("xlsx", "csv", "json", "pdf")
# Column name -> kind of value. The names are the keys of an invoice in JSON and headers the
# importer recognises, so an export can be imported back.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "int"), ("kind", "text"), ("party_doc_type", "text"), ("party_doc", "text"), ("party_name", "text"),
    ("doc_type", "text"), ("serie", "text"), ("numero", "int"), ("issue_date", "date"), ("due_date", "date"),
    ("currency", "text"), ("exchange_rate", "rate"), ("base", "money"), ("igv", "money"), ("total", "money"),
    ("detraccion_pct", "pct"), ("detraccion_amount", "money"), ("paid", "money"), ("balance", "money"),
    ("status", "text"), ("description", "text"), ("ref_doc_type", "text"), ("ref_serie", "text"), ("ref_numero", "int"),
)
WIDTHS = {"id": 8, "kind": 6, "party_doc_type": 6, "party_doc": 13, "party_name": 36, "doc_type": 6, "serie": 7,
          "numero": 10, "issue_date": 11, "due_date": 11, "currency": 6, "exchange_rate": 9, "base": 14, "igv": 13,
          "total": 14, "detraccion_pct": 8, "detraccion_amount": 13, "paid": 14, "balance": 14, "status": 11,
          "description": 30, "ref_doc_type": 6, "ref_serie": 7, "ref_numero": 10}
_EXCEL_EPOCH = date(1899, 12, 30)
CASHFLOW_HEADERS = ("Periodo", "Cobros (CxC)", "Detracción (CxC)", "Pagos (CxP)", "Neto", "Acumulado")
ROW_HEIGHT_PX = 20  # an Excel row at the default 15 points
CHART_WIDTH_PX, CHART_HEIGHT_PX = 624, 288
CHART_ROWS = -(-CHART_HEIGHT_PX // ROW_HEIGHT_PX)  # rows a Summary chart covers from its anchor row


SUMMARY_WEEKS = 8  # the cash-flow periods of the Summary sheet (dashboard's default)


@dataclass
class Summary:
    """The export's report figures: `reports.fold_aging` and `reports.fold_cashflow` objects."""

    as_of: date
    aging: "AgingReport"  # one row per kind (cxc, cxp) in the filters
    cashflow: "Cashflow"
    company: str = ""
    filters: str = ""

    @property
    def currency(self) -> str:
        return self.aging.currency

    @property
    def symbol(self) -> str:
        return "US$" if self.aging.currency == "USD" else "S/"

    @property
    def buckets(self) -> list[str]:
        return ["Por vencer" if key == "corriente" else label for key, label in self.aging.columns]

    def aging_amounts(self, kind: str) -> list[Decimal]:
        """The kind's (cxc / cxp) amount per bucket; zeros when the filters leave it out."""
        row = next((r for r in self.aging.rows if r.kind == kind), None)
        return [row.amounts[key] if row else Decimal(0) for key, _ in self.aging.columns]

    def aging_total(self, kind: str) -> Decimal:
        row = next((r for r in self.aging.rows if r.kind == kind), None)
        return row.total if row else Decimal(0)

    @property
    def periods(self) -> list[str]:
        out = []
        for r in self.cashflow.rows:
            if r.start is None:
                out.append("Vencido")
            elif r.end is None:
                out.append(f"Desde {r.start:%d/%m/%Y}")
            else:
                out.append(f"{r.start:%d/%m/%Y}-{r.end:%d/%m/%Y}")
        return out


@dataclass
class ExportResult:
    path: str | None
    format: str
    rows: int
    summary: Summary | None = field(default=None, repr=False)


def money_text(cents: int | None) -> str:
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


# --- the query -------------------------------------------------------------------------------
# The rows and the summary read the invoices `invoices.invoice_conditions` selects: the same
# filters, checks and messages as `invoices list`.

STREAM_CHUNK = 5000


def _rows(session: "Session", conditions: list[Any]) -> Iterator[tuple]:
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from cuentas_cli.db.models import Invoice, Party

    ref = aliased(Invoice)
    query = (
        select(
            Invoice.id, Invoice.direction, Party.doc_type, Party.doc_number, Party.name, Invoice.doc_type,
            Invoice.serie, Invoice.numero, Invoice.issue_date, Invoice.due_date, Invoice.currency,
            Invoice.exchange_rate_e4, Invoice.base_cents, Invoice.igv_cents, Invoice.total_cents,
            Invoice.detraccion_bp, Invoice.detraccion_cents, Invoice.paid_cents, Invoice.adjust_cents,
            Invoice.status, Invoice.description, ref.doc_type, ref.serie, ref.numero,
        )
        .join(Party, Party.id == Invoice.party_id)
        .outerjoin(ref, ref.id == Invoice.references_id)
        .where(*conditions)
        .order_by(Invoice.due_date, Invoice.id)
    )
    # Core execution on the session's connection, streamed (a server-side cursor on PostgreSQL).
    connection = session.connection().execution_options(stream_results=True, yield_per=STREAM_CHUNK)
    for chunk in connection.execute(query).partitions(STREAM_CHUNK):
        yield from chunk


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def summary(session: "Session", *, filters: InvoiceFilter, conditions: list[Any], today: date, buckets: list[int],
            weeks: int = SUMMARY_WEEKS, company: str = "", filters_text: str = "") -> Summary:
    """Aging and cash flow as of today of the open balances of the filtered invoices, computed by
    the dashboard's own functions: the kind and currency filters are theirs (a currency filter
    reports in that currency, otherwise S/ with USD at each invoice's rate) and every other
    filter restricts the same ledger query (`reports.scope_sql`)."""
    from cuentas_cli.reports.aging import check_buckets, fold_aging
    from cuentas_cli.reports.cashflow import cashflow_periods, fold_cashflow
    from cuentas_cli.reports.common import scope_sql
    from cuentas_cli.reports.open_balances import ledger
    from cuentas_cli.ledger.invoices import normalise_currency, normalise_direction

    directions = (normalise_direction(filters.kind),) if filters.kind else ("receivable", "payable")
    currency = normalise_currency(filters.currency) if filters.currency else None
    checked = check_buckets(buckets)
    rows = ledger(session, as_of=today, directions=directions, currency=currency,
                 scope=scope_sql(session, conditions))
    aging = fold_aging(rows, as_of=today, directions=directions, currency=currency, buckets=checked)
    flow = fold_cashflow(rows, as_of=today, periods=cashflow_periods(today, weeks=weeks, months=None),
                         opening_balance=Decimal(0), currency=currency)
    return Summary(today, aging, flow, company=company, filters=filters_text)


# --- entry point -------------------------------------------------------------------------------


def export(*, session: "Session", actor: Actor | None, filters: InvoiceFilter, today: date, fmt: str,
           output: "Path | Target | None", stream: IO[str] | None = None, company: str = "",
           buckets: list[int] | None = None, mode: int = DEFAULT_MODE) -> ExportResult:
    """Write the filtered invoices as `fmt` to `output` or, for csv/json, to `stream`.

    `output` follows the rules of cuentas_cli.outputs (never the database, a symlink or a
    folder; an existing file is replaced atomically, with `mode`)."""
    from cuentas_cli.ledger.invoices import invoice_conditions

    require(actor, "export")
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    conditions = invoice_conditions(session, today=today, filters=filters)
    buckets = buckets or [30, 60, 90, 120]
    if output is None:
        if fmt not in ("csv", "json") or stream is None:
            raise UsageError("give --output FILE (.xlsx, .csv, .pdf, .json) or --format csv|json for standard output")
        rows = _rows(session, conditions)
        count = _write_csv(stream, rows, today) if fmt == "csv" else _write_json(stream, rows, today)
        return ExportResult(None, fmt, count)
    target = outputs.ensure(output, option="--output", session=session)
    info = None
    if fmt in ("xlsx", "pdf"):
        info = summary(session, filters=filters, conditions=conditions, today=today, buckets=buckets,
                       company=company, filters_text=filters.describe())
    with outputs.replacing(target, mode=mode) as tmp:
        rows = _rows(session, conditions)
        if fmt == "xlsx":
            count = _write_xlsx(tmp, rows, info, today)
        elif fmt == "pdf":
            count = _write_pdf(tmp, rows, info, today)
        else:
            with tmp.open("w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") as handle:
                count = _write_csv(handle, rows, today) if fmt == "csv" else _write_json(handle, rows, today)
    return ExportResult(str(target.path), fmt, count, info)


# --- writers ---------------------------------------------------------------------------------


def _plain_values(row: tuple, today: date) -> list[Any]:
    """One query row as the export's columns, with céntimos still as integers and the status
    as of `today` (the rule of `statuses.status_for`, as `invoices list` shows it)."""
    (iid, direction, pdt, pdoc, pname, dtype, serie, numero, issued, due, currency, rate, base, igv, total, det_bp,
     det_cents, paid, adjust, stored, description, rtype, rserie, rnum) = row
    balance = balance_cents(doc_type=dtype, status=stored, total_cents=total, adjust_cents=adjust, paid_cents=paid)
    status = status_for(total_cents=total, adjust_cents=adjust, paid_cents=paid, due_date=_as_date(due), today=today,
                        current=stored)
    return [iid, "cxc" if direction == "receivable" else "cxp", pdt, pdoc, pname, dtype, serie, numero, issued, due,
            currency, rate, base, igv, total, det_bp, det_cents, paid, balance, status, description, rtype, rserie, rnum]


def _write_csv(handle: IO[str], rows: Iterator[tuple], today: date) -> int:
    writer = csv.writer(handle, lineterminator="\r\n")
    writer.writerow([name for name, _ in COLUMNS])
    count = 0
    for row in rows:
        values = _plain_values(row, today)
        out = []
        for (name, kind), value in zip(COLUMNS, values):
            if value is None:
                out.append("")
            elif kind == "money":
                out.append(money_text(value))
            elif kind == "rate":
                out.append(f"{value // 10000}.{value % 10000:04d}")
            elif kind == "pct":
                out.append(f"{value // 100}.{value % 100:02d}")
            elif kind == "date":
                out.append(str(value)[:10])
            elif kind == "text":
                out.append(neutralise(str(value)))
            else:
                out.append(value)
        writer.writerow(out)
        count += 1
    return count


def _write_json(handle: IO[str], rows: Iterator[tuple], today: date) -> int:
    handle.write("[")
    count = 0
    for row in rows:
        values = _plain_values(row, today)
        item: dict[str, Any] = {}
        for (name, kind), value in zip(COLUMNS, values):
            if value is None:
                item[name] = None
            elif kind == "money":
                item[name] = money_text(value)
            elif kind == "rate":
                item[name] = f"{value // 10000}.{value % 10000:04d}"
            elif kind == "pct":
                item[name] = f"{value // 100}.{value % 100:02d}"
            elif kind == "date":
                item[name] = str(value)[:10]
            else:
                item[name] = value
        handle.write(("\n  " if count == 0 else ",\n  ") + json.dumps(item, ensure_ascii=False))
        count += 1
    handle.write("\n]\n" if count else "]\n")
    return count


def _write_xlsx(path: Path, rows: Iterator[tuple], info: Summary, today: date) -> int:
    import xlsxwriter

    # constant_memory: each row is flushed to disk once the next begins, so a million rows
    # do not sit in memory; rows must therefore be written in order, which a stream is.
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                               "strings_to_numbers": False, "strings_to_urls": False})
    bold = workbook.add_format({"bold": True})
    header_fmt = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    money_fmt = {"PEN": workbook.add_format({"num_format": '"S/" #,##0.00'}),
                 "USD": workbook.add_format({"num_format": '"US$" #,##0.00'})}
    pen_fmt = money_fmt["PEN"]
    date_fmt = workbook.add_format({"num_format": "dd/mm/yyyy"})
    rate_fmt = workbook.add_format({"num_format": "0.0000"})
    pct_fmt = workbook.add_format({"num_format": "0.00"})

    summary_ws = workbook.add_worksheet("Summary")
    sheet = workbook.add_worksheet("Invoices")
    names = [name for name, _ in COLUMNS]
    for index, name in enumerate(names):
        sheet.set_column(index, index, WIDTHS.get(name, 12))
    sheet.write_row(0, 0, names, header_fmt)
    sheet.freeze_panes(1, 0)
    serials: dict[Any, int] = {}
    write_number, write_string = sheet.write_number, sheet.write_string
    kinds = [kind for _, kind in COLUMNS]
    r = 0
    for row in rows:
        r += 1
        values = _plain_values(row, today)
        money = money_fmt.get(values[10], pen_fmt)
        for c, (kind, value) in enumerate(zip(kinds, values)):
            if value is None:
                continue
            if kind == "money":
                write_number(r, c, value / 100, money)
            elif kind == "text":
                write_string(r, c, neutralise(str(value)))
            elif kind == "int":
                write_number(r, c, value)
            elif kind == "date":
                serial = serials.get(value)
                if serial is None:
                    serial = serials[value] = (_as_date(value) - _EXCEL_EPOCH).days
                write_number(r, c, serial, date_fmt)
            elif kind == "rate":
                write_number(r, c, value / 10000, rate_fmt)
            else:
                write_number(r, c, value / 100, pct_fmt)
    sheet.autofilter(0, 0, max(r, 1), len(names) - 1)

    # Summary: company, filters, the aging and cash-flow tables of `cuentas dashboard`, and a bar
    # chart of each beside its table. A chart covers CHART_ROWS rows from its anchor, so the cash-flow
    # section starts below both the aging table and the aging chart: the charts never overlap.
    ws = summary_ws
    ws.set_column(0, 0, 24)
    ws.set_column(1, 5, 16)
    amount_fmt = money_fmt.get(info.currency, pen_fmt)
    symbol = info.symbol
    ws.write_string(0, 0, neutralise(info.company or "cuentas"), workbook.add_format({"bold": True, "font_size": 14}))
    ws.write_string(1, 0, neutralise(f"Al {info.as_of:%d/%m/%Y} · {info.filters} · {r} comprobantes"))
    basis = "en US$" if info.currency == "USD" else (
        "en S/" if not info.aging.converted else "en S/ (USD al tipo de cambio de cada comprobante)")
    ws.write_string(2, 0, f"Cifras de `cuentas dashboard` al {info.as_of:%d/%m/%Y}, {basis}")
    aging_title = 4
    ws.write_string(aging_title, 0, f"Antigüedad de saldos ({symbol})", bold)
    ws.write_row(aging_title + 1, 0, ["Tramo (días vencido)", "Por cobrar (CxC)", "Por pagar (CxP)"], header_fmt)
    top = aging_title + 2
    cxc, cxp = info.aging_amounts("cxc"), info.aging_amounts("cxp")
    for index, label in enumerate(info.buckets):
        ws.write_string(top + index, 0, label)
        ws.write_number(top + index, 1, float(cxc[index]), amount_fmt)
        ws.write_number(top + index, 2, float(cxp[index]), amount_fmt)
    total_row = top + len(info.buckets)
    ws.write_string(total_row, 0, "Total", bold)
    ws.write_number(total_row, 1, float(info.aging_total("cxc")), amount_fmt)
    ws.write_number(total_row, 2, float(info.aging_total("cxp")), amount_fmt)
    cf_title = max(total_row + 2, aging_title + CHART_ROWS + 1)
    ws.write_string(cf_title, 0, f"Flujo de caja esperado por semana ({symbol})", bold)
    ws.write_row(cf_title + 1, 0, list(CASHFLOW_HEADERS), header_fmt)
    cf_top = cf_title + 2
    for index, (label, flow) in enumerate(zip(info.periods, info.cashflow.rows)):
        ws.write_string(cf_top + index, 0, label)
        for col, value in enumerate((flow.inflows, flow.detraccion, flow.outflows, flow.net, flow.cumulative), start=1):
            ws.write_number(cf_top + index, col, float(value), amount_fmt)
    cf_end = cf_top + len(info.cashflow.rows) - 1

    chart_col = len(CASHFLOW_HEADERS) + 1
    aging_chart = workbook.add_chart({"type": "column"})
    for col, name in ((1, "Por cobrar (CxC)"), (2, "Por pagar (CxP)")):
        aging_chart.add_series({"name": name, "categories": ["Summary", top, 0, total_row - 1, 0],
                                "values": ["Summary", top, col, total_row - 1, col]})
    aging_chart.set_title({"name": "Antigüedad de saldos"})
    aging_chart.set_y_axis({"num_format": "#,##0"})
    aging_chart.set_size({"width": CHART_WIDTH_PX, "height": CHART_HEIGHT_PX})
    ws.insert_chart(aging_title, chart_col, aging_chart)
    flow_chart = workbook.add_chart({"type": "column"})
    for col, name in ((1, "Cobros (CxC)"), (2, "Detracción (CxC)"), (3, "Pagos (CxP)")):
        flow_chart.add_series({"name": name, "categories": ["Summary", cf_top, 0, cf_end, 0],
                               "values": ["Summary", cf_top, col, cf_end, col]})
    flow_chart.set_title({"name": "Flujo de caja por semana"})
    flow_chart.set_y_axis({"num_format": "#,##0"})
    flow_chart.set_size({"width": CHART_WIDTH_PX, "height": CHART_HEIGHT_PX})
    ws.insert_chart(cf_title, chart_col, flow_chart)
    workbook.close()
    return r


def _latin1(text: Any) -> str:
    # The PDF's core fonts are Latin-1 (Spanish accents and ñ included); anything else is replaced.
    return str(text if text is not None else "").encode("latin-1", "replace").decode("latin-1")


def _write_pdf(path: Path, rows: Iterator[tuple], info: Summary, today: date) -> int:
    from fpdf import FPDF

    company = _latin1(info.company or "cuentas")
    subtitle = _latin1(f"Reporte de cuentas al {info.as_of:%d/%m/%Y} - filtros: {info.filters}")

    class Report(FPDF):
        def header(self) -> None:  # noqa: D401 - fpdf2 hook
            self.set_font("Helvetica", "B", 12)
            self.cell(0, 7, company, new_x="LMARGIN", new_y="NEXT")
            self.set_font("Helvetica", "", 8)
            self.cell(0, 5, subtitle, new_x="LMARGIN", new_y="NEXT")
            self.ln(2)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("Helvetica", "", 8)
            self.cell(0, 6, f"Página {self.page_no()} de {{nb}}", align="C")

    pdf = Report(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.alias_nb_pages()
    pdf.add_page()
    # Aging table (the figures of `cuentas dashboard`, see `summary`).
    cxc, cxp = info.aging_amounts("cxc"), info.aging_amounts("cxp")
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 6, _latin1(f"Antigüedad de saldos ({info.symbol})"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 8)
    widths = (40, 40, 40)
    for w, title in zip(widths, ("Tramo (días)", "Por cobrar (CxC)", "Por pagar (CxP)")):
        pdf.cell(w, 6, _latin1(title), border=1, align="C")
    pdf.ln()
    pdf.set_font("Helvetica", "", 8)
    for index, label in enumerate(info.buckets):
        pdf.cell(widths[0], 5, _latin1(label), border=1)
        pdf.cell(widths[1], 5, _fmt_amount(cxc[index]), border=1, align="R")
        pdf.cell(widths[2], 5, _fmt_amount(cxp[index]), border=1, align="R")
        pdf.ln()
    pdf.set_font("Helvetica", "B", 8)
    pdf.cell(widths[0], 5, "Total", border=1)
    pdf.cell(widths[1], 5, _fmt_amount(info.aging_total("cxc")), border=1, align="R")
    pdf.cell(widths[2], 5, _fmt_amount(info.aging_total("cxp")), border=1, align="R")
    pdf.ln(8)
    # Bar chart of the aging buckets, drawn as rectangles (CxC blue, CxP orange).
    chart_top = pdf.get_y()
    chart_h, left = 45.0, pdf.l_margin + 10
    peak = max([*cxc, *cxp, Decimal(1)])
    group_w = 24.0
    pdf.set_font("Helvetica", "", 7)
    pdf.set_draw_color(120, 120, 120)
    pdf.line(left, chart_top + chart_h, left + group_w * len(info.buckets) + 4, chart_top + chart_h)
    for index, label in enumerate(info.buckets):
        x = left + 2 + index * group_w
        for offset, (values, color) in enumerate(((cxc, (52, 101, 164)), (cxp, (230, 126, 34)))):
            height = chart_h * float(values[index] / peak)
            pdf.set_fill_color(*color)
            if height > 0:
                pdf.rect(x + offset * 9, chart_top + chart_h - height, 8, height, style="F")
        pdf.set_xy(x - 2, chart_top + chart_h + 1)
        pdf.cell(group_w, 4, _latin1(label), align="C")
    legend_x = left + group_w * len(info.buckets) + 10
    for offset, (name, color) in enumerate((("Por cobrar (CxC)", (52, 101, 164)), ("Por pagar (CxP)", (230, 126, 34)))):
        pdf.set_fill_color(*color)
        pdf.rect(legend_x, chart_top + 4 + offset * 6, 4, 4, style="F")
        pdf.set_xy(legend_x + 6, chart_top + 3.5 + offset * 6)
        pdf.cell(40, 5, _latin1(name))
    pdf.set_xy(pdf.l_margin, chart_top + chart_h + 10)
    # Cash-flow table (detracción in its own column, as `cuentas dashboard cashflow` shows it).
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 6, _latin1(f"Flujo de caja esperado por semana ({info.symbol})"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 8)
    flow_widths = (44, 32, 32, 32, 32, 32)
    for w, title in zip(flow_widths, CASHFLOW_HEADERS):
        pdf.cell(w, 6, _latin1(title), border=1, align="C")
    pdf.ln()
    pdf.set_font("Helvetica", "", 8)
    for label, flow in zip(info.periods, info.cashflow.rows):
        pdf.cell(flow_widths[0], 5, _latin1(label), border=1)
        for w, value in zip(flow_widths[1:], (flow.inflows, flow.detraccion, flow.outflows, flow.net, flow.cumulative)):
            pdf.cell(w, 5, _fmt_amount(value), border=1, align="R")
        pdf.ln()
    pdf.ln(6)
    # The invoice table, its header repeated on every page.
    columns = (("Tipo", 10, "L"), ("RUC/DNI", 24, "L"), ("Razón social", 70, "L"), ("Comprobante", 28, "L"),
               ("Emisión", 20, "C"), ("Vence", 20, "C"), ("Mon", 10, "C"), ("Total", 28, "R"), ("Saldo", 28, "R"),
               ("Estado", 22, "C"))

    def table_header() -> None:
        pdf.set_font("Helvetica", "B", 7)
        pdf.set_fill_color(221, 235, 247)
        for title, w, _ in columns:
            pdf.cell(w, 5, _latin1(title), border=1, align="C", fill=True)
        pdf.ln()
        pdf.set_font("Helvetica", "", 7)

    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 6, "Comprobantes", new_x="LMARGIN", new_y="NEXT")
    table_header()
    count = 0
    bottom = pdf.h - 15
    for row in rows:
        v = _plain_values(row, today)
        if pdf.get_y() + 4.5 > bottom:
            pdf.add_page()
            table_header()
        cells = (v[1], v[3], (v[4] or "")[:48], f"{v[5]} {v[6]}-{v[7]}", _d(v[8]), _d(v[9]), v[10],
                 _fmt_money(v[14]), _fmt_money(v[18]), v[19])
        for (title, w, align), value in zip(columns, cells):
            pdf.cell(w, 4.5, _latin1(value), border=1, align=align)
        pdf.ln()
        count += 1
    if count == 0:
        pdf.cell(0, 6, "(sin comprobantes para estos filtros)")
    pdf.output(str(path))
    return count


def _d(value: Any) -> str:
    return f"{_as_date(value):%d/%m/%Y}"


def _fmt_amount(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _fmt_money(cents: int | None) -> str:
    if cents is None:
        return ""
    return f"{cents / 100:,.2f}"
