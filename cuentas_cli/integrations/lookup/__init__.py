"""RUC/DNI/exchange-rate lookup providers behind one small interface.

Each adapter turns one provider's URLs and field names into `PartyInfo` / `RateInfo`;
nothing else in cuentas knows a provider's field names. The HTTP adapters retry up to three
times with exponential backoff on 429, 5xx, timeouts and connection errors, and map the
provider's answers to domain errors (peru-reference.md, "Public lookup services"):

    401/403          -> TokenInvalid        (exit 7, names `cuentas settings secret set lookup-token`)
    404/422, error   -> LookupNotFound      (exit 4)
    429              -> RateLimited         (exit 7, after the retries)
    5xx, timeout     -> ProviderUnavailable (exit 7, after the retries)
    not JSON / shape -> MalformedAnswer     (exit 7)

Amounts in answers are parsed with `parse_float=Decimal`, so a rate never passes through float.

The package's interface is this module: `base` (answers, failures, the Provider interface,
shared parsers), `http` (the HTTP adapters), `offline` (the fixture provider).
"""

from __future__ import annotations

from typing import Any

from cuentas_cli.integrations.lookup.base import (  # noqa: F401 - the package's interface
    TOKEN_HINT,
    LookupFailed,
    LookupNotFound,
    MalformedAnswer,
    PartyInfo,
    Provider,
    ProviderUnavailable,
    RateInfo,
    RateLimited,
    TokenInvalid,
    TokenMissing,
    doc_word,
    parse_apisnet_dni,
    parse_apisnet_ruc,
    parse_rate,
)
from cuentas_cli.integrations.lookup.http import ApisNetV2, Decolecta, HttpProvider  # noqa: F401
from cuentas_cli.integrations.lookup.offline import OFFLINE_DATA, Offline  # noqa: F401
from cuentas_cli.i18n import _

# --- choosing one ----------------------------------------------------------------------------------

PROVIDERS: dict[str, type[Provider]] = {"apisnet": ApisNetV2, "decolecta": Decolecta, "offline": Offline}


def make_provider(name: str, *, base_url: str | None = None, token: str | None = None, timeout_s: float = 10.0,
                  transport: Any = None, backoff_s: float | None = None) -> Provider:
    """The provider called `name`; HTTP ones need a token."""
    if name == "offline":
        return Offline()
    try:
        cls = PROVIDERS[name]
    except KeyError:
        raise LookupFailed(_("unknown lookup provider {name!r}; use one of {join_providers}")
                           .format(name=name, join_providers=', '.join(PROVIDERS))) from None
    return cls(base_url=base_url, token=token, timeout_s=timeout_s, transport=transport, backoff_s=backoff_s)  # type: ignore[call-arg]
