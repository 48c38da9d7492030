"""Products and their variants, with opening stock recorded as an inventory activity (J3)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import errors, money
from creditdesk.domain.inventory import ActivityKind
from creditdesk.domain.money import Money
from creditdesk.services.accounting import ledger
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, clock, new_id

MAX_STOCK = 1_000_000_000


@dataclass(frozen=True)
class VariantView:
    id: str
    product_id: str
    sku: str
    name: str
    price: Money
    stock_on_hand: int

    @property
    def currency(self) -> str:
        return self.price.currency


@dataclass(frozen=True)
class ProductView:
    id: str
    name: str
    variants: list[VariantView]


def variant_view(row: models.Variant) -> VariantView:
    return VariantView(row.id, row.product_id, row.sku, row.name,
                       Money(row.price_minor, row.currency), row.stock_on_hand)


@dataclass(frozen=True)
class VariantInput:
    sku: str
    name: str
    price: object
    stock_on_hand: int = 0


def _check_variants(variants: list[VariantInput],
                    currency: str) -> list[tuple[VariantInput, Money]]:
    if not variants:
        raise errors.ValidationError.for_field("variants", "must list at least one variant")
    problems, parsed, skus = [], [], set()
    for i, v in enumerate(variants):
        field = f"variants[{i}]"
        if not v.sku.strip():
            problems.append(errors.FieldError(f"{field}.sku", "is required"))
        elif v.sku in skus:
            problems.append(errors.FieldError(f"{field}.sku", f"{v.sku} is listed twice"))
        skus.add(v.sku)
        if not v.name.strip():
            problems.append(errors.FieldError(f"{field}.name", "is required"))
        if not 0 <= v.stock_on_hand <= MAX_STOCK:
            problems.append(errors.FieldError(f"{field}.stock_on_hand",
                                              f"must be between 0 and {MAX_STOCK:,}"))
        try:
            parsed.append((v, Money.parse_positive(v.price, currency)))
        except money.MoneyError as exc:
            problems.append(errors.FieldError(f"{field}.price", str(exc)))
    if problems:
        raise errors.ValidationError("; ".join(f"{p.field} {p.message}" for p in problems),
                                     errors=problems)
    return parsed


def create_product(db: Database, *, actor: Actor, name: str, variants: list[VariantInput],
                   currency: str = "USD") -> ProductView:
    if not name.strip():
        raise errors.ValidationError.for_field("name", "is required")
    try:
        money.check_currency(currency)
    except money.MoneyError as exc:
        raise errors.ValidationError.for_field("currency", str(exc)) from None
    parsed = _check_variants(variants, currency)
    now = clock.now()
    with db.write() as session:
        taken = session.scalars(select(models.Variant.sku).where(
            models.Variant.partner_id == actor.partner_id,
            models.Variant.sku.in_([v.sku for v, _ in parsed]))).all()
        if taken:  # a uniqueness rule against what is stored: 409, like an email in use
            raise errors.Conflict(
                f"SKU already in use: {', '.join(sorted(taken))}; each variant needs its own "
                "SKU.", errors=[errors.FieldError("variants.sku", f"{s} is already in use")
                                for s in sorted(taken)])
        product = models.Product(id=new_id("prd"), partner_id=actor.partner_id,
                                 name=name.strip(), created_at=now)
        session.add(product)
        session.flush()
        views = []
        for v, price in parsed:
            row = models.Variant(id=new_id("var"), partner_id=actor.partner_id,
                                 product_id=product.id, sku=v.sku.strip(), name=v.name.strip(),
                                 price_minor=price.minor, currency=currency, stock_on_hand=0,
                                 created_at=now)
            session.add(row)
            session.flush()
            if v.stock_on_hand:
                ledger.move_stock(session, actor.partner_id, row, v.stock_on_hand,
                                  kind=ActivityKind.OPENING_STOCK, source_type="variant",
                                  source_id=row.id, source_line_id=None)
            views.append(variant_view(row))
        audit.record(session, actor, "product.create", "product", product.id,
                     {"name": product.name, "skus": [v.sku for v in views]})
        return ProductView(product.id, product.name, views)


def get_variant(db: Database, *, actor: Actor, variant_id: str) -> VariantView:
    with db.read() as session:
        return variant_view(locks.get_scoped(session, models.Variant, actor.partner_id,
                                             variant_id))
