"""`cuentas dashboard`: metrics, aging, cash-flow projection, summary and top debtors/creditors."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Optional

import typer

from cuentas_cli.commands.common import FormatOpt, parse_date, runtime
from cuentas_cli.errors import UsageError
from cuentas_cli.i18n import N_, _
from cuentas_cli.render import emit, resolve_format
from cuentas_cli.render.labels import bucket_label, label, period_label

DSO_HELP = (
    "DSO = CxC outstanding (S/) / CxC invoiced in the last 90 days (S/) x 90; DPO the same for CxP. "
    "Collection effectiveness (last 30 days) = (B + S - E) / (B + S - Ec) x 100, with B = CxC outstanding "
    "30 days before, S = CxC invoiced in those 30 days, E = CxC outstanding now, Ec = its part not yet due. "
    "Average days late = mean of max(0, last payment date - due date) over invoices paid off in the last 90 days."
)

app = typer.Typer(
    help="Dashboard and reports: metrics, aging, cash flow, summary, top (gerente and administrador; "
         "summary: every role).\n\nExample: cuentas dashboard --as-of 2026-10-31",
    invoke_without_command=True,
    rich_markup_mode=None,
    add_completion=False,
)

AsOfOpt = Annotated[Optional[str], typer.Option(
    "--as-of", metavar="DATE", help="Report as of this date (YYYY-MM-DD or DD/MM/YYYY; default today): invoices issued and "
    "payments made after it do not count.")]
CurrencyOpt = Annotated[Optional[str], typer.Option(
    "--currency", metavar="PEN|USD", help="Only invoices in this currency, in that currency (default: all, in S/, "
    "USD converted at each invoice's rate).")]
KindOpt = Annotated[Optional[str], typer.Option("--kind", metavar="cxc|cxp", help="Only receivables (cxc) or payables (cxp).")]
BucketsOpt = Annotated[Optional[str], typer.Option(
    "--buckets", metavar="30,60,90,120", help="Aging cut-offs in days (default: setting aging.buckets).")]
WeeksOpt = Annotated[Optional[int], typer.Option("--weeks", help="Project this many 7-day periods from the as-of date (default 8).")]
MonthsOpt = Annotated[Optional[int], typer.Option("--months", help="Project calendar months instead of weeks.")]
OpeningOpt = Annotated[Optional[str], typer.Option(
    "--opening-balance", metavar="AMOUNT", help="Cash at the start; the cumulative column starts from it.")]


def _as_of(raw: str | None, rt: Any) -> date:
    if raw is None:
        return rt.today
    return parse_date(raw, "--as-of")


def _buckets(raw: str | None, session: Any, rt: Any) -> list[int]:
    from cuentas_cli.config import parse_value
    from cuentas_cli.errors import ValidationError
    from cuentas_cli.admin import settings

    if raw is None:
        return settings.get(session, rt.config, "aging.buckets")
    try:
        return parse_value("aging.buckets", raw)
    except ValidationError as exc:
        raise UsageError(_("--buckets: {message}").format(message=exc.message)) from None


def _opening(raw: str | None):  # noqa: ANN202
    from decimal import Decimal

    from cuentas_cli.ledger.documents import parse_amount

    if raw is None:
        return Decimal(0)
    return Decimal(parse_amount(raw, field="--opening-balance", allow_negative=True)) / 100


def _width() -> int:
    from cuentas_cli.render import stdout_console

    return stdout_console().width


def _print(*renderables: Any) -> None:
    from cuentas_cli.render import stdout_console

    for item in renderables:
        stdout_console().print(item)


# --- table renderings ------------------------------------------------------------------------

METRIC_LABELS = [
    ("outstanding", N_("Outstanding (S/)")),
    ("outstanding_pen", N_("  in PEN invoices (S/)")),
    ("outstanding_usd", N_("  in USD invoices (US$)")),
    ("open_count", N_("Open invoices")),
    ("overdue", N_("Overdue (S/)")),
    ("overdue_count", N_("Overdue invoices")),
    ("overdue_share_pct", N_("Overdue share (%)")),
    ("due_7d", N_("Due in the next 7 days (S/)")),
    ("due_7d_count", N_("  invoices")),
    ("invoiced_90d", N_("Invoiced, last 90 days (S/)")),
    ("days_outstanding", N_("DSO / DPO (days)")),
    ("collection_effectiveness_pct", N_("Collection effectiveness (%)")),
    ("paid_90d_count", N_("Paid off, last 90 days")),
    ("avg_days_late", N_("Average days late")),
]


def _fit(columns: list, rows_count: int, title: str, drop_order: list[str]) -> Any:
    """A table that fits the terminal: figures are never cut; columns that do not fit are
    hidden (lowest priority first) with a note on stderr, or the rows are shown vertically."""
    from cuentas_cli.render import build_table, hidden_note

    width = _width()
    table, hidden = build_table(columns, rows_count, width=width, title=title, drop_order=drop_order, min_keep=2)
    hidden_note(hidden, width)
    return table


def _metrics_table(rows: list, as_of: date) -> Any:
    from cuentas_cli.render import Column, _text

    columns = [Column("", [_(text) for _key, text in METRIC_LABELS], whole=False)]
    for r in rows:
        cells = [_text(getattr(r, key)) if getattr(r, key) is not None else "-" for key, _label in METRIC_LABELS]
        columns.append(Column(r.kind.upper(), cells, whole=True, justify="right", number=True))
    return _fit(columns, len(METRIC_LABELS), _("Key figures as of {date}").format(date=_text(as_of)), [])


def _aging_table(report: Any) -> Any:
    from cuentas_cli.render import Column, _text

    where = f" ({report.currency})" if not report.converted else " (S/)"
    rows = report.rows
    columns = [Column(label("kind"), [r.kind for r in rows], whole=True, name="kind")]
    if report.by_party:
        columns.append(Column(label("party_doc"), [_text(r.party_doc or "") for r in rows], whole=True, name="party"))
        columns.append(Column(label("name"), [_text(r.party_name or "") for r in rows], whole=False, name="name"))
    for key, bucket in report.columns:
        columns.append(Column(bucket_label(key, bucket), [_text(r.amounts[key]) for r in rows], whole=True,
                              justify="right",
                              number=True, name=bucket))
    columns.append(Column(label("total"), [_text(r.total) for r in rows], whole=True, justify="right", number=True,
                          name="total"))
    columns.append(Column(label("count"), [str(r.count) for r in rows], whole=True, justify="right", number=True,
                          name="count"))
    # Hidden first when the terminal is narrow: the count, the document, then the oldest buckets.
    drop = ["count", "party", *(bucket for _key, bucket in reversed(report.columns[1:]))]
    title = _("Aging by due date as of {date}").format(date=_text(report.as_of)) + where
    return _fit(columns, len(rows), title, drop)


def _aging_charts(report: Any) -> list:
    from cuentas_cli.render.charts import bar_chart

    out = []
    for r in report.rows:
        items = [(bucket_label(key, bucket), r.amounts[key]) for key, bucket in report.columns]
        out.append(bar_chart(_("{kind} aging").format(kind=r.kind.upper()), items, width=_width(),
                             style="green" if r.kind == "cxc" else "magenta"))
    return out


def _cashflow_table(flow: Any) -> Any:
    from cuentas_cli.render import Column, _text

    columns = [Column(label("period"), [period_label(r.period, r.start, r.end) for r in flow.rows], whole=True,
                      name="period")]
    for col in ("inflows", "detraccion", "outflows", "net", "cumulative"):
        columns.append(Column(label(col), [_text(getattr(r, col)) for r in flow.rows], whole=True, justify="right",
                              number=True, name=col))
    title = _("Cash-flow projection from {date} ({currency}; opening {opening})").format(
        date=_text(flow.as_of), currency=flow.currency, opening=_text(flow.opening_balance))
    return _fit(columns, len(flow.rows), title, ["detraccion", "cumulative", "net"])


def _cashflow_chart(flow: Any) -> Any:
    from cuentas_cli.render.charts import paired_chart

    items = [(period_label(r.period, r.start, r.end), r.inflows, r.outflows) for r in flow.rows]
    return paired_chart(_("Expected inflows (CxC) and outflows (CxP)"), items, width=_width(),
                        names=(_("collections"), _("payments")))


# --- commands --------------------------------------------------------------------------------


@app.callback()
def dashboard(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    buckets: BucketsOpt = None,
    weeks: WeeksOpt = None,
    months: MonthsOpt = None,
    opening_balance: OpeningOpt = None,
    fmt: FormatOpt = None,
    all_companies: Annotated[bool, typer.Option(
        "--all-companies", help="One row per company of the firm you may see dashboards of: CxC and CxP "
        "outstanding, overdue and due in 7 days, DSO/DPO, in S/, and the firm's total.")] = False,
) -> None:
    """One screen: key figures, aging of CxC and CxP, cash-flow projection, with charts.

    Example: cuentas dashboard --as-of 2026-10-31 --format json
    Example: cuentas dashboard --all-companies
    """
    if ctx.invoked_subcommand is not None:
        if all_companies:
            raise UsageError(_("--all-companies goes with `cuentas dashboard` itself, not with a sub-command"))
        return
    from cuentas_cli.render import plain
    from cuentas_cli.reports import dashboard as report

    rt = runtime()
    day = _as_of(as_of, rt)
    if all_companies:
        if any(v is not None for v in (buckets, weeks, months, opening_balance)):
            raise UsageError(_("--all-companies shows one row per company: --buckets, --weeks, --months and "
                               "--opening-balance belong to one company's dashboard"))
        from cuentas_cli.ops import firm

        emit(firm.all_figures(rt, as_of=day), fmt, title=_("The firm's companies as of {date}").format(date=day))
        return
    opening = _opening(opening_balance)
    with rt.session() as session:
        board = report.dashboard(session, rt.actor(session), as_of=day, buckets=_buckets(buckets, session, rt),
                                  weeks=weeks, months=months, opening_balance=opening)
    kind = resolve_format(fmt)
    sections = {
        "metrics": [_asdict(m) for m in board.metrics],
        "aging": board.aging.records(),
        "cashflow": board.cashflow.records(),
    }
    if kind == "json":
        import json
        import sys

        sys.stdout.write(json.dumps(plain({"as_of": day, **sections}), ensure_ascii=False, indent=2) + "\n")
    elif kind == "jsonl":
        emit(({"section": name, **row} for name, rows in sections.items() for row in rows), "jsonl")
    elif kind == "csv":
        emit(_long_rows(sections), "csv", columns=["section", "row", "field", "value"])
    else:
        _print(_metrics_table(board.metrics, day), _aging_table(board.aging), *_aging_charts(board.aging),
               _cashflow_table(board.cashflow), _cashflow_chart(board.cashflow))


def _asdict(obj: Any) -> dict:
    from cuentas_cli.render import as_dict

    return as_dict(obj)


def _long_rows(sections: dict[str, list[dict]]):  # noqa: ANN202
    """The dashboard as one CSV: (section, row label, field, value) per figure."""
    for name, rows in sections.items():
        for row in rows:
            label = row.get("kind") or row.get("period")
            for field, value in row.items():
                if field in {"kind", "period", "as_of"}:
                    continue
                yield {"section": name, "row": label, "field": field, "value": value}


@app.command("metrics")
def metrics(as_of: AsOfOpt = None, fmt: FormatOpt = None) -> None:
    """Key figures: outstanding CxC/CxP (S/ and per currency), overdue, due in 7 days, DSO/DPO, collection effectiveness, days late.

    DSO = CxC outstanding (S/) / CxC invoiced in the last 90 days (S/) x 90; DPO likewise for CxP.
    Collection effectiveness (last 30 days) = (B + S - E) / (B + S - Ec) x 100: B = CxC outstanding
    30 days before, S = CxC invoiced in those 30 days, E = CxC outstanding now, Ec = its part not
    yet due. Average days late = mean of max(0, last payment - due date) over invoices paid off
    in the last 90 days. USD invoices count at their own exchange rate.

    Example: cuentas dashboard metrics --as-of 2026-10-31 --format json
    """
    from cuentas_cli.reports import metrics as report

    rt = runtime()
    day = _as_of(as_of, rt)
    with rt.session() as session:
        rows = report.metrics(session, rt.actor(session), as_of=day)
    if resolve_format(fmt) == "table":
        _print(_metrics_table(rows, day))
    else:
        emit(rows, fmt)


@app.command("aging")
def aging(
    kind: KindOpt = None,
    by_party: Annotated[bool, typer.Option("--by-party", help="One row per client / supplier.")] = False,
    as_of: AsOfOpt = None,
    buckets: BucketsOpt = None,
    currency: CurrencyOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """Aging by due date: corriente (not yet due), 1-30, 31-60, 61-90, 91-120, >120; columns add up to the total.

    With --as-of a past date is reproduced exactly: invoices issued after it and payments made
    after it do not count. Amounts in S/ (USD at each invoice's rate) unless --currency.

    Example: cuentas dashboard aging --kind cxc --by-party --as-of 2026-10-31
    """
    from cuentas_cli.reports import aging as aging_report

    rt = runtime()
    day = _as_of(as_of, rt)
    with rt.session() as session:
        report = aging_report.aging(session, rt.actor(session), kind=kind, as_of=day,
                               buckets=_buckets(buckets, session, rt), by_party=by_party, currency=currency)
    if resolve_format(fmt) == "table":
        _print(_aging_table(report))
        if not by_party:
            _print(*_aging_charts(report))
    else:
        emit(report.records(), fmt)


@app.command("cashflow")
def cashflow(
    weeks: WeeksOpt = None,
    months: MonthsOpt = None,
    opening_balance: OpeningOpt = None,
    as_of: AsOfOpt = None,
    currency: CurrencyOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """Cash-flow projection: CxC inflows (net of pending detracción deposits), CxP outflows, net and cumulative.

    Balances are placed by due date; overdue balances come first in a "vencido" row and those
    due after the last period in a "posterior" row, so nothing is dropped. The cumulative
    column starts from --opening-balance.

    Example: cuentas dashboard cashflow --months 3 --opening-balance 25000
    """
    from cuentas_cli.reports import cashflow as report

    if weeks is not None and months is not None:
        raise UsageError(_("give --weeks or --months, not both"))
    rt = runtime()
    day = _as_of(as_of, rt)
    opening = _opening(opening_balance)
    with rt.session() as session:
        flow = report.cashflow(session, rt.actor(session), as_of=day, weeks=weeks, months=months,
                                opening_balance=opening, currency=currency)
    if resolve_format(fmt) == "table":
        _print(_cashflow_table(flow), _cashflow_chart(flow))
    else:
        emit(flow.records(), fmt)


@app.command("summary")
def summary(as_of: AsOfOpt = None, fmt: FormatOpt = None) -> None:
    """Financial summary (every role): outstanding totals and counts of CxC and CxP.

    Example: cuentas dashboard summary --format json
    """
    from cuentas_cli.reports import metrics as report

    rt = runtime()
    day = _as_of(as_of, rt)
    with rt.connection() as conn:  # Core only, as every fast command
        rows = report.summary(conn, rt.actor(conn), as_of=day)
    emit(rows, fmt, title=_("Summary as of {date}").format(date=day.strftime("%d/%m/%Y")))


@app.command("top")
def top(
    n: Annotated[int, typer.Option("--n", help="How many debtors and creditors.")] = 10,
    as_of: AsOfOpt = None,
    currency: CurrencyOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """Largest debtors (CxC) and creditors (CxP) by overdue amount.

    Example: cuentas dashboard top --n 5
    """
    from cuentas_cli.reports import top as report

    rt = runtime()
    day = _as_of(as_of, rt)
    with rt.session() as session:
        rows = report.top(session, rt.actor(session), as_of=day, n=n, currency=currency)
    emit(rows, fmt, title=_("Largest overdue balances as of {date}").format(date=day.strftime("%d/%m/%Y")))
