"""Audit entries in words (E1): what an entry says on a page, from its action and data.

"Applied $150.00 to invoice INV-0002", "Changed the total from $10.00 to $12.50; the
reason from Goodwill to Pricing error". Entries written before an action recorded its
currency show the amount in the currency the page passes (the memo's)."""

from __future__ import annotations

from typing import Any

from creditdesk.domain import memo as memo_rules
from creditdesk.domain import money
from creditdesk.domain.money import Money


def _label(value: object) -> str:
    text = str(value or "").replace("_", " ")
    return text[:1].upper() + text[1:]


def _amount(data: dict[str, Any], key: str, currency: str | None) -> str:
    value, cur = data.get(key), data.get("currency") or currency
    if not isinstance(value, str):
        return ""
    if not isinstance(cur, str):
        return value
    try:
        return Money.parse(value, cur).shown()
    except money.MoneyError:
        return f"{value} {cur}"


def _source(data: dict[str, Any]) -> str:
    try:
        return memo_rules.SOURCE_NAMES[memo_rules.Source(data.get("source", ""))]
    except ValueError:
        return _label(data.get("source"))


_SHOWN = {"total": "the total", "reason": "the reason", "invoice": "the original invoice",
          "issue_date": "the issue date", "notes": "the notes", "lines": "the lines",
          "currency": "the currency", "tax": "the tax"}


def _change(key: str, old: object, new: object, currency: str | None) -> str:
    what = _SHOWN.get(key, _label(key).lower())
    if key == "notes":
        return "edited the notes"
    if key == "customer_note":  # D1
        return "edited the note to the customer"
    if key == "lines":
        return f"{what} ({old} → {new})"
    if key == "tax_inclusive":  # T1
        return "made prices include tax" if new else "made prices exclude tax"
    if key in ("total", "tax"):
        old = _amount({"v": old, "currency": currency}, "v", currency)
        new = _amount({"v": new, "currency": currency}, "v", currency)
    elif key == "reason":
        old, new = _label(old), _label(new)
    return f"{what} from {old or 'none'} to {new or 'none'}"


def _update(data: dict[str, Any], currency: str | None) -> str:
    changes = data.get("changes")
    cur = data.get("currency") or currency
    if isinstance(changes, dict) and changes:
        parts = [_change(k, v[0], v[1], cur) for k, v in changes.items()
                 if isinstance(v, list) and len(v) == 2]
        return "Changed " + "; ".join(parts)
    if isinstance(changes, dict):
        return "Saved with no change"
    fields = ", ".join(_label(f).lower() for f in data.get("fields") or [])
    total = _amount(data, "total", cur)
    return f"Changed {fields or 'the draft'}" + (f" (total {total})" if total else "")


def _system(d: dict[str, Any]) -> str:
    return _source({"source": d.get("system", "")})


def _invoice_sync(action: str, d: dict[str, Any]) -> str:
    """Y9: a synced invoice created, changed or voided by a sync."""
    if action == "invoice.sync_create":
        return f"Synced from {_source(d)} as {_label(d.get('status')).lower()}"
    if action == "invoice.sync_void":
        return f"Voided in {_source(d)}" + (f": “{d['reason']}”" if d.get("reason") else "")
    changed = ", ".join(_label(c).lower() for c in d.get("changed") or [])
    return f"Updated from {_source(d)}: {changed or 'no visible change'}"


_WRITE_BACK = {"credit_memo.apply_requested", "credit_memo.write_back_applied",
               "credit_memo.write_back_failed", "credit_memo.write_back_removed",
               "credit_memo.remove_requested", "credit_memo.write_back_retry",
               "credit_memo.sync_application", "credit_memo.sync_application_removed"}


def _write_back(action: str, d: dict[str, Any], invoice: object, currency: str | None) -> str:
    """Y11-Y14: an application of synced credit on its way to (or from) its system."""
    system = _system(d)
    to = f" to invoice {invoice}" if invoice else ""
    if action == "credit_memo.apply_requested":
        by = " (by the customer, in the portal)" if d.get("origin") == "portal" else ""
        return f"Sent {_amount(d, 'amount', currency)}{to} to {system}{by}"
    if action == "credit_memo.write_back_applied":
        return f"{system} accepted the application ({d.get('external_id', '')})"
    if action == "credit_memo.write_back_failed":
        what = "removal" if d.get("action") == "remove" else "application"
        return f"{system} did not take the {what}: “{d.get('error', '')}”"
    if action == "credit_memo.write_back_removed":
        return f"Removed in {system} ({d.get('external_id', '')})"
    if action == "credit_memo.remove_requested":
        parts = []
        if d.get("removing") not in (None, "0.00", "0"):
            parts.append(f"asked {system} to remove {_amount(d, 'removing', currency)}")
        if d.get("cancelled") not in (None, "0.00", "0"):
            parts.append(f"cancelled {_amount(d, 'cancelled', currency)} {system} had refused")
        return (_label("; ".join(parts) or "nothing to remove")
                + (f" from invoice {invoice}" if invoice else ""))
    if action == "credit_memo.write_back_retry":
        return f"Sent to {system} again"
    if action == "credit_memo.sync_application":
        amount = Money(int(d.get("amount_minor") or 0), currency or "USD").shown() \
            if currency else str(d.get("amount_minor"))
        return f"Applied {amount} in {system} directly (found by a sync)"
    return f"An application was removed in {system} directly (found by a sync)"


