"""D1: the partner's profile as documents show it — legal name, address lines, email,
phone — and its logo (PNG or JPEG, uploaded from the dashboard)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import documents as rules
from creditdesk.domain import errors
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, clock, require_admin
from creditdesk.services.documents import logo as logo_image

MAX_NAME = 200
MAX_LINE = 200
MAX_PHONE = 40


@dataclass(frozen=True)
class ProfileView:
    legal_name: str | None
    address: list[str]
    email: str | None
    phone: str | None
    has_logo: bool
    partner_name: str  # the partner's own name: what documents show without a legal name

    @property
    def shown_name(self) -> str:
        return self.legal_name or self.partner_name


@dataclass(frozen=True)
class Logo:
    data: bytes
    content_type: str


def _view(session: Session, partner_id: str, row: models.PartnerProfile | None) -> ProfileView:
    partner = session.get_one(models.Partner, partner_id)
    if row is None:
        return ProfileView(None, [], None, None, False, partner.name)
    return ProfileView(row.legal_name, list(row.address or []), row.email, row.phone,
                       row.logo is not None, partner.name)


def read(session: Session, partner_id: str) -> tuple[ProfileView, Logo | None]:
    """The profile and its logo, inside the caller's transaction."""
    row = session.get(models.PartnerProfile, partner_id)
    logo = (Logo(row.logo, row.logo_type) if row is not None and row.logo is not None
            and row.logo_type else None)
    return _view(session, partner_id, row), logo


def get_profile(db: Database, *, actor: Actor) -> ProfileView:
    with db.read() as session:
        return read(session, actor.partner_id)[0]


def get_logo(db: Database, *, actor: Actor) -> Logo | None:
    with db.read() as session:
        return read(session, actor.partner_id)[1]


def _text(value: object, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value.strip()) > limit or "\n" in value.strip():
        raise errors.ValidationError.for_field(
            field, f"must be one line of text of at most {limit} characters")
    return value.strip() or None


def _address(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise errors.ValidationError.for_field("address", "must be a list of lines of text")
    lines = [x.strip() for x in value if x.strip()]
    if len(lines) > rules.MAX_ADDRESS_LINES:
        raise errors.ValidationError.for_field(
            "address", f"at most {rules.MAX_ADDRESS_LINES} lines")
    for i, line in enumerate(lines):
        if len(line) > MAX_LINE:
            raise errors.ValidationError.for_field(
                f"address[{i}]", f"must be at most {MAX_LINE} characters")
    return lines



def _row(session: Session, partner_id: str) -> models.PartnerProfile:
    row = session.get(models.PartnerProfile, partner_id, with_for_update=True)
    if row is None:
        row = models.PartnerProfile(partner_id=partner_id, address=[], updated_at=clock.now())
        session.add(row)
    return row


def replace_profile(db: Database, *, actor: Actor, legal_name: object, address: object,
                    email: object, phone: object) -> ProfileView:
    """The profile's text fields (the logo is kept); administrators only."""
    require_admin(actor, "change the profile shown on documents")
    name = _text(legal_name, "legal_name", MAX_NAME)
    lines = _address(address)
    mail = rules.parse_email(email, "email") if email not in (None, "") else None
    tel = _text(phone, "phone", MAX_PHONE)
    with db.write() as session:
        row = _row(session, actor.partner_id)
        row.legal_name, row.address, row.email, row.phone = name, lines, mail, tel
        row.updated_at = clock.now()
        audit.record(session, actor, "settings.profile", "partner", actor.partner_id,
                     {"legal_name": name, "address_lines": len(lines), "email": mail,
                      "phone": tel})
        session.flush()
        return _view(session, actor.partner_id, row)


def set_logo(db: Database, *, actor: Actor, data: bytes) -> ProfileView:
    """A new logo (PNG or JPEG, at most 512 KiB); ``b""`` is refused (remove_logo)."""
    require_admin(actor, "change the profile shown on documents")
    kind = rules.logo_type(data)
    logo_image.check(data)  # before any transaction: Pillow decodes it
    with db.write() as session:
        row = _row(session, actor.partner_id)
        row.logo, row.logo_type, row.updated_at = data, kind, clock.now()
        audit.record(session, actor, "settings.logo", "partner", actor.partner_id,
                     {"content_type": kind, "bytes": len(data)})
        session.flush()
        return _view(session, actor.partner_id, row)


def remove_logo(db: Database, *, actor: Actor) -> ProfileView:
    require_admin(actor, "change the profile shown on documents")
    with db.write() as session:
        row = _row(session, actor.partner_id)
        row.logo, row.logo_type, row.updated_at = None, None, clock.now()
        audit.record(session, actor, "settings.logo_removed", "partner", actor.partner_id, {})
        session.flush()
        return _view(session, actor.partner_id, row)
