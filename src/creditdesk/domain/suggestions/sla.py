"""SLA policies and incidents (G5) as plain data, and their checks: what a partner may
record. Percents are integer ten-thousandths of a percent (``tax.SCALE``: 99.9% -> 999_000),
as T1's tax rates; times aware UTC datetimes."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from creditdesk.domain import errors, tax

MAX_DESCRIPTION = 500
MAX_IDS = 500
MAX_POLICIES = 200
MAX_BANDS = 10


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    started_at: datetime  # aware UTC
    ended_at: datetime
    description: str
    customer_ids: frozenset[str] = frozenset()  # empty: every customer
    variant_ids: frozenset[str] = frozenset()  # empty: every product

    def touches(self, customer_id: str, variant_id: str) -> bool:
        return ((not self.customer_ids or customer_id in self.customer_ids)
                and (not self.variant_ids or variant_id in self.variant_ids))


@dataclass(frozen=True, slots=True)
class Band:
    below: int  # ten-thousandths of a percent of availability
    credit_percent: int  # ten-thousandths of a percent of the month's charge


@dataclass(frozen=True, slots=True)
class Policy:
    variant_id: str | None  # None: the default policy of products without their own
    availability_promised: int
    bands: tuple[Band, ...]  # highest ``below`` first


def check_incident(*, started_at: datetime, ended_at: datetime, description: object,
                   customer_ids: Sequence[str], variant_ids: Sequence[str]) -> str:
    """G5: an incident's times and description; answers the description, trimmed."""
    if not isinstance(description, str) or not description.strip():
        raise errors.ValidationError.for_field("description", "is required")
    text = description.strip()
    if len(text) > MAX_DESCRIPTION:
        raise errors.ValidationError.for_field(
            "description", f"must be at most {MAX_DESCRIPTION} characters")
    if started_at.tzinfo is None or ended_at.tzinfo is None:
        raise errors.ValidationError.for_field("started_at", "must carry a UTC offset")
    if ended_at <= started_at:
        raise errors.ValidationError.for_field("ended_at", "must be after started_at")
    for field, ids in (("customer_ids", customer_ids), ("variant_ids", variant_ids)):
        if len(ids) > MAX_IDS:
            raise errors.ValidationError.for_field(field, f"must list at most {MAX_IDS} ids")
    return text


def parse_time(value: object, field: str) -> datetime:
    """An ISO 8601 date and time (``2026-03-03T10:00:00Z``, ``2026-03-03 10:00``); without
    an offset it is UTC."""
    if not isinstance(value, str) or not value.strip():
        raise errors.ValidationError.for_field(field, "is required")
    try:
        parsed = datetime.fromisoformat(value.strip().upper().replace(" ", "T", 1))
    except ValueError:
        raise errors.ValidationError.for_field(
            field, 'must be a date and time such as "2026-03-03T10:00:00Z"') from None
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise errors.ValidationError.for_field(
            field, "is outside the supported range of dates") from None


def parse_policies(raw: object) -> list[Policy]:
    """G5: the SLA policies as sent (``{"variant_id"?, "availability_promised", "bands":
    [{"below", "credit_percent"}]}``), checked; bands come back highest ``below`` first.
    Whether a variant id is the partner's is the service's to check."""
    if not isinstance(raw, list):
        raise errors.ValidationError.for_field("policies", "must be a list")
    if len(raw) > MAX_POLICIES:
        raise errors.ValidationError.for_field(
            "policies", f"must list at most {MAX_POLICIES} policies")
    out: list[Policy] = []
    seen: set[str | None] = set()
    for i, item in enumerate(raw):
        at = f"policies[{i}]"
        if not isinstance(item, Mapping):
            raise errors.ValidationError.for_field(at, "must be an object")
        policy = parse_policy(item.get("variant_id"), item.get("availability_promised"),
                              item.get("bands"), at=f"{at}.")
        if policy.variant_id in seen:
            raise errors.ValidationError.for_field(
                f"{at}.variant_id", "has a policy already" if policy.variant_id else
                "only one default policy (without variant_id) is allowed")
        seen.add(policy.variant_id)
        out.append(policy)
    return out


def parse_policy(variant_id: object, availability_promised: object, bands: object, *,
                 at: str = "") -> Policy:
    """One policy; fields are named with the prefix ``at`` (``policies[0].``)."""
    if variant_id is not None and (not isinstance(variant_id, str) or not variant_id.strip()):
        raise errors.ValidationError.for_field(f"{at}variant_id", "must be a variant id")
    promised = _positive_percent(availability_promised, f"{at}availability_promised")
    return Policy(variant_id, promised, _bands(bands, f"{at}bands", promised))


def _positive_percent(value: object, field: str) -> int:
    if value is None:
        raise errors.ValidationError.for_field(field, "is required")
    number = tax.parse_percent(value, field)
    if number <= 0:
        raise errors.ValidationError.for_field(field, "must be greater than 0 (percent)")
    return number


def _bands(raw: object, field: str, promised: int) -> tuple[Band, ...]:
    if not isinstance(raw, list) or not raw:
        raise errors.ValidationError.for_field(field, "must list at least one band")
    if len(raw) > MAX_BANDS:
        raise errors.ValidationError.for_field(field, f"must list at most {MAX_BANDS} bands")
    bands: list[Band] = []
    for j, item in enumerate(raw):
        at = f"{field}[{j}]"
        if not isinstance(item, Mapping):
            raise errors.ValidationError.for_field(at, "must be an object")
        below = _positive_percent(item.get("below"), f"{at}.below")
        if below > promised:
            raise errors.ValidationError.for_field(
                f"{at}.below", "can't be above availability_promised: a credit is owed only "
                "for a shortfall")
        if any(b.below == below for b in bands):
            raise errors.ValidationError.for_field(f"{at}.below", "repeats another band's")
        bands.append(Band(below, _positive_percent(item.get("credit_percent"),
                                                   f"{at}.credit_percent")))
    bands.sort(key=lambda b: -b.below)
    for higher, lower in itertools.pairwise(bands):
        if lower.credit_percent < higher.credit_percent:
            raise errors.ValidationError.for_field(
                field, f"the band below {tax.percent_text(lower.below)}% must credit at least "
                f"as much as the band below {tax.percent_text(higher.below)}%")
    return tuple(bands)
