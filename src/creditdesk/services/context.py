"""Who is acting, the clock, and new ids: the small things every use case needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from ulid import ULID


@dataclass(frozen=True)
class Actor:
    """The authenticated caller: every query is scoped by ``partner_id`` (P4)."""

    partner_id: str
    name: str  # shown in audit trails and on applications: "user:ana@x.com", "api_key:ak_…"
    role: str = "admin"


class Clock:
    """The time source of the service layer; tests replace ``now``."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()


clock = Clock()


def new_id(prefix: str) -> str:
    """A time-ordered opaque id such as ``cm_01JD3…``: sorting by id is sorting by creation."""
    return f"{prefix}_{str(ULID()).lower()}"
