"""The offline provider: answers from a static fixture (apis.net.pe v2 shapes) for development,
demos and tests; no network."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from cuentas_cli.integrations.lookup.base import (
    TOKEN_HINT,
    LookupNotFound,
    MalformedAnswer,
    PartyInfo,
    Provider,
    RateInfo,
    parse_apisnet_dni,
    parse_apisnet_ruc,
    parse_rate,
)
from cuentas_cli.i18n import _

OFFLINE_DATA = Path(__file__).resolve().parents[2] / "data" / "offline_lookup.json"


# --- offline -----------------------------------------------------------------------------------


class Offline(Provider):
    """Answers from a static fixture (apis.net.pe v2 shapes) for development and demos.

    The data are fictitious except SUNAT's own RUC; see docs/parties.md.
    """

    name = "offline"

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path or OFFLINE_DATA)
        try:
            self._data = json.loads(self.path.read_text(encoding="utf-8"), parse_float=Decimal)
        except (OSError, ValueError) as exc:
            raise MalformedAnswer(_("offline lookup data {path} is unreadable: {exc}")
                                  .format(path=self.path, exc=exc)) from None

    def _missing(self, subject: str) -> LookupNotFound:
        return LookupNotFound(
            _("{subject} is not in the offline lookup data; for real lookups run `cuentas settings set "
              "lookup.provider apisnet` and {TOKEN_HINT}")
            .format(subject=subject, TOKEN_HINT=TOKEN_HINT)
        )

    def lookup_ruc(self, ruc: str) -> PartyInfo:
        data = self._data.get("ruc", {}).get(ruc)
        if data is None:
            raise self._missing(f"RUC {ruc}")
        return parse_apisnet_ruc(data, ruc, source=self)

    def lookup_dni(self, dni: str) -> PartyInfo:
        data = self._data.get("dni", {}).get(dni)
        if data is None:
            raise self._missing(f"DNI {dni}")
        return parse_apisnet_dni(data, dni, source=self)

    def exchange_rate(self, on: date, currency: str = "USD") -> RateInfo:
        data = self._data.get("tipo_cambio", {}).get(on.isoformat())
        if data is None or currency != "USD":
            raise self._missing(f"the {currency} exchange rate of {on.isoformat()}")
        return parse_rate(data, on, currency, source=self,
                          sell_keys=("venta", "precioVenta"), buy_keys=("compra", "precioCompra"),
                          date_keys=("fecha", "date"))
