"""Credit-balance visibility (P2, P3): whether one customer sees its credit."""

from __future__ import annotations


def credit_visible(*, show_to_all: bool, is_exception: bool) -> bool:
    """P2/P3: with "show to all customers" on, everyone but the exceptions sees credit;
    with it off (or never set: pass False), only the exceptions do. An exception always
    gets the opposite of the setting."""
    return show_to_all != is_exception