def _who(actor: object) -> str:
    """``user:ann@x.test`` → ``ann@x.test``; a partner-wide key as such."""
    text = str(actor or "")
    return text.removeprefix("user:") if text.startswith("user:") else (
        "an API key" if text.startswith("api_key:") else text or "someone")


def _approval(action: str, d: dict[str, Any], currency: str | None) -> str:
    """AP1: a request to issue a draft, its decision, its withdrawal; the thresholds."""
    said = f": “{d['comment']}”" if d.get("comment") else ""
    total = _amount(d, "total", currency)
    if action == "approval_request.create":
        return f"Asked for approval to issue it for {total}{said}"
    if action == "approval_request.approve":
        return f"Approved issuing it for {total} (asked by {_who(d.get('requested_by'))}){said}"
    if action == "approval_request.reject":
        return f"Rejected issuing it for {total} (asked by {_who(d.get('requested_by'))}){said}"
    if action == "approval_request.withdraw":
        return f"The draft was edited: its {d.get('was', 'open')} approval request was withdrawn"
    to = d.get("to")
    shown = [_amount({"a": v, "currency": c}, "a", c)
             for c, v in sorted(to.items() if isinstance(to, dict) else [])]
    return ("Set the approval thresholds: " + ", ".join(shown) if shown
            else "Removed every approval threshold: no memo needs an approval")


_APPROVALS = {"approval_request.create", "approval_request.approve", "approval_request.reject",
              "approval_request.withdraw", "settings.approvals"}


def _email(action: str, d: dict[str, Any]) -> str:
    """D2: "Asked to email it to a@x.test", "Emailed to a@x.test (attempt 1)", "Email to
    a@x.test failed (attempt 1): 451 …", "Gave up emailing it to a@x.test: …"."""
    to = ", ".join(str(a) for a in d.get("to") or [])
    error = f": {d['error']}" if d.get("error") else ""
    attempt = f" (attempt {d['attempt']})" if d.get("attempt") else ""
    if action == "credit_memo.send":
        return f"Asked to email it to {to}"
    if action == "credit_memo.email_sent":
        return f"Emailed to {to}{attempt}"
    if action == "credit_memo.email_failed":
        return f"Email to {to} failed{attempt}{error}"
    return f"Gave up emailing it to {to}{error}"


def _refund(action: str, d: dict[str, Any], currency: str | None) -> str:
    """R3: "Refunded $25.00 by check (reference 1042) on 2026-12-06"; "Voided the $25.00
    refund of 2026-12-06 by check …; the credit returned to the memo"."""
    method = _label(d.get("method")).lower()
    how = f" by {method}" if method else ""
    how += f" (reference {d['reference']})" if d.get("reference") else ""
    day = f" of {d['refunded_at']}" if d.get("refunded_at") else ""
    if action == "credit_memo.refund":
        return f"Refunded {_amount(d, 'amount', currency)}{how}" + (
            f" on {d['refunded_at']}" if d.get("refunded_at") else "")
    return (f"Voided the {_amount(d, 'amount', currency)} refund{day}{how}; the credit "
            "returned to the memo")


def _tax_rate(d: dict[str, Any]) -> str:
    """T1: "Added tax rate CA (7.25 %) of State 6.25 % + County 1 %" (entries written before
    components carried their rates name them only)."""
    parts = " + ".join(f"{c.get('name', '')} {c.get('rate', '')} %" if isinstance(c, dict)
                       else str(c) for c in d.get("components") or [])
    return (f"Added tax rate {d.get('name', '')} ({d.get('rate', '')} %)"
            + (f" of {parts}" if parts else ""))


# P2, P5, AU1: a preference with per-customer exceptions: what it does, its flag's name
_PREFERENCES = {
    "settings.credit_visibility": ("showing the credit balance to all customers",
                                   "show_to_all_customers"),
    "settings.portal_credit_application": ("customers applying credit in the portal",
                                           "enabled"),
    "settings.auto_apply": ("applying available credit to new invoices", "enabled"),
}


def _preference(action: str, d: dict[str, Any]) -> str:
    """"Enabled applying available credit to new invoices; exceptions (the opposite):
    Globex, Initech"; "Made Globex an exception to …"; "Globex is no longer an exception
    to …"."""
    base, _, change = action.partition(".")[2].partition(".")
    what, flag = _PREFERENCES[f"settings.{base}"]
    name = d.get("customer_name") or d.get("customer_id") or "a customer"
    if change == "add_exception":
        return f"Made {name} an exception to {what}"
    if change == "remove_exception":
        return f"{name} is no longer an exception to {what}"
    said = ("Enabled " if d.get(flag) else "Disabled ") + what
    if "exceptions" not in d:
        return said  # the flag alone: the exceptions stay
    names = d.get("exception_names") or d.get("exceptions") or []
    return said + ("; exceptions (the opposite): " + ", ".join(str(n) for n in names)
                   if names else "; no exceptions")


