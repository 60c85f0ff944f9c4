"""The reminder policy: the levels (day offsets from the due date), the staff addresses, the
webhook and the SMTP settings, read from the settings.

An invoice with a balance, not PAGADA/ANULADA, is due for level L from due_date + L on. Only
the highest level reached is enqueued, and only if the outbox holds no row of that level or a
higher one for the same invoice, channel and recipient (`outbox.enqueue`): an invoice found 90
days overdue on a first run gets one "vencida" reminder, not five (docs/reminders.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cuentas_cli.config import Config
from cuentas_cli.errors import ValidationError
from cuentas_cli.i18n import _
from cuentas_cli.rules.channels import ChannelPlan

if TYPE_CHECKING:
    from sqlmodel import Session


def level_label(level: int) -> str:
    if level < 0:
        return "próximo a vencer"
    if level == 0:
        return "vence hoy"
    return "vencida"


@dataclass
class Policy:
    levels: list[int]
    staff_emails: list[str]
    webhook_url: str
    company: str
    smtp: Any  # integrations.email.SmtpSettings
    language: str = "es"  # notify.language: what the clients read
    channels: ChannelPlan = field(default_factory=ChannelPlan)
    company_ruc: str = ""
    bank_accounts: list = field(default_factory=list)  # bank.accounts.BankAccount
    custom_templates: dict = field(default_factory=dict)  # (level, part) -> source (template_store)


def check_channels(plan: ChannelPlan, levels: list[int]) -> None:
    """notify.channels may only name levels of notify.levels."""
    stray = [level for level in plan.named_levels() if level not in levels]
    if stray:
        raise ValidationError(_("notify.channels names level {level}, which is not in notify.levels ({levels}); "
                                "fix one of the two with `cuentas settings set`")
                              .format(level=stray[0], levels=",".join(map(str, levels))))


def load_policy(session: "Session", config: Config) -> Policy:
    from cuentas_cli.integrations.email import SmtpSettings
    from cuentas_cli.admin import settings

    def get(key: str) -> Any:
        return settings.get(session, config, key)

    company = get("company.name")
    smtp = SmtpSettings(
        host=get("smtp.host"), port=get("smtp.port"), security=get("smtp.security"), user=get("smtp.user"),
        from_addr=get("smtp.from"), reply_to=get("smtp.reply_to"), company=company,
    )
    from cuentas_cli.bank.accounts import list_accounts
    from cuentas_cli.reminders import template_store

    levels = list(get("notify.levels"))
    channels = get("notify.channels")
    check_channels(channels, levels)
    return Policy(levels=levels, staff_emails=list(get("notify.staff_emails")),
                  webhook_url=get("notify.webhook_url"), company=company, smtp=smtp,
                  language=get("notify.language"), channels=channels, company_ruc=get("company.ruc"),
                  bank_accounts=list_accounts(session), custom_templates=template_store.custom(session))
