"""The XLSX export: typed cells in an Invoices sheet, streamed in constant memory, and a Summary
sheet with the aging and cash-flow tables and a native Excel chart of each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from cuentas_cli.i18n import _
from cuentas_cli.exports.summary import CASHFLOW_HEADERS, PAYABLE, RECEIVABLE, Summary, cashflow_headers
from cuentas_cli.exports.tabular import COLUMNS, as_date, plain_values
from cuentas_cli.rules.invoice_columns import INVOICE_COLUMNS
from cuentas_cli.textsafe import neutralise

WIDTHS = {"id": 8, "kind": 6, "party_doc_type": 6, "party_doc": 13, "party_name": 36, "doc_type": 6, "serie": 7,
          "numero": 10, "issue_date": 11, "due_date": 11, "currency": 6, "exchange_rate": 9, "base": 14, "igv": 13,
          "total": 14, "detraccion_pct": 8, "detraccion_amount": 13, "paid": 14, "balance": 14, "status": 11,
          "description": 30, "ref_doc_type": 6, "ref_serie": 7, "ref_numero": 10}
_EXCEL_EPOCH = date(1899, 12, 30)
ROW_HEIGHT_PX = 20  # an Excel row at the default 15 points
CHART_WIDTH_PX, CHART_HEIGHT_PX = 624, 288
CHART_ROWS = -(-CHART_HEIGHT_PX // ROW_HEIGHT_PX)  # rows a Summary chart covers from its anchor row


def write_xlsx(path: Path, rows: Iterator[tuple], info: Summary, today: date) -> int:
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

    # sheet names and headers are for people (in the active language); the import knows the
    # headers in every language, so the workbook comes back in (rules/invoice_columns.py)
    summary_ws = workbook.add_worksheet(_("Summary"))
    sheet = workbook.add_worksheet(_("Invoices"))
    names = [name for name, _kind in COLUMNS]
    headers = [_(label) for _key, _kind, label in INVOICE_COLUMNS]
    wrapped = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                   "valign": "top"})
    for index, (name, header) in enumerate(zip(names, headers)):
        # wide enough for the header's longest word; a long header wraps onto a second line
        sheet.set_column(index, index, max(WIDTHS.get(name, 12), max(len(word) for word in header.split()) + 2))
    sheet.set_row(0, 30)
    sheet.write_row(0, 0, headers, wrapped)
    sheet.freeze_panes(1, 0)
    serials: dict[Any, int] = {}
    write_number, write_string = sheet.write_number, sheet.write_string
    kinds = [kind for _, kind in COLUMNS]
    r = 0
    for row in rows:
        r += 1
        values = plain_values(row, today)
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
                    serial = serials[value] = (as_date(value) - _EXCEL_EPOCH).days
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
    as_of = f"{info.as_of:%d/%m/%Y}"
    ws.write_string(1, 0, neutralise(_("As of {date} · {filters} · {n} documents")
                                     .format(date=as_of, filters=info.filters, n=r)))
    basis = _("in US$") if info.currency == "USD" else (
        _("in S/") if not info.aging.converted else _("in S/ (USD at each document's exchange rate)"))
    ws.write_string(2, 0, _("Figures of `cuentas dashboard` as of {date}, {basis}").format(date=as_of, basis=basis))
    aging_title = 4
    ws.write_string(aging_title, 0, _("Aging of balances ({symbol})").format(symbol=symbol), bold)
    ws.write_row(aging_title + 1, 0, [_("Bucket (days overdue)"), _(RECEIVABLE), _(PAYABLE)], header_fmt)
    top = aging_title + 2
    cxc, cxp = info.aging_amounts("cxc"), info.aging_amounts("cxp")
    for index, label in enumerate(info.buckets):
        ws.write_string(top + index, 0, label)
        ws.write_number(top + index, 1, float(cxc[index]), amount_fmt)
        ws.write_number(top + index, 2, float(cxp[index]), amount_fmt)
    total_row = top + len(info.buckets)
    ws.write_string(total_row, 0, _("Total"), bold)
    ws.write_number(total_row, 1, float(info.aging_total("cxc")), amount_fmt)
    ws.write_number(total_row, 2, float(info.aging_total("cxp")), amount_fmt)
    cf_title = max(total_row + 2, aging_title + CHART_ROWS + 1)
    ws.write_string(cf_title, 0, _("Expected cash flow by week ({symbol})").format(symbol=symbol), bold)
    ws.write_row(cf_title + 1, 0, cashflow_headers(), header_fmt)
    cf_top = cf_title + 2
    for index, (label, flow) in enumerate(zip(info.periods, info.cashflow.rows)):
        ws.write_string(cf_top + index, 0, label)
        for col, value in enumerate((flow.inflows, flow.detraccion, flow.outflows, flow.net, flow.cumulative), start=1):
            ws.write_number(cf_top + index, col, float(value), amount_fmt)
    cf_end = cf_top + len(info.cashflow.rows) - 1

    chart_col = len(CASHFLOW_HEADERS) + 1
    aging_chart = workbook.add_chart({"type": "column"})
    for col, name in ((1, _(RECEIVABLE)), (2, _(PAYABLE))):
        aging_chart.add_series({"name": name, "categories": [ws.name, top, 0, total_row - 1, 0],
                                "values": [ws.name, top, col, total_row - 1, col]})
    aging_chart.set_title({"name": _("Aging of balances")})
    aging_chart.set_y_axis({"num_format": "#,##0"})
    aging_chart.set_size({"width": CHART_WIDTH_PX, "height": CHART_HEIGHT_PX})
    ws.insert_chart(aging_title, chart_col, aging_chart)
    flow_chart = workbook.add_chart({"type": "column"})
    for col, name in enumerate(cashflow_headers()[1:4], start=1):
        flow_chart.add_series({"name": name, "categories": [ws.name, cf_top, 0, cf_end, 0],
                               "values": [ws.name, cf_top, col, cf_end, col]})
    flow_chart.set_title({"name": _("Cash flow by week")})
    flow_chart.set_y_axis({"num_format": "#,##0"})
    flow_chart.set_size({"width": CHART_WIDTH_PX, "height": CHART_HEIGHT_PX})
    ws.insert_chart(cf_title, chart_col, flow_chart)
    workbook.close()
    return r
