"""E-mail over SMTP (smtplib): verified TLS, a password from the keyring, Spanish templates.

Security rules, each a trap seen before (design.md):
- TLS always uses `ssl.create_default_context()`, which verifies the certificate chain and the
  host name. `starttls()` without a context does not verify anything.
- `set_debuglevel` is never called: at level 1 smtplib prints the AUTH line, i.e. the password
  in base64.
- The password is read from the OS keyring (`cuentas settings secret set smtp-password`) only
  when logging in; where no keyring works (cron on a headless server) from the file named by
  CUENTAS_SMTP_PASSWORD_FILE, which must be mode 0600. It is never logged, printed or stored.
- With `smtp.security none` the password is sent only to a loopback host (a local relay).
"""

from __future__ import annotations

import html
import os
import smtplib
import ssl
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from cuentas_cli.errors import ValidationError
from cuentas_cli.i18n import _

PASSWORD_SECRET = "smtp-password"
PASSWORD_FILE_ENV = "CUENTAS_SMTP_PASSWORD_FILE"
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
DEFAULT_TIMEOUT_S = 30.0
MAX_LINES = 300  # invoices listed in one message; the rest are summarised in one line


class SmtpUnavailable(Exception):
    """The server cannot be used at all (down, TLS refused, login refused): every message fails."""


class SendRefused(Exception):
    """The server refused this one message (recipient, sender or content)."""


# --- secrets ---------------------------------------------------------------------------


def read_secret(name: str, file_env: str) -> str | None:
    """A secret from the OS keyring; else from the 0600 file named by `file_env`; else None."""
    from cuentas_cli.integrations import keyring_store

    try:
        value = keyring_store.get_secret(name)
    except keyring_store.KeyringUnavailable:
        value = None
    if value:
        return value
    path_text = os.environ.get(file_env)
    if not path_text:
        return None
    path = Path(path_text).expanduser()
    if not path.exists():
        raise ValidationError(_("{file_env} names {path}, which does not exist")
                              .format(file_env=file_env, path=path))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ValidationError(_("{file_env}: {path} has mode {mode:o}; it must be 0600 (chmod 600 {path})")
                              .format(file_env=file_env, path=path, mode=mode))
    return path.read_text(encoding="utf-8").rstrip("\r\n") or None


# --- settings and connection -------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls | ssl | none
    user: str
    from_addr: str
    reply_to: str
    company: str = ""
    timeout: float = DEFAULT_TIMEOUT_S

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def check(self) -> None:
        """Refuse a configuration that cannot or must not be used, naming the fix."""
        if not self.host:
            raise ValidationError(_("smtp.host is not set: `cuentas settings set smtp.host "
                                    "smtp.empresa.pe`"))
        if not self.from_addr:
            raise ValidationError(_("smtp.from is not set: `cuentas settings set smtp.from "
                                    "cobranzas@empresa.pe`"))
        if self.user and self.security == "none" and self.host.lower() not in LOOPBACK_HOSTS:
            raise ValidationError(
                _("smtp.security is none: refusing to send the SMTP password unencrypted to {host}; use "
                  "`cuentas settings set smtp.security starttls` (or ssl)")
                .format(host=self.host)
            )


