"""E-mail over SMTP (smtplib): verified TLS, a password from the keyring; what a reminder says is
rendered from templates (reminders/templates.py).

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

import os
import smtplib
import ssl
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from cuentas_cli.errors import ValidationError
from cuentas_cli.i18n import _

PASSWORD_SECRET = "smtp-password"
PASSWORD_FILE_ENV = "CUENTAS_SMTP_PASSWORD_FILE"
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
DEFAULT_TIMEOUT_S = 30.0


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
