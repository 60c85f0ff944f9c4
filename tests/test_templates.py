"""Editable reminder templates (issue 19): sandboxed Jinja2, validated on save with the line,
edited from a file or $EDITOR, reset to the default; `notify preview` is what `notify run` sends;
the greeting by party type; notify.language; per-level channels (notify.channels)."""

from __future__ import annotations

import os
import stat
import sys
from datetime import date, timedelta

import pytest

from cuentas_cli.db.engine import open_session
from cuentas_cli.reminders import templates
from cuentas_cli.reminders.greeting import Addressee, greeting, is_natural, natural_order
from cuentas_cli.rules.channels import parse_channels
from tests.dbstate import snapshot
from tests.test_notify_support import (
    STAFF,
    TODAY,
    configure,
    make_book,
    outbox,
    smtp_server,  # noqa: F401 - fixture
    smtp_settings,
)

PERSON_RUC = "10456789019"


# --- greeting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sunat", "natural"), [
    ("HUAMÁN TORRES JORGE LUIS", "Jorge Luis Huamán Torres"),
    ("QUISPE MAMANI ROSA", "Rosa Quispe Mamani"),
    ("DE LA CRUZ ROJAS MARÍA DEL CARMEN", "María del Carmen de la Cruz Rojas"),
    ("GARCIA DE PEREZ ANA", "Ana Garcia de Perez"),
    ("TORRES, JUAN PABLO", "Juan Pablo Torres"),
    ("PEREZ JUAN", "Juan Perez"),
    ("O'HIGGINS RIQUELME BERNARDO", "Bernardo O'Higgins Riquelme"),
    ("MADONNA", "Madonna"),
])
def test_natural_order_of_sunat_names(sunat, natural):
    assert natural_order(sunat) == natural


@pytest.mark.parametrize(("doc_type", "number", "natural"), [
    ("1", "45678901", True), ("6", "10456789019", True), ("6", "15456789012", True), ("6", "17456789012", True),
    ("6", "20123456789", False), ("4", "001234567", True), ("7", "AB123456", True), ("0", "", False),
])
def test_who_is_a_persona_natural(doc_type, number, natural):
    assert is_natural(doc_type, number) is natural


def test_greetings_in_spanish_and_english():
    from cuentas_cli import i18n

    es, en = i18n.catalog("es").gettext, i18n.catalog("en").gettext
    person = Addressee("HUAMÁN TORRES JORGE LUIS", "6", PERSON_RUC)
    dni = Addressee("HUAMÁN TORRES JORGE LUIS", "1", "45678901")
    company = Addressee("EMPRESA S.A.C.", "6", "20123456789")
    assert greeting([person], es) == "Estimado(a) Jorge Luis Huamán Torres:"
    assert greeting([dni], es) == "Estimado(a) Jorge Luis Huamán Torres:"
    assert greeting([company], es) == "Señores de EMPRESA S.A.C.:"
    assert greeting([person, company], es) == "Estimado cliente:"  # one address, several clients
    assert greeting([company, company], es) == "Señores de EMPRESA S.A.C.:"  # two invoices of one client
    assert greeting([person], en) == "Dear Jorge Luis Huamán Torres,"
    assert greeting([person, company], en) == "Dear client,"


# --- rendering and validation (no database) -----------------------------------------------------


def test_long_dates_and_money_filters():
    ctx = templates.sample_context("es")
    source = "{{ today | long_date }}|{{ today }}|{{ 123456 | money('USD') }}|{{ documents[0].due_date | long_date }}"
    assert templates.render(source, ctx, part="text", language="es") == (
        "15 de junio de 2026|15/06/2026|US$ 1,234.56|15 de junio de 2026")
    assert templates.render("{{ today | long_date }}", ctx, part="text", language="en") == "June 15, 2026"
    assert templates.render("[{{ 'ab' | pad(4) }}][{{ 'ab' | rpad(4) }}]", ctx, part="text", language="es") == "[ab  ][  ab]"
    assert len(templates.render("{{ 'ab' | pad(10**8) }}", ctx, part="text", language="es")) == templates.MAX_PAD


