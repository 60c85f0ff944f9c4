"""Shared pieces of the reminder tests: a real SMTP server (aiosmtpd) on 127.0.0.1, settings,
and a small company with invoices at every reminder level. Imported by tests/test_notify*.py."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta

import keyring
import pytest

from cuentas_cli.db.engine import open_session

SMTP_USER = "avisos@empresa.pe"
SMTP_PASSWORD = "Sup3r-s3creto-SMTP-!"
STAFF = "cobranzas@empresa.pe"
TODAY = date(2026, 6, 15)


def free_port() -> int:
    """aiosmtpd's Controller(port=0) fails its own readiness check: pick a free port first."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage

    @property
    def to(self) -> str:
        return str(self.message["To"])

    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()


class Inbox:
    """The aiosmtpd handler: keeps every accepted message."""

    def __init__(self, delay: float = 0.0) -> None:
        self.messages: list[Received] = []
        self.logins: list[str] = []
        self._lock = threading.Lock()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 OK"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if m.to == address]

    def recipients(self) -> list[str]:
        return sorted(m.to for m in self.messages)


class Authenticator:
    def __init__(self, inbox: Inbox, user: str = SMTP_USER, password: str = SMTP_PASSWORD) -> None:
        self.inbox, self.user, self.password = inbox, user, password

    def __call__(self, server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN204
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == self.user.encode()
              and auth_data.password == self.password.encode())
        if ok:
            self.inbox.logins.append(self.user)
        return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    port: int
    inbox: Inbox = field(default_factory=Inbox)
    tls_context: object = None
    _controller: object = None

    def start(self) -> "SmtpServer":
        from aiosmtpd.controller import Controller

        kwargs = {"authenticator": Authenticator(self.inbox), "auth_require_tls": self.tls_context is not None}
        if self.tls_context is not None:
            kwargs.update(tls_context=self.tls_context, require_starttls=True)
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_server():
    server = SmtpServer(free_port()).start()
    yield server
    server.stop()


def configure(url: str, values: dict[str, str]) -> None:
    """Team settings straight into the database, as `cuentas settings set` stores them."""
    from cuentas_cli.db.models import Setting

    with open_session(url, write=True) as s:
        for key, value in values.items():
            row = s.get(Setting, key)
            if row is None:
                s.add(Setting(key=key, value=value))
            else:
                row.value = value
                s.add(row)


def smtp_settings(url: str, port: int, *, security: str = "none", staff: str = STAFF,
                  extra: dict[str, str] | None = None) -> None:
    configure(url, {
        "smtp.host": "127.0.0.1", "smtp.port": str(port), "smtp.security": security, "smtp.user": SMTP_USER,
        "smtp.from": "avisos@empresa.pe", "smtp.reply_to": "cobranzas@empresa.pe",
        "company.name": "EMPRESA DEMO S.A.C.", "notify.staff_emails": staff, **(extra or {}),
    })
    keyring.set_password("cuentas", "smtp-password", SMTP_PASSWORD)


@dataclass
class Book:
    """Ids of the invoices made by `make_book`."""

    ids: dict[str, int]
    emails: dict[str, str]


def _voided(session, invoice) -> int:  # noqa: ANN001
    invoice.status = "ANULADA"
    session.add(invoice)
    session.flush()
    return invoice.id


def make_book(url: str) -> Book:
    """Clients and a supplier with invoices at the interesting distances from TODAY (2026-06-15)."""
    from tests.factories import make_invoice, make_party

    with open_session(url, write=True) as s:
        ana = make_party(s, name="ANA COMERCIAL S.A.C.", email="pagos@ana.pe")
        beto = make_party(s, name="BETO INVERSIONES S.A.", email="tesoreria@beto.pe")
        sin_correo = make_party(s, name="SIN CORREO E.I.R.L.")
        proveedor = make_party(s, kind="supplier", name="PROVEEDOR UNO S.A.C.", email="ventas@proveedor.pe")
        ids = {
            # due in 3 days: level -3 ("próximo a vencer")
            "ana_soon": make_invoice(s, ana, serie="F001", numero=101, due=TODAY + timedelta(days=3)).id,
            # due today: level 0
            "ana_today": make_invoice(s, ana, serie="F001", numero=102, due=TODAY, total="590.00").id,
            # paid: never reminded
            "ana_paid": make_invoice(s, ana, serie="F001", numero=103, due=TODAY, paid="1180.00").id,
            # 45 days overdue: levels 0, 7, 15 and 30 reached, only 30 is sent
            "beto_old": make_invoice(s, beto, serie="F002", numero=201, issued=date(2026, 4, 1),
                                     due=TODAY - timedelta(days=45), currency="USD", rate_e4=37500).id,
            # voided
            "beto_void": _voided(s, make_invoice(s, beto, serie="F002", numero=202, due=TODAY - timedelta(days=10))),
            # not due for any level yet
            "beto_later": make_invoice(s, beto, serie="F002", numero=203, due=TODAY + timedelta(days=20)).id,
            # a client without e-mail: only the digest mentions it
            "sin_correo": make_invoice(s, sin_correo, serie="F003", numero=301, due=TODAY - timedelta(days=8)).id,
            # a payable 8 days overdue: level 7, to staff only
            "proveedor": make_invoice(s, proveedor, serie="E001", numero=401, issued=date(2026, 5, 1),
                                      due=TODAY - timedelta(days=8)).id,
        }
    return Book(ids, {"ana": "pagos@ana.pe", "beto": "tesoreria@beto.pe", "proveedor": "ventas@proveedor.pe"})


def outbox(url: str) -> list[dict]:
    from sqlalchemy import text

    with open_session(url) as s:
        rows = s.execute(text("SELECT id, kind, invoice_id, digest_date, level, channel, recipient, status, attempts, "
                              "last_error, next_attempt_at, sent_at FROM notification ORDER BY id")).mappings().all()
    return [dict(r) for r in rows]


def pay_in_full(url: str, invoice_id: int) -> None:
    from cuentas_cli.db.models import Invoice, Payment

    with open_session(url, write=True) as s:
        invoice = s.get(Invoice, invoice_id)
        balance = invoice.total_cents + invoice.adjust_cents - invoice.paid_cents
        s.add(Payment(invoice_id=invoice_id, paid_on=TODAY, amount_cents=balance))
        invoice.paid_cents += balance
        invoice.status = "PAGADA"
        s.add(invoice)


def backoff_elapsed(url: str) -> None:
    """Let time pass: every failed row's next attempt is now due."""
    from datetime import datetime, timezone

    from sqlalchemy import update

    from cuentas_cli.db.models import Notification

    table = Notification.__table__
    with open_session(url, write=True) as s:
        s.execute(update(table).where(table.c.status == "failed")
                  .values(next_attempt_at=datetime(2000, 1, 1, tzinfo=timezone.utc)))
