"""Per-partner document numbers: CM-0001, INV-0001, ... (C3, I2).

One atomic ``UPDATE … RETURNING`` per number: on PostgreSQL the row lock it takes makes
concurrent creators wait for each other; on SQLite the write transaction already does.
The unique (partner, number) index is the second line.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, update
from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.domain import memo as memo_rules

MEMO = "credit_memo"
INVOICE = "invoice"
PREFIXES = {MEMO: "CM", INVOICE: "INV"}


def create_counters(session: Session, partner_id: str) -> None:
    """A new partner's sequences, each starting at 1."""
    session.add_all(models.Counter(partner_id=partner_id, name=n, value=0) for n in PREFIXES)


# Built once: every create takes a number, and building and cache-keying a fresh
# statement each time cost more than running it. No ORM synchronising: the counter rows are
# never held in a session while a number is taken.
_NEXT = (update(models.Counter)
         .where(models.Counter.partner_id == bindparam("b_partner_id"),
                models.Counter.name == bindparam("b_counter"))
         .values(value=models.Counter.value + 1)
         .returning(models.Counter.value)
         .execution_options(synchronize_session=False))


def next_number(target: Session | Connection, partner_id: str, name: str) -> str:
    value = target.execute(_NEXT, {"b_partner_id": partner_id, "b_counter": name}).scalar_one()
    return memo_rules.format_number(PREFIXES[name], value)