def test_the_html_part_escapes_and_the_text_part_does_not():
    ctx = dict(templates.sample_context("es"), company={"name": "A & B <S.A.C.>", "ruc": ""})
    assert templates.render("{{ company.name }}", ctx, part="html", language="es") == "A &amp; B &lt;S.A.C.&gt;"
    assert templates.render("{{ company.name }}", ctx, part="text", language="es") == "A & B <S.A.C.>"
    assert templates.render("Hola\n  {{ company.name }}\n", ctx, part="subject", language="es") == "Hola A & B <S.A.C.>"


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ party._private }}",
    "{{ documents.__class__ }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{{ today.__reduce_ex__(2) }}",
    "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{{ c }}{% endfor %}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ range(10) }}",
    "{{ 'x' * 100000000 }}",
    "{{ [1] * 100000000 }}",
    "{{ 9 ** 999999999 }}",
    "{% for d in documents %}{{ company.name * 5000 }}{% endfor %}",
])
def test_python_internals_are_out_of_reach(source):
    """Refused on save (nothing stored), and rendering one stored behind the program's back gives a
    clear error, never an object's internals."""
    with pytest.raises(templates.TemplateProblem) as refused:
        templates.validate(source, part="text", language="es")
    assert refused.value.line in (0, 1)
    try:
        out = templates.render(source, templates.sample_context("es"), part="text", language="es")
    except templates.TemplateProblem as problem:
        assert problem.message
    else:
        assert "class" not in out and "function" not in out and "module" not in out


def test_unknown_variables_and_syntax_errors_are_refused_with_their_line():
    with pytest.raises(templates.TemplateProblem) as unknown:
        templates.validate("{{ greeting }}\n\n{{ cliente.nombre }}\n", part="text", language="es")
    assert unknown.value.line == 3 and "cliente" in unknown.value.message
    with pytest.raises(templates.TemplateProblem) as broken:
        templates.validate("{{ greeting }}\n{% for d in documents %}\n{{ d.document }}\n", part="text", language="es")
    assert broken.value.line >= 3
    with pytest.raises(templates.TemplateProblem):
        templates.validate("{% if false %}x{% endif %}\n", part="subject", language="es")
    # fine with the full sample, broken for a company without a detracciones account: refused
    with pytest.raises(templates.TemplateProblem) as unguarded:
        templates.validate("Hola\n{{ detracciones.number }}", part="text", language="es")
    assert unguarded.value.line == 2 and "guard" in unguarded.value.message
    with pytest.raises(templates.TemplateProblem):
        templates.validate("{{ documents[1].document }}", part="text", language="es")
    templates.validate("{% if detracciones %}{{ detracciones.number }}{% endif %}", part="text", language="es")
    with pytest.raises(templates.TemplateProblem) as attribute:  # a documented name, an unknown attribute
        templates.validate("line one\n{{ party.apodo }}", part="subject", language="es")
    assert attribute.value.line == 2 and "apodo" in attribute.value.message
    # names a template sets itself are fine, and every default validates
    templates.validate("{% set x = count %}{{ x }} {% for d in documents %}{{ d.document }}{% endfor %}"
                       "{% if overdue %}{% set y = total %}{{ y }}{% endif %}", part="text", language="es")
    for part in templates.PARTS:
        for language in ("es", "en"):
            templates.validate(templates.default_source("reminder", part), part=part, language=language)


# --- channels ------------------------------------------------------------------------------------


def test_channels_syntax():
    plan = parse_channels("-3:email;0:email,staff;7:email,staff,webhook,attach;30:digest")
    assert plan.for_level(-3).email and not plan.for_level(-3).staff and not plan.for_level(-3).webhook
    assert plan.for_level(7).attach and plan.for_level(7).webhook
    assert plan.for_level(30).digest_only
    assert plan.for_level(15) == parse_channels("").for_level(15)  # not named: email,staff,webhook
    assert parse_channels("*:email").for_level(99).text() == "email"
    assert str(parse_channels(" 0 : email , staff ;-3:email")) == "-3:email;0:email,staff"
    for bad in ("7", "siete:email", "7:fax", "7:digest,email", "7:staff", "7:email;7:webhook", "7:", "7:email,email"):
        with pytest.raises(ValueError):
            parse_channels(bad)


