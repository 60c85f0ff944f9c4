"""The PDF export: a printable report with the aging table and chart, the cash-flow table and the
invoices, its table header repeated on every page.

A PDF is a report, not a dump: past `max_rows` invoices (the command's --max-rows, 5,000 by
default) it lists the first ones and a line saying how many more there are, counted exactly from
the same rows; the aging and cash-flow figures always cover every invoice. fpdf2's own warnings
(Python `warnings` and its `fpdf` loggers) are kept inside the writer: stderr carries only
cuentas' messages.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from cuentas_cli.exports.summary import PAYABLE, RECEIVABLE, Summary, cashflow_headers
from cuentas_cli.exports.tabular import as_date, plain_values
from cuentas_cli.i18n import N_, _


def _latin1(text: Any) -> str:
    # The PDF's core fonts are Latin-1 (Spanish accents and ñ included); anything else is replaced.
    return str(text if text is not None else "").encode("latin-1", "replace").decode("latin-1")


MAX_ROWS = 5000  # the invoices a PDF lists unless told (--max-rows; 0 lists every one)
# The page count is written into the space its alias takes: fpdf's "{nb}" holds 3 digits, and a
# 1,000-page PDF (about 36,000 rows with --max-rows 0) overflowed it with a warning. 5 digits.
PAGES_ALIAS = "{nbpg}"
# The invoice table's columns: (title, width in mm, alignment); titles marked for the catalog.
PDF_COLUMNS = ((N_("Kind"), 10, "L"), ("RUC/DNI", 24, "L"), (N_("Business name"), 70, "L"),
               (N_("Invoice no."), 28, "L"), (N_("Issued"), 20, "C"), (N_("Due"), 20, "C"), (N_("Cur."), 10, "C"),
               (N_("Total"), 28, "R"), (N_("Balance"), 28, "R"), (N_("Status"), 22, "C"))


@dataclass
class Written:
    listed: int  # invoice rows printed
    total: int  # invoices the filters selected (listed + the ones counted past max_rows)


@contextmanager
def quiet_fpdf() -> Iterator[None]:
    """fpdf2's warnings and log records stay here: a deprecation or font note of the library is
    not the user's business, and a cron job's stderr carries only cuentas' own lines."""
    logger = logging.getLogger("fpdf")
    handler = logging.NullHandler()
    propagate = logger.propagate
    logger.addHandler(handler)  # a handler on the way: Python's last-resort printer stays silent
    logger.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def write_pdf(path: Path, rows: Iterator[tuple], info: Summary, today: date, max_rows: int = MAX_ROWS) -> Written:
    """The report of `rows` to `path`, listing at most `max_rows` of them (0: all)."""
    with quiet_fpdf():
        return _write(path, rows, info, today, max_rows)


