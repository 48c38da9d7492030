"""Who is acting, the clock, and new ids: the small things every use case needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import ulid

from creditdesk.domain import errors


@dataclass(frozen=True)
class Actor:
    """The authenticated caller: every query is scoped by ``partner_id`` (P4)."""

    partner_id: str
    name: str  # shown in audit trails and on applications: "user:ana@x.com", "api_key:ak_…"
    role: str = "admin"
    user_id: str | None = None  # a signed-in dashboard user (None: an API key, a job)

    @classmethod
    def customer(cls, partner_id: str, customer_id: str) -> Actor:
        """A customer acting in its portal, as the audit trail and its applications name it
        (``customer:<id>``: signing in, applying its credit, P5)."""
        return cls(partner_id, f"customer:{customer_id}", role="customer")


class Clock:
    """The time source of the service layer; tests replace ``now``."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()


clock = Clock()


# Crockford's base32, lower case, two characters (10 bits) at a time: ``str(ULID())`` encodes
# one character at a time in Python, half of what a new id cost (a first sync makes 300,000).
_PAIRS = [a + b for a in "0123456789abcdefghjkmnpqrstvwxyz"
          for b in "0123456789abcdefghjkmnpqrstvwxyz"]


def new_id(prefix: str) -> str:
    """A time-ordered opaque id such as ``cm_01jd3…``: sorting by id is sorting by creation
    (python-ulid's generator: monotonic within a millisecond)."""
    v, p = int.from_bytes(ulid.default_generator.generate().bytes, "big"), _PAIRS
    return (f"{prefix}_{p[v >> 120]}{p[v >> 110 & 1023]}{p[v >> 100 & 1023]}"
            f"{p[v >> 90 & 1023]}{p[v >> 80 & 1023]}{p[v >> 70 & 1023]}{p[v >> 60 & 1023]}"
            f"{p[v >> 50 & 1023]}{p[v >> 40 & 1023]}{p[v >> 30 & 1023]}{p[v >> 20 & 1023]}"
            f"{p[v >> 10 & 1023]}{p[v & 1023]}")


def require_admin(actor: Actor, doing: str) -> None:
    """Refuse (403 ``forbidden``) an actor who is not an administrator: "Only
    administrators can <doing>."."""
    if actor.role != "admin":
        raise errors.Forbidden(f"Only administrators can {doing}.")