# --- the commands, on both backends ------------------------------------------------------------


def _person_with_one_invoice(url: str, *, days_overdue: int = 8) -> str:
    """A persona natural (RUC 10) with one open invoice; returns its SERIE-NUMERO."""
    from tests.factories import make_invoice, make_party

    with open_session(url, write=True) as s:
        person = make_party(s, ruc=PERSON_RUC, name="HUAMÁN TORRES JORGE LUIS", email="jorge@huaman.pe")
        make_invoice(s, person, serie="F009", numero=77, total="2360.00", issued=date(2026, 5, 1),
                     due=TODAY - timedelta(days=days_overdue))
    return "F009-77"


def _stored_templates(url: str) -> dict[str, str]:
    from sqlalchemy import text

    with open_session(url) as s:
        rows = s.execute(text("SELECT key, value FROM setting WHERE key LIKE 'notify.template.%'")).all()
    return dict(rows)


def test_edit_with_a_file_show_preview_and_reset(company, tmp_path):
    invoice = _person_with_one_invoice(company.url)
    mine = tmp_path / "asunto.j2"
    mine.write_text("Aviso {{ level }}: {{ documents[0].document }} vence el {{ documents[0].due_date | long_date }}",
                    encoding="utf-8")
    saved = company.run("notify", "templates", "edit", "7", "--part", "subject", "--file", str(mine))
    assert saved.exit_code == 0, saved.output
    assert _stored_templates(company.url) == {"notify.template.7.subject": mine.read_text(encoding="utf-8")}

    listed = company.run("notify", "templates", "list", "-f", "json")
    assert listed.exit_code == 0, listed.output
    seven = next(r for r in listed.json() if r["level"] == 7)
    assert (seven["subject"], seven["text"], seven["html"]) == ("custom", "default", "default")
    shown = company.run("notify", "templates", "show", "7", "--part", "subject")
    assert shown.stdout == mine.read_text(encoding="utf-8") + "\n"
    rendered = company.run("notify", "templates", "show", "7", "--part", "subject", "--sample")
    assert rendered.stdout == "Aviso 7: F001-123 vence el 15 de junio de 2026\n"

    preview = company.run("notify", "preview", invoice, "--level", "7", "-f", "json")
    assert preview.exit_code == 0, preview.output
    assert preview.json()["subject"] == "Aviso 7: F009-77 vence el 7 de junio de 2026"
    assert preview.json()["level"] == 7
    other = company.run("notify", "preview", invoice, "--level", "0", "-f", "json")
    assert other.json()["subject"].startswith("Recordatorio de pago: 1 comprobante vencido")  # level 0: default

    reset = company.run("notify", "templates", "reset", "7")
    assert reset.exit_code == 0, reset.output
    assert _stored_templates(company.url) == {}
    back = company.run("notify", "preview", invoice, "--level", "7", "-f", "json").json()
    assert back["subject"] == "Recordatorio de pago: 1 comprobante vencido"  # no company.name set
    assert company.run("notify", "templates", "show", "7", "--part", "subject").stdout == (
        templates.default_source("reminder", "subject"))