def _service_issue(action: str, d: dict[str, Any]) -> str:
    """G5: "Recorded incident “DB failover” from … to … (2 customers, every product)";
    "Set the SLA policies: default 99.9 % (below 99.9 % → 10 %), …"."""
    if action == "incident.create":
        def scope(key: str, one: str, every: str) -> str:
            n = len(d.get(key) or [])
            return every if not n else f"{n} {one}{'s' * (n != 1)}"
        return (f"Recorded incident “{d.get('description', '')}” from {d.get('started_at', '')}"
                f" to {d.get('ended_at', '')} ({scope('customer_ids', 'customer', 'everyone')}, "
                f"{scope('variant_ids', 'product', 'every product')})")
    policies = d.get("to") or []
    shown = [f"{p.get('variant_id') or 'default'} {p.get('availability_promised')} % ("
             + ", ".join(f"below {b.get('below')} % → {b.get('credit_percent')} %"
                         for b in p.get("bands") or []) + ")"
             for p in policies if isinstance(p, dict)]
    return ("Set the SLA policies: " + "; ".join(shown) if shown
            else "Removed every SLA policy: incidents owe no credit")


def describe(action: str, data: dict[str, Any], currency: str | None = None) -> str:
    """One entry as a sentence, naming the amounts, invoices and reasons involved."""
    d = data or {}
    invoice = d.get("invoice_number")
    if action == "credit_memo.create":
        text = f"Created {d.get('number', 'the memo')} for {_amount(d, 'total', currency)}"
        text += f", reason {_label(d.get('reason'))}" if d.get("reason") else ""
        return text + (f", from invoice {invoice}" if invoice else "")
    if action == "credit_memo.update":
        return _update(d, currency)
    if action == "credit_memo.issue":
        return f"Issued for {_amount(d, 'total', currency)}"
    if action == "credit_memo.apply":
        if d.get("origin") == "automatic":  # AU1
            return (f"Applied {_amount(d, 'amount', currency)} automatically to invoice "
                    f"{invoice} as it was issued")
        return f"Applied {_amount(d, 'amount', currency)} to invoice {invoice}"
    if action == "credit_memo.remove":
        return f"Removed {_amount(d, 'amount', currency)} from invoice {invoice}"
    if action in ("credit_memo.refund", "credit_memo.refund_void"):
        return _refund(action, d, currency)
    if action == "credit_memo.void":
        was = f" (it was {d['was']})" if d.get("was") else ""
        return f"Voided{was}: “{d.get('reason', '')}”"
    if action == "credit_memo.send" or action.startswith("credit_memo.email_"):  # D2
        return _email(action, d)
    if action in ("incident.create", "settings.sla"):  # G5
        return _service_issue(action, d)
    if action == "tax_rate.create":  # T1
        return _tax_rate(d)
    if action == "invoice.issue" and d.get("total"):
        tax = _amount(d, "tax", currency)
        return (f"Issued {d.get('number', 'the invoice')} for {_amount(d, 'total', currency)}"
                + (f" (tax {tax})" if d.get("tax") not in (None, "0", "0.00", "0.000") else ""))
    if action == "invoice.auto_apply":  # AU1
        memos = ", ".join(f"{m.get('number', '')} {_amount(m, 'amount', d.get('currency'))}"
                          for m in d.get("memos") or [] if isinstance(m, dict))
        return (f"Applied {_amount(d, 'amount', currency)} of available credit automatically "
                f"as it was issued: {memos}")
    if action in _PREFERENCES or action.rpartition(".")[0] in _PREFERENCES:
        return _preference(action, d)
    if action == "user.create":
        return f"Added user {d.get('email', '')} as {d.get('role', 'staff')}"
    if action == "credit_memo.delete":
        return f"Deleted draft {d.get('number', '')}".rstrip()
    if action == "credit_memo.sync_create":
        return f"Synced from {_source(d)} as {_label(d.get('status')).lower()}"
    if action == "credit_memo.sync_update":
        changed = ", ".join(_label(c).lower() for c in d.get("changed") or [])
        return f"Updated from {_source(d)}: {changed or 'no visible change'}"
    if action == "credit_memo.sync_void":
        return f"Voided in {_source(d)}" + (f": “{d['reason']}”" if d.get("reason") else "")
    if action.startswith("invoice.sync_"):
        return _invoice_sync(action, d)
    if action in _WRITE_BACK:
        return _write_back(action, d, invoice, currency)
    if action in _APPROVALS:
        return _approval(action, d, currency)
    if action == "api_key.create" and d.get("user"):
        role = f" ({d['role']})" if d.get("role") else ""
        return f"Created an API key ({d.get('prefix', '')}…) acting as {d['user']}{role}"
    # Any other entry: its action and the facts it recorded, in words.
    facts = "; ".join(f"{_label(k).lower()} {v}" for k, v in d.items()
                      if isinstance(v, str | int) and not k.endswith("_id") and k != "id")
    return _label(action.split(".")[-1]) + (f" ({facts})" if facts else "")