def _write(path: Path, rows: Iterator[tuple], info: Summary, today: date, max_rows: int) -> Written:
    from fpdf import FPDF

    company = _latin1(info.company or "cuentas")
    subtitle = _latin1(_("Accounts report as of {date} - filters: {filters}")
                       .format(date=f"{info.as_of:%d/%m/%Y}", filters=info.filters))
    page_of = _("Page {page} of {pages}")

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
            self.cell(0, 6, _latin1(page_of.format(page=self.page_no(), pages=PAGES_ALIAS)), align="C")

    pdf = Report(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.alias_nb_pages(PAGES_ALIAS)
    pdf.add_page()
    # Aging table (the figures of `cuentas dashboard`, see `summary`).
    cxc, cxp = info.aging_amounts("cxc"), info.aging_amounts("cxp")
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 6, _latin1(_("Aging of balances ({symbol})").format(symbol=info.symbol)), new_x="LMARGIN",
             new_y="NEXT")
    pdf.set_font("Helvetica", "B", 8)
    widths = (40, 40, 40)
    for w, title in zip(widths, (N_("Bucket (days)"), RECEIVABLE, PAYABLE)):
        pdf.cell(w, 6, _latin1(_(title)), border=1, align="C")
    pdf.ln()
    pdf.set_font("Helvetica", "", 8)
    for index, label in enumerate(info.buckets):
        pdf.cell(widths[0], 5, _latin1(label), border=1)
        pdf.cell(widths[1], 5, _fmt_amount(cxc[index]), border=1, align="R")
        pdf.cell(widths[2], 5, _fmt_amount(cxp[index]), border=1, align="R")
        pdf.ln()
    pdf.set_font("Helvetica", "B", 8)
    pdf.cell(widths[0], 5, _latin1(_("Total")), border=1)
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
    for offset, (name, color) in enumerate(((RECEIVABLE, (52, 101, 164)), (PAYABLE, (230, 126, 34)))):
        pdf.set_fill_color(*color)
        pdf.rect(legend_x, chart_top + 4 + offset * 6, 4, 4, style="F")
        pdf.set_xy(legend_x + 6, chart_top + 3.5 + offset * 6)
        pdf.cell(40, 5, _latin1(_(name)))
    pdf.set_xy(pdf.l_margin, chart_top + chart_h + 10)
    # Cash-flow table (detracción in its own column, as `cuentas dashboard cashflow` shows it).
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 6, _latin1(_("Expected cash flow by week ({symbol})").format(symbol=info.symbol)), new_x="LMARGIN",
             new_y="NEXT")
    pdf.set_font("Helvetica", "B", 8)
    flow_widths = (44, 32, 32, 32, 32, 32)
    for w, title in zip(flow_widths, cashflow_headers()):
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
    columns = [(_(title), w, align) for title, w, align in PDF_COLUMNS]

    def table_header() -> None:
        pdf.set_font("Helvetica", "B", 7)
        pdf.set_fill_color(221, 235, 247)
        for title, w, _align in columns:
            pdf.cell(w, 5, _latin1(title), border=1, align="C", fill=True)
        pdf.ln()
        pdf.set_font("Helvetica", "", 7)

    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 6, _latin1(_("Documents")), new_x="LMARGIN", new_y="NEXT")
    table_header()
    count = more = 0
    bottom = pdf.h - 15
    for row in rows:
        if max_rows and count == max_rows:
            more = 1 + sum(1 for _ in rows)  # this row and the rest: counted, not printed
            break
        v = plain_values(row, today)
        if pdf.get_y() + 4.5 > bottom:
            pdf.add_page()
            table_header()
        cells = (v[1], v[3], (v[4] or "")[:48], f"{v[5]} {v[6]}-{v[7]}", _d(v[8]), _d(v[9]), v[10],
                 _fmt_money(v[14]), _fmt_money(v[18]), v[19])
        for (title, w, align), value in zip(columns, cells):
            pdf.cell(w, 4.5, _latin1(value), border=1, align=align)
        pdf.ln()
        count += 1
    if more:
        _more_line(pdf, more)
    elif count == 0:
        pdf.cell(0, 6, _latin1(_("(no documents for these filters)")))
    pdf.output(str(path))
    return Written(count, count + more)


def _more_line(pdf: Any, more: int) -> None:
    """The line under a list cut at --max-rows: how many invoices it leaves out and where they are."""
    if pdf.get_y() + 12 > pdf.h - 15:
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 8)
    pdf.cell(0, 5, _latin1(_("... and {more} more documents: export to .xlsx for the whole list (or --max-rows 0). "
                             "The figures above include them all.").format(more=f"{more:,}")),
             new_x="LMARGIN", new_y="NEXT")


def _d(value: Any) -> str:
    return f"{as_date(value):%d/%m/%Y}"


def _fmt_amount(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _fmt_money(cents: int | None) -> str:
    if cents is None:
        return ""
    return f"{Decimal(cents) / 100:,.2f}"  # exact: céntimos never pass through a float
