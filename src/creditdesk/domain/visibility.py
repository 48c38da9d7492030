"""Who among a partner's customers a preference reaches, and what a customer sees and may do
in the portal because of it: credit-balance visibility (P2, P3), applying credit in the
portal (P5)."""

from __future__ import annotations

from creditdesk.domain.memo import Source


def applies(*, setting: bool, is_exception: bool) -> bool:
    """A partner preference with per-customer exceptions (P2, P5): on, it reaches everyone
    but the exceptions; off (or never set: pass False), only the exceptions. An exception
    always gets the opposite of the setting."""
    return setting != is_exception


def credit_visible(*, show_to_all: bool, is_exception: bool) -> bool:
    """P2/P3: does the customer see its credit?"""
    return applies(setting=show_to_all, is_exception=is_exception)


def may_apply_in_portal(*, enabled: bool, is_exception: bool, credit_visible: bool) -> bool:
    """P5: a customer applies its own credit in the portal only when the partner's
    preference reaches it AND it sees its credit (P3): hidden credit is never offered."""
    return credit_visible and applies(setting=enabled, is_exception=is_exception)


def portal_credit_source(invoice_source: str) -> str | None:
    """P5: whose credit the portal offers for an invoice of ``invoice_source``: native
    credit for a native invoice (A1-A6), credit of the same system for a synced one (Y11:
    written back there)."""
    try:
        return Source(invoice_source).value
    except ValueError:
        return None