def test_edit_opens_editor_and_keeps_an_unchanged_template_unstored(company, tmp_path):
    script = tmp_path / "fake-editor.py"
    script.write_text(
        "import sys\n"
        "path = sys.argv[-1]\n"
        "text = open(path, encoding='utf-8').read()\n"
        "assert 'greeting' in text, text  # it opened the current template\n"
        "open(path, 'w', encoding='utf-8').write('{{ greeting }}\\nPague {{ total }}, por favor.\\n')\n",
        encoding="utf-8")
    editor = f"{sys.executable} {script}"
    result = company.run("notify", "templates", "edit", "0", env={"EDITOR": editor, "VISUAL": None})
    assert result.exit_code == 0, result.output
    assert _stored_templates(company.url) == {"notify.template.0.text": "{{ greeting }}\nPague {{ total }}, por favor.\n"}

    noop = tmp_path / "noop.sh"
    noop.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    noop.chmod(noop.stat().st_mode | stat.S_IXUSR)
    before = snapshot(company.url)
    same = company.run("notify", "templates", "edit", "-3", "--part", "html", env={"EDITOR": str(noop), "VISUAL": None})
    assert same.exit_code == 0, same.output
    assert "unchanged" in same.stderr
    assert snapshot(company.url) == before


@pytest.mark.parametrize(("source", "line", "words"), [
    ("{{ greeting }}\n\n{{ cliente.nombre }}\n", 3, "cliente"),
    ("{{ greeting }}\n{% if overdue %}\nvencido\n", 3, "endif"),
    ("{{ greeting }}\n{{ ''.__class__.__mro__ }}\n", 2, "__class__"),
    ("{{ greeting }}\n{{ party._secret }}\n", 2, "_secret"),
])
def test_a_bad_template_is_refused_with_its_line_and_nothing_is_stored(company, tmp_path, source, line, words):
    bad = tmp_path / "bad.j2"
    bad.write_text(source, encoding="utf-8")
    before = snapshot(company.url)
    refused = company.run("notify", "templates", "edit", "7", "--file", str(bad))
    assert refused.exit_code == 3, refused.output
    assert refused.stderr.startswith("error: ") and refused.stderr.count("\n") == 1
    assert f"line {line}" in refused.stderr and words in refused.stderr
    assert snapshot(company.url) == before


def test_a_dangerous_template_stored_behind_the_programs_back_stops_the_run_cleanly(company, smtp_server):
    make_book(company.url)
    smtp_settings(company.url, smtp_server.port, staff="")
    configure(company.url, {"notify.template.0.text": "{{ cycler.__init__.__globals__ }}"})
    result = company.run("notify", "run")
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output
    assert "__globals__" not in smtp_server.inbox.messages.__repr__()
    assert all(m.to != "pagos@ana.pe" for m in smtp_server.inbox.messages)
    ana = [r for r in outbox(company.url) if r["recipient"] == "pagos@ana.pe"]
    assert ana and {r["status"] for r in ana} == {"pending"}  # kept for the next run, once fixed
    preview = company.run("notify", "preview", "F001-102", "--level", "0")
    assert preview.exit_code == 3 and "Traceback" not in preview.output
    assert company.run("notify", "templates", "reset", "0").exit_code == 0
    assert company.run("notify", "run").exit_code == 0
    assert len(smtp_server.inbox.to("pagos@ana.pe")) == 1


def test_only_an_administrador_edits_or_resets(company, tmp_path):
    good = tmp_path / "ok.j2"
    good.write_text("{{ greeting }}", encoding="utf-8")
    for role in ("contador", "gerente"):  # each token's first use is recorded now, not below
        assert company.run("notify", "templates", "list", role=role).exit_code == 0
    before = snapshot(company.url)
    for role in ("contador", "gerente"):
        denied = company.run("notify", "templates", "edit", "7", "--file", str(good), role=role)
        assert denied.exit_code == 5 and "settings" in denied.stderr, denied.output
        assert company.run("notify", "templates", "reset", "7", role=role).exit_code == 5
        assert company.run("notify", "templates", "list", role=role).exit_code == 0
    assert snapshot(company.url) == before
    unknown_level = company.run("notify", "templates", "edit", "45", "--file", str(good))
    assert unknown_level.exit_code == 3 and "notify.levels" in unknown_level.stderr
    missing = company.run("notify", "templates", "edit", "7", "--file", str(good) + ".no")
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    huge = good.with_name("huge.j2")
    huge.write_text("x" * 500_000, encoding="utf-8")
    assert company.run("notify", "templates", "edit", "7", "--file", str(huge)).exit_code == 2
    assert snapshot(company.url) == before


