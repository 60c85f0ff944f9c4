"""A statement of account (reports/statements.py) as a printable PDF (A4 portrait, one or two pages
for a normal client: the company's name and RUC on top of every page, the party, each currency's
lines with the running balance, its aging and open documents, and where to pay) or as an Excel
workbook (typed cells: dates as dates, amounts as numbers in S/ or US$).

The figures are the statement's as they are; amounts are written by the one formatter of money
for people (`integrations.email.money`: `S/ 1,234.56`), dates as DD/MM/YYYY.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from cuentas_cli import outputs
from cuentas_cli.exports.pdf import _latin1, quiet_fpdf
from cuentas_cli.i18n import N_, _
from cuentas_cli.integrations.email import money
from cuentas_cli.outputs import DEFAULT_MODE, Target
from cuentas_cli.reports.statements import Section, Statement, concept
from cuentas_cli.rules.identity import doc_type_label
from cuentas_cli.textsafe import neutralise

FILE_FORMATS = ("pdf", "xlsx")
CURRENCY_TITLES = {"PEN": N_("Soles (S/)"), "USD": N_("US dollars (US$)")}


def _d(value: date | None) -> str:
    return f"{value:%d/%m/%Y}" if value else ""


def _period(stmt: Statement) -> str:
    if stmt.date_from is None:
        return _("up to {date_to}").format(date_to=_d(stmt.date_to))
    return _("from {date_from} to {date_to}").format(date_from=_d(stmt.date_from), date_to=_d(stmt.date_to))


def _title(stmt: Statement) -> str:
    return _("STATEMENT OF ACCOUNT") + (" - " + _("open documents") if stmt.open_only else "")


def default_name(stmt: Statement, fmt: str) -> str:
    """The file a statement goes to when no --output is given: estado-de-cuenta-DOC-YYYY-MM-DD.pdf."""
    return f"estado-de-cuenta-{stmt.party.doc_number}-{stmt.date_to.isoformat()}.{fmt}"


def attachment_name(stmt: Statement) -> str:
    return default_name(stmt, "pdf")


def write(stmt: Statement, target: "Path | Target", fmt: str, *, mode: int = DEFAULT_MODE) -> Path:
    """Write the statement as pdf or xlsx to `target` (atomically, with `mode`; outputs' rules)."""
    target = outputs.ensure(target, option="--output")
    with outputs.replacing(target, mode=mode) as tmp:
        if fmt == "pdf":
            tmp.write_bytes(pdf_bytes(stmt))
        else:
            write_xlsx(tmp, stmt)
    return target.path


# --- PDF ------------------------------------------------------------------------------------------


def pdf_bytes(stmt: Statement) -> bytes:
    """The statement as a PDF document (bytes: a file or an e-mail attachment)."""
    with quiet_fpdf():
        return bytes(_pdf(stmt).output())


def _pdf(stmt: Statement) -> Any:
    from fpdf import FPDF

    company = _latin1(stmt.company_name or "cuentas")
    ruc = _latin1(f"RUC {stmt.company_ruc}" if stmt.company_ruc else "")
    title = _latin1(_title(stmt))
    page_word = _("Page {page} of {pages}")

    class Document(FPDF):
        def header(self) -> None:  # noqa: D401 - fpdf2 hook
            self.set_font("Helvetica", "B", 12)
            self.cell(120, 6, company)
            self.cell(0, 6, title, align="R", new_x="LMARGIN", new_y="NEXT")
            self.set_font("Helvetica", "", 8)
            self.cell(120, 4, ruc)
            self.cell(0, 4, _latin1(_("As of {as_of}").format(as_of=_d(stmt.as_of))), align="R",
                      new_x="LMARGIN", new_y="NEXT")
            self.set_draw_color(120, 120, 120)
            self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
            self.ln(3)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("Helvetica", "", 7)
            self.cell(0, 5, _latin1(page_word.format(page=self.page_no(), pages="{nbpg}")), align="C")

    pdf = Document(orientation="P", unit="mm", format="A4")
    pdf.set_margins(12, 10, 12)
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.alias_nb_pages("{nbpg}")
    pdf.add_page()
    _party_block(pdf, stmt)
    if not stmt.sections:
        pdf.set_font("Helvetica", "", 9)
        pdf.cell(0, 6, _latin1(_("No documents or payments in this period.")), new_x="LMARGIN", new_y="NEXT")
    for section in stmt.sections:
        _section(pdf, stmt, section)
    _bank_block(pdf, stmt)
    return pdf


def _party_block(pdf: Any, stmt: Statement) -> None:
    p = stmt.party
    who = _("Client") if p.kind == "client" else _("Supplier")
    rows = [(who, p.name), (doc_type_label(p.doc_type), p.doc_number)]
    if p.address:
        rows.append((_("Address"), p.address))
    rows.append((_("Period"), _period(stmt)))
    for name, value in rows:
        pdf.set_font("Helvetica", "B", 8)
        pdf.cell(24, 4.5, _latin1(name))
        pdf.set_font("Helvetica", "", 8)
        pdf.multi_cell(0, 4.5, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


LINE_COLUMNS = ((N_("Date"), 18, "C"), (N_("Document"), 24, "L"), (N_("Concept"), 54, "L"), (N_("Due"), 18, "C"),
                (N_("Debit"), 24, "R"), (N_("Credit"), 24, "R"), (N_("Balance"), 24, "R"))


def _heading(pdf: Any, text: str, size: int = 9) -> None:
    if pdf.get_y() + 18 > pdf.h - 16:
        pdf.add_page()
    pdf.set_font("Helvetica", "B", size)
    pdf.cell(0, 6, _latin1(text), new_x="LMARGIN", new_y="NEXT")


def _row(pdf: Any, cells: list[str], columns: Any, *, bold: bool = False, fill: bool = False, h: float = 4.5) -> None:
    pdf.set_font("Helvetica", "B" if bold else "", 7.5)
    if fill:
        pdf.set_fill_color(221, 235, 247)
    for (_name, w, align), value in zip(columns, cells):
        pdf.cell(w, h, _fit(pdf, _latin1(value), w - 2), border=1, align=align, fill=fill)
    pdf.ln()


def _fit(pdf: Any, text: str, width: float) -> str:
    """The text cut to the cell's width (with an ellipsis), measured in the current font."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "...") > width:
        text = text[:-1]
    return text + "..."


def _section(pdf: Any, stmt: Statement, s: Section) -> None:
    cur = s.currency
    _heading(pdf, _(CURRENCY_TITLES.get(cur, cur)), 10)
    header = [_(name) for name, _w, _a in LINE_COLUMNS]
    _row(pdf, header, LINE_COLUMNS, bold=True, fill=True)
    opening_day = _d(stmt.date_from) if stmt.date_from else ""
    _row(pdf, [opening_day, "", _("Opening balance"), "", "", "", money(s.opening, cur)], LINE_COLUMNS, bold=True)
    for line in s.lines:
        if pdf.get_y() + 4.5 > pdf.h - 16:
            pdf.add_page()
            _row(pdf, header, LINE_COLUMNS, bold=True, fill=True)
        _row(pdf, [_d(line.date), line.document, concept(line), _d(line.due_date),
                   money(line.debit, cur) if line.debit else "", money(line.credit, cur) if line.credit else "",
                   money(line.balance, cur)], LINE_COLUMNS)
    _row(pdf, [_d(stmt.date_to), "", _("Closing balance"), "", money(s.debits, cur), money(s.credits, cur),
               money(s.closing, cur)], LINE_COLUMNS, bold=True)
    pdf.ln(2)
    # aging, as `cuentas dashboard aging --by-party --currency CUR`
    labels = [_("current") if key == "corriente" else text for key, text in stmt.aging_columns] + [_("Total")]
    width = 190 / len(labels)
    aging_cols = [(text, width, "R") for text in labels]
    _heading(pdf, _("Aging as of {as_of} (days past due)").format(as_of=_d(stmt.as_of)), 8)
    _row(pdf, labels, aging_cols, bold=True, fill=True)
    _row(pdf, [money(int(v * 100), cur) for v in [*s.aging.values(), s.aging_total]], aging_cols)
    pdf.ln(2)
    if s.open_documents:
        cols = ((N_("Document"), 30, "L"), (N_("Type"), 34, "L"), (N_("Issued"), 22, "C"), (N_("Due"), 22, "C"),
                (N_("Days overdue"), 22, "R"), (N_("Total"), 30, "R"), (N_("Balance"), 30, "R"))
        _heading(pdf, _("Open documents as of {as_of}").format(as_of=_d(stmt.as_of)), 8)
        _row(pdf, [_(name) for name, _w, _a in cols], cols, bold=True, fill=True)
        for d in s.open_documents:
            _row(pdf, [d.document, _doc_word(d.doc_type), _d(d.issue_date), _d(d.due_date),
                       str(d.days_overdue) if d.days_overdue else "", money(d.total, cur), money(d.balance, cur)], cols)
        pdf.ln(3)


def _doc_word(doc_type: str) -> str:
    from cuentas_cli.reports.statements import MOVEMENT_WORDS

    return _(MOVEMENT_WORDS.get(doc_type, N_("Invoice")))


def _bank_block(pdf: Any, stmt: Statement) -> None:
    accounts = [a for a in stmt.bank_accounts if not a.detracciones]
    detracciones = [a for a in stmt.bank_accounts if a.detracciones]
    if not stmt.bank_accounts:
        return
    cols = ((N_("Bank"), 58, "L"), (N_("Currency"), 18, "C"), (N_("Account"), 50, "L"), (N_("CCI"), 64, "L"))
    _heading(pdf, _("Where to pay") if stmt.party.kind == "client" else _("Our bank accounts"), 9)
    _row(pdf, [_(name) for name, _w, _a in cols], cols, bold=True, fill=True)
    for a in accounts:
        _row(pdf, [a.bank_name, a.currency, a.number, a.cci or ""], cols)
    for a in detracciones:
        _row(pdf, [f"{a.bank_name} - " + _("detracciones"), a.currency, a.number, a.cci or ""], cols)


# --- XLSX -----------------------------------------------------------------------------------------


def write_xlsx(path: Path, stmt: Statement) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                           "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    title_fmt = book.add_format({"bold": True, "font_size": 13})
    header_fmt = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    date_fmt = book.add_format({"num_format": "dd/mm/yyyy"})
    money_fmt = {"PEN": book.add_format({"num_format": '"S/" #,##0.00'}),
                 "USD": book.add_format({"num_format": '"US$" #,##0.00'})}
    ws = book.add_worksheet(_("Statement")[:31])
    for col, width in enumerate((12, 14, 40, 12, 15, 15, 15)):
        ws.set_column(col, col, width)

    def text(r: int, c: int, value: Any, fmt: Any = None) -> None:
        if value is not None and value != "":
            ws.write_string(r, c, neutralise(str(value)), fmt)

    def day(r: int, c: int, value: date | None) -> None:
        if value is not None:
            ws.write_datetime(r, c, _as_datetime(value), date_fmt)

    def amount(r: int, c: int, cents: int, cur: str, fmt: Any = None) -> None:
        ws.write_number(r, c, cents / 100, fmt or money_fmt.get(cur, money_fmt["PEN"]))

    text(0, 0, stmt.company_name or "cuentas", title_fmt)
    text(1, 0, f"RUC {stmt.company_ruc}" if stmt.company_ruc else "")
    text(0, 4, _title(stmt), bold)
    text(1, 4, _("As of {as_of}").format(as_of=_d(stmt.as_of)))
    p = stmt.party
    r = 3
    for name, value in ((_("Client") if p.kind == "client" else _("Supplier"), p.name),
                        (doc_type_label(p.doc_type), p.doc_number), (_("Address"), p.address or ""),
                        (_("Period"), _period(stmt))):
        text(r, 0, name, bold)
        text(r, 1, value)
        r += 1
    for s in stmt.sections:
        cur = s.currency
        r += 1
        text(r, 0, _(CURRENCY_TITLES.get(cur, cur)), bold)
        r += 1
        for c, (name, _w, _a) in enumerate(LINE_COLUMNS):
            ws.write_string(r, c, _(name), header_fmt)
        r += 1
        day(r, 0, stmt.date_from)
        text(r, 2, _("Opening balance"), bold)
        amount(r, 6, s.opening, cur)
        for line in s.lines:
            r += 1
            day(r, 0, line.date)
            text(r, 1, line.document)
            text(r, 2, concept(line))
            day(r, 3, line.due_date)
            if line.debit:
                amount(r, 4, line.debit, cur)
            if line.credit:
                amount(r, 5, line.credit, cur)
            amount(r, 6, line.balance, cur)
        r += 1
        day(r, 0, stmt.date_to)
        text(r, 2, _("Closing balance"), bold)
        amount(r, 4, s.debits, cur)
        amount(r, 5, s.credits, cur)
        amount(r, 6, s.closing, cur)
        r += 2
        text(r, 0, _("Aging as of {as_of} (days past due)").format(as_of=_d(stmt.as_of)), bold)
        r += 1
        labels = [_("current") if key == "corriente" else t for key, t in stmt.aging_columns] + [_("Total")]
        for c, name in enumerate(labels):
            ws.write_string(r, c, name, header_fmt)
        r += 1
        for c, value in enumerate([*s.aging.values(), s.aging_total]):
            amount(r, c, int(value * 100), cur)
        if s.open_documents:
            r += 2
            text(r, 0, _("Open documents as of {as_of}").format(as_of=_d(stmt.as_of)), bold)
            r += 1
            for c, name in enumerate((N_("Document"), N_("Type"), N_("Issued"), N_("Due"), N_("Days overdue"),
                                      N_("Total"), N_("Balance"))):
                ws.write_string(r, c, _(name), header_fmt)
            for d in s.open_documents:
                r += 1
                text(r, 0, d.document)
                text(r, 1, _doc_word(d.doc_type))
                day(r, 2, d.issue_date)
                day(r, 3, d.due_date)
                ws.write_number(r, 4, d.days_overdue)
                amount(r, 5, d.total, cur)
                amount(r, 6, d.balance, cur)
    if stmt.bank_accounts:
        r += 2
        text(r, 0, _("Where to pay") if p.kind == "client" else _("Our bank accounts"), bold)
        for a in stmt.bank_accounts:
            r += 1
            text(r, 0, a.bank_name + (" - " + _("detracciones") if a.detracciones else ""))
            text(r, 2, f"{a.currency} {a.number}")
            text(r, 3, f"CCI {a.cci}" if a.cci else "")
    book.close()


def _as_datetime(value: date) -> Any:
    from datetime import datetime

    return datetime(value.year, value.month, value.day)
