"""Secrets in the OS keyring (service "cuentas"): login sessions and provider/SMTP secrets.

On a headless machine keyring raises NoKeyringError rather than returning None; that is
turned into one message that names the alternatives.
"""

from __future__ import annotations

from cuentas_cli.errors import CuentasError, ExitCode
from cuentas_cli.i18n import _

SERVICE = "cuentas"


class KeyringUnavailable(CuentasError):
    exit_code = ExitCode.EXTERNAL


def _call(fn_name: str, *args: str) -> str | None:
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        return getattr(keyring, fn_name)(*args)
    except PasswordDeleteError:
        return None
    except KeyringError:
        # One terminal line; `cuentas doctor` names the backend and its error.
        raise KeyringUnavailable(_("no usable OS keyring: use CUENTAS_TOKEN or login --session-file PATH")) from None
    except RuntimeError as exc:  # some backends raise plain RuntimeError when locked or absent
        raise KeyringUnavailable(_("the OS keyring failed: {exc}").format(exc=str(exc)[:60])) from None


# The secrets each company of a firm keeps for itself (its SMTP, its webhook); the lookup token
# is the firm's. The scope is the active company's RUC (runtime.Runtime sets it); None for the
# firm database's own books, whose entries keep their plain names.
COMPANY_SECRETS = frozenset({"smtp-password", "webhook-token"})
_scope: str | None = None


def set_scope(company_ruc: str | None) -> None:
    global _scope
    _scope = company_ruc


def scoped(name: str) -> str:
    """The keyring entry of a secret in the active company: `smtp-password@RUC` for a company of a
    firm other than its own books, the plain name otherwise."""
    return f"{name}@{_scope}" if _scope and name in COMPANY_SECRETS else name


def get_secret(name: str) -> str | None:
    return _call("get_password", SERVICE, scoped(name))


def set_secret(name: str, value: str) -> None:
    _call("set_password", SERVICE, scoped(name), value)


def delete_secret(name: str) -> None:
    _call("delete_password", SERVICE, scoped(name))


def backend_name() -> str:
    import keyring

    backend = keyring.get_keyring()
    return f"{type(backend).__module__}.{type(backend).__name__}"


def session_key(database_url: str) -> str:
    """The keyring entry for the login session of one database."""
    from cuentas_cli.rules.urls import redact

    return f"session:{redact(database_url)}"