def test_variables_are_documented(company):
    shown = company.run("notify", "templates", "show", "--vars", "-f", "json")
    assert shown.exit_code == 0, shown.output
    names = {row["name"] for row in shown.json()}
    assert set(templates.VARIABLES) <= names and "| long_date" in names and "| money" in names


def test_preview_is_what_notify_run_sends(company, smtp_server):
    invoice = _person_with_one_invoice(company.url)
    smtp_settings(company.url, smtp_server.port, staff=STAFF)
    for args in (["bank", "accounts", "add", "soles-bcp", "--bank", "BCP", "--currency", "PEN", "--number",
                  "193-1234567-0-12", "--cci", "00219300123456701212"],
                 ["bank", "accounts", "add", "detracciones", "--bank", "BN", "--currency", "PEN", "--number",
                  "00-012-345678", "--detracciones"]):
        assert company.run(*args).exit_code == 0
    preview = company.run("notify", "preview", invoice, "-f", "json")
    assert preview.exit_code == 0, preview.output
    shown = preview.json()
    assert shown["level"] == 7 and shown["to"] == ["jorge@huaman.pe"] and shown["cc"] == [STAFF]
    assert shown["language"] == "es"
    text = shown["text"]
    assert text.startswith("Estimado(a) Jorge Luis Huamán Torres:\n")
    assert "07/06/2026" in text and "vencido hace 8 días" in text and "S/ 2,360.00" in text
    assert "Banco de Crédito del Perú" in text and "CCI 00219300123456701212" in text
    assert "Detracciones: cuenta del Banco de la Nación 00-012-345678" in text
    assert "Adjuntamos" not in text  # no level attaches the statement by default

    human = company.run("notify", "preview", invoice)
    assert human.exit_code == 0 and shown["subject"] in human.stdout

    result = company.run("notify", "run")
    assert result.exit_code == 0, result.output
    sent = smtp_server.inbox.to("jorge@huaman.pe")
    assert len(sent) == 1
    message = sent[0]

    def same(a: str, b: str) -> bool:
        return a.replace("\r\n", "\n").rstrip("\n") == b.replace("\r\n", "\n").rstrip("\n")

    assert str(message.message["Subject"]) == shown["subject"]
    assert same(message.text(), shown["text"])
    assert same(message.html(), shown["html"])
    assert str(message.message["Cc"]) == STAFF


def test_notify_language_en_gives_the_english_defaults(company, smtp_server):
    invoice = _person_with_one_invoice(company.url)
    smtp_settings(company.url, smtp_server.port, staff="")
    assert company.run("settings", "set", "notify.language", "en").exit_code == 0
    configure(company.url, {"notify.staff_emails": STAFF})
    shown = company.run("notify", "preview", invoice, "-f", "json").json()
    assert shown["subject"] == "Payment reminder: 1 invoice overdue — EMPRESA DEMO S.A.C."
    assert shown["text"].startswith("Dear Jorge Luis Huamán Torres,\n")
    assert "8 days overdue" in shown["text"] and "Kind regards," in shown["text"]
    assert "<html lang='en'>" in shown["html"]
    assert company.run("notify", "run").exit_code == 0  # the digest and the e-mail in English too
    sent = smtp_server.inbox.to("jorge@huaman.pe")
    assert len(sent) == 1 and str(sent[0].message["Subject"]) == shown["subject"]
    digest = next(m for m in smtp_server.inbox.to(STAFF) if "Daily summary" in str(m.message["Subject"]))
    assert "To collect — overdue: 1 invoice(s)" in digest.text() and "15/06/2026" in str(digest.message["Subject"])
    # the operator's language does not change what the client reads
    spanish_operator = company.run("--lang", "es", "notify", "preview", invoice, "-f", "json").json()
    assert spanish_operator["subject"] == shown["subject"]
    assert company.run("settings", "set", "notify.language", "es").exit_code == 0
    assert company.run("--lang", "en", "notify", "preview", invoice, "-f", "json").json()["subject"].startswith(
        "Recordatorio de pago")
    assert company.run("settings", "set", "notify.language", "fr").exit_code == 3