def tls_context() -> ssl.SSLContext:
    """The only TLS context used: verifies the certificate chain and the host name."""
    context = ssl.create_default_context()
    # create_default_context already sets these; stated so a reader (and a test) can see it.
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def _reason(exc: BaseException) -> str:
    """One line about a failure, without anything the client sent (so never a password)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {' '.join(text.split())}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = []
        for address, (code, message) in exc.recipients.items():
            text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
            parts.append(f"{address}: {code} {' '.join(text.split())}")
        return "recipients refused: " + "; ".join(parts)
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class SmtpConnection:
    """One SMTP session for a run: `with SmtpConnection(settings) as smtp: smtp.send(msg)`."""

    def __init__(self, settings: SmtpSettings, *, password: Callable[[], str | None] | None = None) -> None:
        self.settings = settings
        self._password = password or (lambda: read_secret(PASSWORD_SECRET, PASSWORD_FILE_ENV))
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "SmtpConnection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        s = self.settings
        s.check()
        password = None
        if s.user:
            password = self._password()
            if not password:
                raise ValidationError(
                    _("no SMTP password: run `cuentas settings secret set smtp-password` (or, where no "
                      "keyring works, put it in a 0600 file and set {PASSWORD_FILE_ENV} to its path)")
                    .format(PASSWORD_FILE_ENV=PASSWORD_FILE_ENV)
                )
        try:
            if s.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=tls_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            try:
                smtp.ehlo()
                if s.security == "starttls":
                    smtp.starttls(context=tls_context())
                    smtp.ehlo()
                if s.user:
                    smtp.login(s.user, password)
            except BaseException:
                _quietly_close(smtp)
                raise
        except smtplib.SMTPAuthenticationError as exc:
            raise SmtpUnavailable(f"SMTP {s.where} refused the login of {s.user}: {_reason(exc)}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise SmtpUnavailable(f"SMTP {s.where}: {_reason(exc)} (check smtp.security)") from None
        except ssl.SSLError as exc:
            raise SmtpUnavailable(f"SMTP {s.where}: TLS failed: {_reason(exc)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SmtpUnavailable(f"SMTP {s.where}: {_reason(exc)}") from None
        self._smtp = smtp

    def send(self, message: EmailMessage) -> None:
        """Hand one message to the server; SendRefused or SmtpUnavailable on failure."""
        if self._smtp is None:
            self.connect()
        assert self._smtp is not None
        try:
            refused = self._smtp.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise SendRefused(f"SMTP {self.settings.where}: {_reason(exc)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise SmtpUnavailable(f"SMTP {self.settings.where}: {_reason(exc)}") from None
        # `refused` lists recipients (e.g. a CC) the server refused while accepting others:
        # the message went out, so it counts as sent.
        del refused

    def _drop(self) -> None:
        if self._smtp is not None:
            _quietly_close(self._smtp)
            self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            finally:
                self._drop()


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except OSError:
        pass


# --- messages ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message (a statement's PDF): its name, MIME type and bytes."""

    filename: str
    content: bytes
    mime_type: str = "application/pdf"


def build_message(settings: SmtpSettings, *, to: Iterable[str], subject: str, text: str, html_body: str,
                  cc: Iterable[str] = (), attachments: Iterable[Attachment] = ()) -> EmailMessage:
    """A multipart/alternative message (plain text and HTML) with From, Reply-To, To and Cc; with
    attachments, multipart/mixed: the alternative part first, then each file."""
    message = EmailMessage()
    sender = settings.from_addr
    if settings.company:
        from email.headerregistry import Address

        local, _, domain = sender.partition("@")
        message["From"] = Address(display_name=settings.company, username=local, domain=domain)
    else:
        message["From"] = sender
    if settings.reply_to:
        message["Reply-To"] = settings.reply_to
    message["To"] = ", ".join(to)
    cc = [c for c in cc if c]
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.partition("@")[2] or None)
    message.set_content(text, charset="utf-8")
    message.add_alternative(html_body, subtype="html", charset="utf-8")
    for item in attachments:
        maintype, _slash, subtype = item.mime_type.partition("/")
        message.add_attachment(item.content, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=item.filename)
    return message


CURRENCY_SIGNS = {"PEN": "S/", "USD": "US$"}


