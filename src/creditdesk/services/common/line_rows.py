"""Storing invoice and memo lines, shared by both documents."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.domain import errors
from creditdesk.domain.lines import Line
from creditdesk.services.common.context import new_id


def check_variants_exist(target: Session | Connection, partner_id: str,
                         lines: list[Line]) -> None:
    """Every variant a line names is one of the partner's variants."""
    wanted = {line.variant_id for line in lines if line.variant_id}
    if not wanted:
        return
    found = set(target.scalars(select(models.Variant.id).where(
        models.Variant.partner_id == partner_id, models.Variant.id.in_(wanted))).all())
    problems = [errors.FieldError(f"lines[{i}].variant_id", f"no variant with id {line.variant_id}")
                for i, line in enumerate(lines) if line.variant_id and line.variant_id not in found]
    if problems:
        raise errors.ValidationError("; ".join(f"{p.field}: {p.message}" for p in problems),
                                     errors=problems)


LineTaxes = list[tuple[int, str | None]]  # each line's tax and its rate's name


def _taxes(lines: list[Line], taxes: LineTaxes | None) -> LineTaxes:
    """Each line's stored tax and rate name (T2): as computed, or none."""
    return taxes if taxes is not None else [(0, None)] * len(lines)


def invoice_line_values(partner_id: str, invoice_id: str, lines: list[Line],
                        taxes: LineTaxes | None = None) -> list[dict[str, Any]]:
    """The rows of an invoice's ``lines`` (with each one's tax), as column values, in
    position order."""
    return [{"id": new_id("il"), "partner_id": partner_id, "invoice_id": invoice_id,
             "position": i, "description": li.description, "quantity": li.quantity,
             "unit_price_minor": li.unit_price.minor, "amount_minor": li.amount.minor,
             "variant_id": li.variant_id, "tax_rate_id": li.tax_rate_id,
             "tax_rate_name": name, "tax_minor": tax}
            for i, (li, (tax, name)) in enumerate(zip(lines, _taxes(lines, taxes), strict=True))]


def memo_line_values(partner_id: str, memo_id: str, lines: list[Line],
                     taxes: LineTaxes | None = None) -> list[dict[str, Any]]:
    """The rows of a memo's (native) ``lines`` (with each one's tax), as column values, in
    position order."""
    return [{"id": new_id("cml"), "partner_id": partner_id, "credit_memo_id": memo_id,
             "position": i, "description": li.description, "quantity": li.quantity,
             "unit_price_minor": li.unit_price.minor, "amount_minor": li.amount.minor,
             "variant_id": li.variant_id, "invoice_line_id": li.invoice_line_id,
             "tax_rate_id": li.tax_rate_id, "tax_rate_name": name, "tax_minor": tax}
            for i, (li, (tax, name)) in enumerate(zip(lines, _taxes(lines, taxes), strict=True))]


def add_memo_lines(session: Session, memo: models.CreditMemo, lines: list[Line],
                   taxes: LineTaxes | None = None) -> list[models.CreditMemoLine]:
    """The rows of ``lines``, added to the session; returned in position order."""
    rows = [models.CreditMemoLine(**values)
            for values in memo_line_values(memo.partner_id, memo.id, lines, taxes)]
    session.add_all(rows)
    return rows