def test_channels_setting_is_validated_and_decides_who_gets_each_level(company, smtp_server):
    book = make_book(company.url)
    smtp_settings(company.url, smtp_server.port)
    for bad in ("7:fax", "0:staff", "x:email", "7:digest,email"):
        refused = company.run("settings", "set", "notify.channels", bad)
        assert refused.exit_code == 3 and "notify.channels" in refused.stderr, refused.output
    stray = company.run("settings", "set", "notify.channels", "45:email")
    assert stray.exit_code == 0  # the syntax is right; the run names the level that does not exist
    assert company.run("notify", "run").exit_code == 3
    assert outbox(company.url) == []

    # -3: only the digest; 0: the client without the staff in copy, statement attached; 30: digest
    ok = company.run("settings", "set", "notify.channels", "--", "-3:digest;0:email,attach;30:digest")
    assert ok.exit_code == 0, ok.output
    listed = {r["level"]: r["channels"] for r in company.run("notify", "templates", "list", "-f", "json").json()}
    assert listed == {-3: "digest", 0: "email,attach", 7: "email,staff,webhook", 15: "email,staff,webhook",
                      30: "digest"}
    preview = company.run("notify", "preview", "F001-102", "-f", "json").json()
    assert preview["attach_statement"] is True and preview["cc"] == []
    assert "Adjuntamos su estado de cuenta." in preview["text"]
    planned = company.run("notify", "run", "--dry-run", "-f", "json")
    assert planned.exit_code == 0, planned.output
    flags = {(p["kind"], p["recipient"]): p["attach_statement"] for p in planned.json()}
    assert flags[("reminder", "pagos@ana.pe")] is True and flags[("reminder", STAFF)] is False

    result = company.run("notify", "run")
    assert result.exit_code == 0, result.output
    reminders = {(r["invoice_id"], r["level"], r["recipient"]) for r in outbox(company.url) if r["kind"] == "reminder"}
    assert reminders == {(book.ids["ana_today"], 0, "pagos@ana.pe"), (book.ids["proveedor"], 7, STAFF)}
    ana = smtp_server.inbox.to("pagos@ana.pe")
    assert len(ana) == 1 and ana[0].message["Cc"] is None
    assert "F001-102" in ana[0].text() and "F001-101" not in ana[0].text()
    assert smtp_server.inbox.to("tesoreria@beto.pe") == []  # level 30: the digest only
    digest = next(m for m in smtp_server.inbox.to(STAFF) if "Resumen diario" in str(m.message["Subject"]))
    assert "F002-201" in digest.text() and "F001-101" in digest.text()

    # changing the channels never sends a level twice
    assert company.run("settings", "set", "notify.channels", "").exit_code == 0
    again = company.run("notify", "run")
    assert again.exit_code == 0, again.output
    ana = smtp_server.inbox.to("pagos@ana.pe")
    assert len(ana) == 2  # now ana_soon's level -3 goes out; ana_today's level 0 is not sent again
    assert "F001-101" in ana[1].text() and "F001-102" not in ana[1].text()
    assert len(smtp_server.inbox.to("tesoreria@beto.pe")) == 1
    assert company.run("notify", "run").exit_code == 0
    assert len(smtp_server.inbox.to("pagos@ana.pe")) == 2


def test_doctor_checks_the_channels_and_the_stored_templates(company):
    from tests.test_doctor import checks

    def reminders() -> dict:
        return checks(company.run("doctor", "--offline", "--format", "json"))["reminders"]

    assert reminders()["status"] == "ok"
    configure(company.url, {"notify.template.45.text": "{{ greeting }}"})
    unused = reminders()
    assert unused["status"] == "warn" and "45" in unused["detail"] and "reset" in unused["fix"]
    configure(company.url, {"notify.template.7.subject": "{{ party.apodo }}"})
    broken = reminders()
    assert broken["status"] == "fail" and "7/subject" in broken["detail"] and "apodo" in broken["detail"]
    assert company.run("notify", "templates", "reset", "7").exit_code == 0
    assert company.run("notify", "templates", "reset", "45").exit_code == 0  # not a level any more: still resettable
    configure(company.url, {"notify.channels": "45:email"})
    assert reminders()["status"] == "fail"