def money(cents: int, currency: str) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{CURRENCY_SIGNS.get(currency, currency)} {cents // 100:,}.{cents % 100:02d}"


@dataclass(frozen=True)
class Line:
    """One invoice in a message."""

    direction: str  # receivable | payable
    document: str  # F001-123
    party: str
    issue_date: date
    due_date: date
    currency: str
    balance_cents: int

    def situation(self, today: date) -> str:
        days = (self.due_date - today).days
        if days > 1:
            return f"vence en {days} días"
        if days == 1:
            return "vence mañana"
        if days == 0:
            return "vence hoy"
        return "vencido hace 1 día" if days == -1 else f"vencido hace {-days} días"


def totals(lines: Iterable[Line]) -> str:
    sums: dict[str, int] = {}
    for line in lines:
        sums[line.currency] = sums.get(line.currency, 0) + line.balance_cents
    return "; ".join(money(sums[c], c) for c in sorted(sums, key=lambda c: (c != "PEN", c))) or "—"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _severity(lines: list[Line], today: date) -> str:
    if any(line.due_date < today for line in lines):
        return "vencidos" if len(lines) > 1 else "vencido"
    if any(line.due_date == today for line in lines):
        return "que vencen hoy" if len(lines) > 1 else "que vence hoy"
    return "por vencer"


def _text_table(lines: list[Line], today: date, *, with_party: bool) -> list[str]:
    out = []
    for line in lines[:MAX_LINES]:
        party = f"{line.party[:40]:40}  " if with_party else ""
        out.append(f"  {party}{line.document:16} emitido {line.issue_date.isoformat()}  vence {line.due_date.isoformat()}  "
                   f"{line.situation(today):22} saldo {money(line.balance_cents, line.currency)}")
    if len(lines) > MAX_LINES:
        out.append(f"  … y {len(lines) - MAX_LINES} comprobantes más (ver `cuentas invoices list`)")
    return out


def _html_table(lines: list[Line], today: date, *, with_party: bool) -> str:
    e = html.escape
    head = ("<th align='left'>Proveedor</th>" if with_party else "") + (
        "<th align='left'>Comprobante</th><th>Emisión</th><th>Vencimiento</th><th align='left'>Situación</th>"
        "<th>Moneda</th><th align='right'>Saldo</th>")
    rows = []
    for line in lines[:MAX_LINES]:
        party = f"<td>{e(line.party)}</td>" if with_party else ""
        rows.append(
            f"<tr>{party}<td>{e(line.document)}</td><td>{line.issue_date.isoformat()}</td>"
            f"<td>{line.due_date.isoformat()}</td><td>{e(line.situation(today))}</td><td>{e(line.currency)}</td>"
            f"<td align='right'>{e(money(line.balance_cents, line.currency))}</td></tr>")
    more = (f"<p>… y {len(lines) - MAX_LINES} comprobantes más.</p>" if len(lines) > MAX_LINES else "")
    return (f"<table border='1' cellpadding='4' cellspacing='0' style='border-collapse:collapse'>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}")


def reminder_email(*, company: str, today: date, lines: list[Line]) -> tuple[str, str, str]:
    """(subject, text, html) of one reminder: a client's receivables and/or staff's payables."""
    e = html.escape
    company_name = company or "nuestra empresa"
    receivable = [line for line in lines if line.direction == "receivable"]
    payable = [line for line in lines if line.direction == "payable"]
    text_parts: list[str] = []
    html_parts: list[str] = []
    if receivable:
        parties = sorted({line.party for line in receivable})
        greeting = f"Estimados señores de {parties[0]}:" if len(parties) == 1 else "Estimado cliente:"
        text_parts += [
            greeting, "",
            f"Le recordamos el estado de los siguientes comprobantes emitidos por {company_name}:", "",
            *_text_table(receivable, today, with_party=False), "",
            f"Saldo total: {totals(receivable)}", "",
            "Si ya realizó el pago, le agradeceremos responder a este correo con la constancia; "
            "en ese caso, por favor ignore este recordatorio.", "",
            "Atentamente,", company_name,
        ]
        html_parts.append(
            f"<p>{e(greeting)}</p><p>Le recordamos el estado de los siguientes comprobantes emitidos por "
            f"{e(company_name)}:</p>{_html_table(receivable, today, with_party=False)}"
            f"<p><b>Saldo total:</b> {e(totals(receivable))}</p>"
            "<p>Si ya realizó el pago, le agradeceremos responder a este correo con la constancia; en ese caso, "
            f"por favor ignore este recordatorio.</p><p>Atentamente,<br>{e(company_name)}</p>")
    if payable:
        if text_parts:
            text_parts += ["", "—", ""]
        text_parts += [
            "Comprobantes por pagar a proveedores que requieren atención:", "",
            *_text_table(payable, today, with_party=True), "",
            f"Saldo total por pagar: {totals(payable)}",
        ]
        html_parts.append(
            "<p>Comprobantes por pagar a proveedores que requieren atención:</p>"
            f"{_html_table(payable, today, with_party=True)}<p><b>Saldo total por pagar:</b> {e(totals(payable))}</p>")
    n = len(lines)
    if receivable:
        subject = f"Recordatorio de pago: {_plural(n, 'comprobante', 'comprobantes')} {_severity(lines, today)}"
        if company:
            subject += f" — {company}"
    else:
        subject = f"Cuentas por pagar: {_plural(n, 'comprobante', 'comprobantes')} {_severity(lines, today)}"
    text = "\n".join(text_parts) + "\n"
    html_body = ("<!DOCTYPE html><html lang='es'><head><meta charset='utf-8'></head><body style='font-family:sans-serif'>"
                 + "<hr>".join(html_parts) + "</body></html>")
    return subject, text, html_body


@dataclass
class DigestSection:
    title: str
    lines: list[Line] = field(default_factory=list)
    count: int = 0
    totals: dict[str, int] = field(default_factory=dict)

    def totals_text(self) -> str:
        return "; ".join(money(self.totals[c], c) for c in sorted(self.totals, key=lambda c: (c != "PEN", c))) or "—"


def digest_email(*, company: str, today: date, sections: list[DigestSection]) -> tuple[str, str, str]:
    """(subject, text, html) of the daily staff digest."""
    e = html.escape
    subject = f"Resumen diario de cobranzas y pagos {today.isoformat()}" + (f" — {company}" if company else "")
    text_parts = [f"Resumen al {today.isoformat()}", ""]
    html_parts = [f"<h2>Resumen al {today.isoformat()}</h2>"]
    for section in sections:
        text_parts.append(f"{section.title}: {section.count} comprobante(s), saldo {section.totals_text()}")
        html_parts.append(f"<h3>{e(section.title)}</h3><p>{section.count} comprobante(s), saldo "
                          f"{e(section.totals_text())}</p>")
        if section.lines:
            text_parts += _text_table(section.lines, today, with_party=True)
            html_parts.append(_html_table(section.lines, today, with_party=True))
            if section.count > len(section.lines):
                text_parts.append(f"  … y {section.count - len(section.lines)} más")
                html_parts.append(f"<p>… y {section.count - len(section.lines)} más.</p>")
        text_parts.append("")
    if not any(section.count for section in sections):
        text_parts.append("Nada vencido ni por vencer.")
        html_parts.append("<p>Nada vencido ni por vencer.</p>")
    text = "\n".join(text_parts) + "\n"
    html_body = ("<!DOCTYPE html><html lang='es'><head><meta charset='utf-8'></head><body style='font-family:sans-serif'>"
                 + "".join(html_parts) + "</body></html>")
    return subject, text, html_body


def sample_email(*, company: str) -> tuple[str, str, str]:
    subject = "Prueba de correo de cuentas" + (f" — {company}" if company else "")
    text = ("Este es un correo de prueba enviado por `cuentas notify test-email`.\n"
            "Si lo recibe, la configuración SMTP de los recordatorios funciona.\n")
    html_body = ("<!DOCTYPE html><html lang='es'><head><meta charset='utf-8'></head><body>"
                 "<p>Este es un correo de prueba enviado por <code>cuentas notify test-email</code>.</p>"
                 "<p>Si lo recibe, la configuración SMTP de los recordatorios funciona.</p></body></html>")
    return subject, text, html_body
