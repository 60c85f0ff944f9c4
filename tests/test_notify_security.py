"""The SMTP password stays secret and TLS really verifies the server."""

from __future__ import annotations

import base64
import ipaddress
import logging
import smtplib
import ssl
from datetime import datetime, timedelta, timezone

import keyring
from sqlalchemy import inspect, text

from cuentas_cli.db.engine import get_engine
from cuentas_cli.integrations import email as email_integration
from tests.test_notify_support import (
    SMTP_PASSWORD,
    SMTP_USER,
    SmtpServer,
    backoff_elapsed,
    configure,
    free_port,
    make_book,
    outbox,
    smtp_server,  # noqa: F401 - fixture
    smtp_settings,
)


def _database_text(url: str) -> str:
    """Every row of every table as text."""
    engine = get_engine(url)
    parts = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            parts += [repr(tuple(row)) for row in conn.execute(text(f'SELECT * FROM "{table}"'))]
    return "\n".join(parts)


def _forms(secret: str) -> list[str]:
    """The password as it could leak: plain, and base64 as AUTH PLAIN / LOGIN carry it."""
    return [
        secret,
        base64.b64encode(secret.encode()).decode(),
        base64.b64encode(f"\0{SMTP_USER}\0{secret}".encode()).decode(),
    ]


def test_the_smtp_password_appears_in_no_output_log_or_database_row(company, smtp_server, monkeypatch, caplog):
    def no_debug(self, level):  # noqa: ANN001
        raise AssertionError("set_debuglevel would print the AUTH line with the password")

    monkeypatch.setattr(smtplib.SMTP, "set_debuglevel", no_debug)
    caplog.set_level(logging.DEBUG)
    make_book(company.url)
    smtp_settings(company.url, smtp_server.port)
    outputs = []

    ok = company.run("notify", "run")
    assert ok.exit_code == 0, ok.output
    assert smtp_server.inbox.logins == [SMTP_USER]  # it did log in with the password
    outputs.append(ok.output)

    wrong = "una-clave-equivocada-99"
    keyring.set_password("cuentas", "smtp-password", wrong)
    with_wrong = company.run("notify", "test-email", "yo@empresa.pe")
    assert with_wrong.exit_code == 7
    assert "refused the login" in with_wrong.stderr
    outputs.append(with_wrong.output)
    later = company.run("notify", "run", env={"CUENTAS_TODAY": "2026-06-18"})
    assert later.exit_code == 7
    outputs.append(later.output)
    assert any("refused the login" in (r["last_error"] or "") for r in outbox(company.url))
    for args in (("notify", "list", "-f", "json"), ("settings", "show", "-f", "json"), ("audit", "list", "-f", "json"),
                 ("notify", "run", "--dry-run", "-f", "json")):
        result = company.run(*args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)

    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    haystacks = {"output": "\n".join(outputs), "log": ours, "database": _database_text(company.url)}
    for secret in (SMTP_PASSWORD, wrong):
        for form in _forms(secret):
            for where, haystack in haystacks.items():
                assert form not in haystack, f"the SMTP password leaked into the {where}"


def test_the_tls_context_verifies_certificates_and_host_names():
    context = email_integration.tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


def test_no_password_goes_unencrypted_to_a_remote_host(company):
    make_book(company.url)
    configure(company.url, {"smtp.host": "smtp.example.test", "smtp.security": "none", "smtp.user": SMTP_USER,
                            "smtp.from": "avisos@empresa.pe"})
    keyring.set_password("cuentas", "smtp-password", SMTP_PASSWORD)
    result = company.run("notify", "run")
    assert result.exit_code == 3
    assert "refusing to send the SMTP password unencrypted to smtp.example.test" in result.stderr
    assert {r["status"] for r in outbox(company.url)} == {"pending"}


# --- STARTTLS against a server whose certificate the client does or does not trust ---------


def _certificates(tmp_path):  # noqa: ANN001, ANN202
    from cryptography import x509  # a test dependency: the TLS check must never be skipped
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cuentas test CA")])
    usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False,
                 encipher_only=False, decipher_only=False)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
          .not_valid_after(now + timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, **usage), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key"
    ca_file.write_bytes(ca.public_bytes(pem))
    cert_file.write_bytes(cert.public_bytes(pem))
    key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    return ca_file, server_context


def test_starttls_rejects_an_untrusted_certificate_and_accepts_a_trusted_one(company, tmp_path, monkeypatch):
    ca_file, server_context = _certificates(tmp_path)
    server = SmtpServer(free_port(), tls_context=server_context).start()
    try:
        make_book(company.url)
        smtp_settings(company.url, server.port, security="starttls")
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        rejected = company.run("notify", "run")
        assert rejected.exit_code == 7, rejected.output
        errors = {r["last_error"] for r in outbox(company.url)}
        assert len(errors) == 1 and "certificate verify failed" in errors.pop().lower()
        assert server.inbox.messages == [] and server.inbox.logins == []  # no password went to that server

        # the same server, its CA now trusted (as a company CA would be): the mail goes out over TLS
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
        backoff_elapsed(company.url)
        accepted = company.run("notify", "run")
        assert accepted.exit_code == 0, accepted.output
        assert len(server.inbox.messages) == 4 and server.inbox.logins == [SMTP_USER]
    finally:
        server.stop()


def test_password_file_where_no_keyring_works(company, smtp_server, monkeypatch, tmp_path):
    from keyring.backends import fail

    make_book(company.url)
    smtp_settings(company.url, smtp_server.port)
    keyring.set_keyring(fail.Keyring())
    missing = company.run("notify", "run")
    assert missing.exit_code == 3
    assert "smtp-password" in missing.stderr and "CUENTAS_SMTP_PASSWORD_FILE" in missing.stderr

    secret = tmp_path / "smtp-password"
    secret.write_text(SMTP_PASSWORD + "\n")
    secret.chmod(0o644)
    monkeypatch.setenv("CUENTAS_SMTP_PASSWORD_FILE", str(secret))
    loose = company.run("notify", "run")
    assert loose.exit_code == 3 and "must be 0600" in loose.stderr
    secret.chmod(0o600)
    ok = company.run("notify", "run")
    assert ok.exit_code == 0, ok.output
    assert smtp_server.inbox.logins == [SMTP_USER] and len(smtp_server.inbox.messages) == 4