def test_the_default_templates_words_are_in_the_catalog():
    """tools/catalog.py extracts {% trans %} blocks and _() calls from the .j2 files (Babel's
    Jinja2 extractor), so the Spanish catalog covers what a client reads."""
    from cuentas_cli import i18n
    from tools import catalog

    ids = {m.id for m in catalog.template() if m.id}
    for msgid in ("Payment reminder: 1 invoice overdue", "Total balance: %(total)s", "Kind regards,",
                  "Nothing overdue or coming due.", "Collection and payment reminders as of %(day)s: %(count)s invoice(s)"):
        assert msgid in ids, msgid
        assert i18n.catalog("es").gettext(msgid) != msgid
    i18n.activate("en")


def test_preview_of_a_paid_invoice_or_a_digest_level_says_so(company):
    book = make_book(company.url)
    paid = company.run("notify", "preview", "F001-103", "-f", "json")
    assert paid.exit_code == 0, paid.output
    assert any("no open balance" in note for note in paid.json()["notes"])
    assert company.run("settings", "set", "notify.channels", "30:digest").exit_code == 0
    digest_only = company.run("notify", "preview", "F002-201", "-f", "json").json()
    assert digest_only["level"] == 30 and digest_only["to"] == [] and digest_only["channels"] == "digest"
    assert company.run("notify", "preview", "F001-101", "--level", "45").exit_code == 3
    assert company.run("notify", "preview", "F999-1").exit_code == 4
    assert book.ids


def test_an_address_that_is_both_client_and_staff_gets_both_parts_in_one_message():
    from cuentas_cli.reminders.messages import render_reminder
    from cuentas_cli.reminders.policy import Policy
    from cuentas_cli.reminders.templates import Line

    policy = Policy(levels=[0, 7], staff_emails=[], webhook_url="", company="EMPRESA", smtp=None)
    lines = [Line("receivable", "F001-1", "ANA S.A.C.", date(2026, 5, 1), date(2026, 6, 8), "PEN", 1000, "6",
                  "20123456789", 7),
             Line("payable", "E001-2", "PROVEEDOR S.A.C.", date(2026, 5, 1), date(2026, 6, 15), "USD", 5000, "6",
                  "20987654321", 0)]
    subject, text, html = render_reminder(lines, policy=policy, today=TODAY, level=7)
    assert subject == "Recordatorio de pago: 1 comprobante vencido — EMPRESA"
    client, staff = text.split("\n—\n\n")
    assert client.startswith("Señores de ANA S.A.C.:") and "S/ 10.00" in client and "E001-2" not in client
    assert staff.startswith("Comprobantes por pagar a proveedores") and "PROVEEDOR S.A.C." in staff
    assert "US$ 50.00" in staff and "vence hoy" in staff
    assert html.count("<table") == 2 and "<hr>" in html and html.startswith("<!DOCTYPE html><html lang='es'>")


def test_a_hostile_party_name_is_escaped_in_the_html_part(company):
    from tests.factories import make_invoice, make_party

    with open_session(company.url, write=True) as s:
        hostile = make_party(s, name="ACME <script>alert(1)</script> & CIA S.A.C.", email="x@acme.pe")
        make_invoice(s, hostile, serie="F010", numero=1, due=TODAY)
    shown = company.run("notify", "preview", "F010-1", "-f", "json").json()
    assert "<script>" not in shown["html"] and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; CIA" in shown["html"]
    assert "Señores de ACME <script>alert(1)</script> & CIA S.A.C.:" in shown["text"]  # plain text stays literal
