"""The demo partner behind ``creditdesk serve --demo``: Northwind IT Services, with
customers, a catalogue, invoices and credit memos in every status, overdue and partially
paid invoices, a visibility exception, open suggestions of every reason, and memos synced
from QuickBooks Online and Xero (``books``: one customer in all three places, a likely
copy to merge, both connections disconnected after one recorded run).

The suggestions are not planted: three customers have a plain billing history in which
something went wrong once (a month's seats billed at twice the seat price, an invoice sent
twice, a security key charged at the wrong price), and a fourth pays monthly for the hosted
backup on which two overlapping incidents fell one month, under the partner's SLA policy
(G5); the loader ends with the same refresh a partner runs, so the detectors find them as
they would in real books.

Everything is made through the use cases (never raw rows), so the postings, stock
movements, numbers and audit trail are exactly what real use produces. Deterministic: one
seeded ``random.Random``, dates relative to today. Idempotent: when the demo partner
exists already nothing is loaded again, and a fresh API key is returned for it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from creditdesk.db.engine import Database
from creditdesk.demo import books
from creditdesk.domain import errors
from creditdesk.domain.memo import MemoStatus, Reason
from creditdesk.domain.money import Money
from creditdesk.services.access import partners, users
from creditdesk.services.common.context import Actor, clock
from creditdesk.services.credit_memos import approvals, credit, memo_lifecycle, memos, refunds
from creditdesk.services.customer_accounts import customers, visibility
from creditdesk.services.invoicing import catalog, invoices, tax_rates
from creditdesk.services.read_models import views
from creditdesk.services.suggesting import incidents, suggestions

PARTNER_NAME = "Northwind IT Services"
ADMIN_EMAIL = "demo@creditdesk.local"
ADMIN_PASSWORD = "northwind-demo"  # printed by `serve --demo`: a known demo password
CONTROLLER_EMAIL = "controller@creditdesk.local"  # a second admin: asks for an approval (AP1)
SEED = 4217


@dataclass(frozen=True)
class DemoInfo:
    partner_name: str
    admin_email: str
    admin_password: str
    api_key: str
    partner_id: str
    loaded: bool  # False when the demo partner existed already and only a new key was made


# (name, email domain, currency, seats)
CUSTOMERS = [
    ("Contoso Dental Group", "contosodental.com", "USD", 24),
    ("Fabrikam Logistics", "fabrikamlogistics.com", "USD", 58),
    ("Tailspin Aviation Services", "tailspinaviation.com", "USD", 35),
    ("Adventure Works Cycles", "adventure-works.com", "USD", 42),
    ("Litware Accounting LLP", "litware.com", "USD", 16),
    ("Proseware Legal", "prosewarelegal.com", "USD", 12),
    ("Wide World Importers", "wideworldimporters.com", "USD", 47),
    ("Coho Vineyard & Winery", "cohovineyard.com", "USD", 9),
    ("Blue Yonder Clinics", "blueyonderclinics.com", "USD", 31),
    ("Lucerne Publishing", "lucernepublishing.com", "USD", 20),
    ("Margie's Travel", "margiestravel.com", "USD", 14),
    ("Trey Research", "treyresearch.net", "USD", 38),
    ("Alpine Ski House", "alpineskihouse.com", "USD", 11),
    ("Northridge Property Management", "northridgepm.com", "USD", 27),
    ("Woodgrove Credit Union", "woodgrovecu.org", "USD", 53),
    ("Graphic Design Institute", "graphicdesigninstitute.edu", "USD", 19),
    ("Maple Leaf Freight Inc.", "mapleleaffreight.ca", "CAD", 33),
    ("Laurentian Family Practice", "laurentianfp.ca", "CAD", 13),
    ("Brandt & Vogel GmbH", "brandt-vogel.de", "EUR", 28),
    ("Atelier Lumière SARL", "atelier-lumiere.fr", "EUR", 10),
]

# (product, [(sku, variant, price, opening stock)]) — hardware, in USD
PRODUCTS = [
    ("Dell Latitude 5550 laptop", [("DL-5550-16", "16 GB / 512 GB", "1349.00", 40),
                                   ("DL-5550-32", "32 GB / 1 TB", "1689.00", 25)]),
    ("Dell P2725H 27-inch monitor", [("DL-P2725H", "27-inch FHD", "289.99", 90)]),
    ("Ubiquiti UniFi access point", [("UB-U6-PRO", "U6 Pro", "159.00", 120),
                                     ("UB-U7-PRO", "U7 Pro", "189.00", 80)]),
    ("Cisco Meraki MX68 security appliance", [("MR-MX68", "MX68", "895.00", 20)]),
    ("APC Back-UPS Pro", [("APC-BR900", "900 VA", "149.00", 50),
                          ("APC-BR1500", "1500 VA", "229.00", 45)]),
    ("YubiKey 5 security key", [("YK-5-NFC", "5 NFC", "55.00", 300),
                                ("YK-5C-NFC", "5C NFC", "60.00", 250)]),
]

SEATS = "Managed IT services, per seat (monthly)"
M365 = "Microsoft 365 Business Premium, per user (monthly)"
BACKUP = ("Backup and disaster recovery (monthly)", "450.00")
SECURITY = ("Network security monitoring (monthly)", "600.00")
ONSITE = ("On-site support (hours)", "145.00")
PROJECT = ("Project labour (hours)", "165.00")

# Customers whose history holds one mistake (or one bad month of service) each, for the
# suggestions (see _plan_stories).
STORY_CUSTOMERS = [
    ("Hartwell Orthodontics", "hartwellortho.com", 18),
    ("Kestrel Architecture Partners", "kestrel-architecture.com", 22),
    ("Pinecrest Veterinary Hospital", "pinecrestvet.com", 15),
    ("Meridian Freight Brokers", "meridianfreight.com", 26),
]
STORY_MONTHS = 9  # monthly invoices in each story customer's history
YUBIKEY_SLIP = "65.00"  # charged once instead of the 55.00 catalogue price

# G5: the hosted service the partner sells from its catalogue (a product of its own, not in
# PRODUCTS: the random invoices never sell it), its SLA policy and the outage month.
HOSTED = ("Northwind Hosted Backup", "NW-BACKUP-SRV", "Per protected server (monthly)",
          "95.00", 100)  # (product, sku, variant, price, server licences in stock)
HOSTED_SERVERS = 6  # Meridian's servers: 570.00 a month
SLA_POLICY = {"availability_promised": "99.9",
              "bands": [{"below": "99.9", "credit_percent": "10"},
                        {"below": "99", "credit_percent": "25"}]}
OUTAGE_INVOICE = 6  # the incidents fall in the calendar month of this story invoice
# (day of that month, start, end, description): overlapping, 4 h 30 min down in all —
# 99.33-99.40% availability whatever the month's length, so the 10% band, always
OUTAGES = [
    (12, time(2, 0), time(5, 30), "Backup storage cluster outage: backups and restores "
                                  "unavailable"),
    (12, time(5, 0), time(6, 30), "Restores failing after the storage firmware rollback"),
]

INVOICES, DRAFT_INVOICES, VOID_DRAFT, VOID_ISSUED = 100, 7, 2, 5
SPREAD = {(Reason.GOODWILL, MemoStatus.APPLIED), (Reason.OTHER, MemoStatus.APPLIED),
          (Reason.SERVICE_ISSUE, MemoStatus.APPLIED)}
CURRENCY = {(Reason.GOODWILL, MemoStatus.APPLIED): "CAD",
            (Reason.SERVICE_ISSUE, MemoStatus.PARTIALLY_APPLIED): "EUR",
            (Reason.BILLING_ADJUSTMENT, MemoStatus.ISSUED): "CAD",
            (Reason.OTHER, MemoStatus.APPLIED): "EUR",
            (Reason.PRICING_ERROR, MemoStatus.APPLIED): "EUR"}
VOID_REASONS = ["Entered against the wrong customer", "Raised twice by mistake",
                "Superseded by a corrected credit memo", "The customer declined the credit"]


def load(db: Database) -> DemoInfo:
    """Load the demo partner once; on later runs only make a new API key for it."""
    partner_id = partners.find_partner_by_admin_email(db, ADMIN_EMAIL)
    if partner_id is None:
        try:
            new = partners.create_partner(db, name=PARTNER_NAME, admin_email=ADMIN_EMAIL,
                                          admin_password=ADMIN_PASSWORD)
        except errors.Conflict:  # another process created it a moment ago
            partner_id = partners.find_partner_by_admin_email(db, ADMIN_EMAIL)
        else:
            _Loader(db, Actor(new.partner_id, f"user:{ADMIN_EMAIL}")).run()
            return DemoInfo(PARTNER_NAME, ADMIN_EMAIL, ADMIN_PASSWORD, new.api_key,
                            new.partner_id, loaded=True)
    assert partner_id is not None
    key = partners.create_api_key(db, partner_id=partner_id, name="demo",
                                  actor_name=f"user:{ADMIN_EMAIL}")
    return DemoInfo(PARTNER_NAME, ADMIN_EMAIL, ADMIN_PASSWORD, key, partner_id, loaded=False)


def _money(minor: int, currency: str) -> str:
    return Money(minor, currency).to_str()


class _Loader:
    def __init__(self, db: Database, actor: Actor) -> None:
        self.db, self.actor = db, actor
        self.rng = random.Random(SEED)
        self.today = clock.today()
        self.customers: list[tuple[str, str, int]] = []  # (id, currency, seats)
        self.variants: list[tuple[str, catalog.VariantView]] = []  # (product name, variant)
        self.invoices: dict[str, views.InvoiceView] = {}  # issued, not void, in number order
        self.linked: dict[str, int] = {}  # invoice id -> total of non-void memos linked to it
        self.reserved: set[str] = set()  # invoices a duplicate-charge memo cancels whole
        self.voided = 0
        # The story customers' invoices, by date: made among the others, so that invoice
        # numbers follow issue dates across the whole demo.
        self.stories: list[tuple[date, str, list[dict], bool]] = []
        self.hosted: catalog.VariantView | None = None  # the hosted backup (G5)
        self.outage_month: date | None = None  # the first day of the month of the incidents

    def run(self) -> None:
        self._customers()
        self._catalog()
        self._plan_stories()
        self._invoices()
        self._memos()
        self._payments()
        self._part_payments()
        self._visibility()
        books.load(self.db, self.actor, self.today)
        self._sla_and_incidents()
        suggestions.refresh(self.db, actor=self.actor)
        self._approval_waiting()
        self._taxed_and_refunded()

    def _taxed_and_refunded(self) -> None:
        """T1-T4 and R1: a compound sales-tax rate; today's invoice to a USD customer with a
        taxed line and an untaxed one; a memo started from it crediting two of its ten taxed
        seats (the tax in proportion, T3), issued (Sales Tax Payable debited, T4); and part
        of that credit refunded by check."""
        rate = tax_rates.create_tax_rate(
            self.db, actor=self.actor, name="CA sales tax 7.25%",
            components=[{"name": "California state", "rate": "6.00"},
                        {"name": "Alameda County", "rate": "1.25"}])
        customer_id = next(c for c, currency, _ in self.customers if currency == "USD")
        inv = invoices.create_invoice(
            self.db, actor=self.actor, customer_id=customer_id, issue_date=self.today,
            due_date=self.today + timedelta(days=30),
            lines=[{"description": SEATS, "quantity": 10, "unit_price": "125.00",
                    "tax_rate_id": rate.id},
                   {"description": ONSITE[0], "quantity": 3, "unit_price": ONSITE[1]}])
        inv = invoices.issue_invoice(self.db, actor=self.actor, invoice_id=inv.id)
        seats = inv.lines[0]
        memo = memos.create_from_invoice(
            self.db, actor=self.actor, invoice_id=inv.id, reason=Reason.BILLING_ADJUSTMENT.value,
            issue_date=self.today, lines=[{"invoice_line_id": seats.id, "quantity": 2}],
            notes="Two seats were cancelled before the month began.")
        memo_lifecycle.issue_memo(self.db, actor=self.actor, memo_id=memo.id)
        refunds.refund_memo(self.db, actor=self.actor, memo_id=memo.id, amount="100.00",
                            method="check", refunded_at=self.today, reference="Check 2291")

    def _approval_waiting(self) -> None:
        """AP1: a USD threshold, and the largest USD draft waiting for an approval that a
        second administrator (the controller) asked for: the demo admin can approve it."""
        drafts = [m for m in memos.list_memos(self.db, actor=self.actor, statuses=["draft"],
                                              limit=200).data
                  if m.currency == "USD" and not m.read_only]
        if not drafts:
            return
        draft = max(drafts, key=lambda m: (m.total.minor, m.id))
        threshold = min(draft.total, Money(100_000, "USD"))
        approvals.replace_settings(self.db, actor=self.actor, thresholds=[
            {"currency": "USD", "amount": threshold.to_str()}])
        controller = users.create_user(self.db, actor=self.actor, email=CONTROLLER_EMAIL,
                                       password=ADMIN_PASSWORD, role="admin")
        asker = Actor(self.actor.partner_id, f"user:{CONTROLLER_EMAIL}", "admin", controller)
        approvals.request_approval(self.db, actor=asker, memo_id=draft.id,
                                   comment="Over my limit: please check it before it goes out.")

    def _visibility(self) -> None:
        """Credit shown in the portal to every customer but the last one (an exception),
        so that a newcomer sees both sides of P2/P3 at once."""
        visibility.replace_setting(self.db, actor=self.actor, show_to_all_customers=True,
                                   exceptions=[self.customers[-1][0]])

    # --- customers and catalogue ----------------------------------------------
    def _customers(self) -> None:
        for name, domain, currency, seats in CUSTOMERS:
            c = customers.create_customer(self.db, actor=self.actor, name=name,
                                          email=f"accounts@{domain}", currency=currency)
            self.customers.append((c.id, currency, seats))

    def _catalog(self) -> None:
        for name, variants in PRODUCTS:
            p = catalog.create_product(self.db, actor=self.actor, name=name, variants=[
                catalog.VariantInput(sku, label, price, stock)
                for sku, label, price, stock in variants])
            self.variants.extend((p.name, v) for v in p.variants)
        name, sku, label, price, stock = HOSTED
        [self.hosted] = catalog.create_product(self.db, actor=self.actor, name=name, variants=[
            catalog.VariantInput(sku, label, price, stock)]).variants

    def _sla_and_incidents(self) -> None:
        """G5: the partner's SLA policy (the default one: every product) and the incidents
        of the outage month, touching the hosted backup of every customer who has it."""
        assert self.hosted is not None and self.outage_month is not None
        incidents.replace_sla(self.db, actor=self.actor, policies=[SLA_POLICY])
        for day, start, end, description in OUTAGES:
            on = self.outage_month.replace(day=day)
            incidents.create_incident(
                self.db, actor=self.actor, description=description,
                started_at=datetime.combine(on, start, UTC),
                ended_at=datetime.combine(on, end, UTC), variant_ids=[self.hosted.id])

    # --- invoices -------------------------------------------------------------
    def _lines(self, currency: str, seats: int) -> list[dict]:
        rng, kind = self.rng, self.rng.choice(["monthly", "monthly", "project", "support"])
        if kind == "monthly":
            lines = [{"description": SEATS, "quantity": seats, "unit_price": "125.00"},
                     {"description": M365, "quantity": seats, "unit_price": "22.00"}]
            for extra in rng.sample([BACKUP, SECURITY], rng.randint(0, 2)):
                lines.append({"description": extra[0], "quantity": 1, "unit_price": extra[1]})
            return lines
        if kind == "support":
            return [{"description": ONSITE[0], "quantity": rng.randint(2, 16),
                     "unit_price": ONSITE[1]}]
        lines = []
        if currency == "USD":  # the catalogue is priced in USD
            for product, v in rng.sample(self.variants, rng.randint(1, 3)):
                lines.append(_line(f"{product}, {v.name}", rng.randint(1, 8), v.price, v.id))
        lines.append({"description": PROJECT[0], "quantity": rng.randint(4, 40),
                      "unit_price": PROJECT[1]})
        return lines

    def _invoices(self) -> None:
        rng = self.rng
        owners = [self.customers[i % len(self.customers)] for i in range(80)]
        owners += [rng.choice(self.customers) for _ in range(INVOICES - 80)]
        ages = sorted((rng.randint(1, 200) for _ in range(INVOICES)), reverse=True)
        rng.shuffle(owners)
        picked = rng.sample(range(INVOICES - DRAFT_INVOICES), VOID_DRAFT + VOID_ISSUED)
        voids, void_drafts = set(picked), set(picked[:VOID_DRAFT])
        for i, ((customer_id, currency, seats), age) in enumerate(zip(owners, ages, strict=True)):
            draft = i >= INVOICES - DRAFT_INVOICES
            issued_on = None if draft else self.today - timedelta(days=age)
            self._story_invoices(until=issued_on)
            inv = invoices.create_invoice(
                self.db, actor=self.actor, customer_id=customer_id,
                lines=self._lines(currency, seats), issue_date=issued_on,
                due_date=issued_on + timedelta(days=30) if issued_on else None)
            if draft:
                continue
            if i in void_drafts:
                invoices.void_invoice(self.db, actor=self.actor, invoice_id=inv.id)
                continue
            inv = invoices.issue_invoice(self.db, actor=self.actor, invoice_id=inv.id)
            if i in voids:
                invoices.void_invoice(self.db, actor=self.actor, invoice_id=inv.id)
                continue
            self.invoices[inv.id] = inv
        self._story_invoices(until=None)

    def _part_payments(self) -> None:
        """Overdue invoices paid in part, two with credit applied too, so the portal's
        explanation of a balance (payments, then credits) has something to explain."""
        overdue = [i for i in self.invoices.values()
                   if i.status in ("open", "partially_paid") and i.id not in self.reserved
                   and not i.payments and i.due_date and i.due_date < self.today]
        credited = [i for i in overdue if i.credit_applied.minor][:2]
        plain = [i for i in overdue if not i.credit_applied.minor][:2]
        for inv in credited + plain:
            paid_at = datetime.combine(inv.due_date - timedelta(days=3), time(10, 0), UTC)
            self.invoices[inv.id] = invoices.record_payment(
                self.db, actor=self.actor, invoice_id=inv.id, paid_at=paid_at,
                amount=_money(inv.balance_due.minor * 2 // 5, inv.currency))

    # --- histories the suggestion detectors flag (G1) ----------------------------
    def _plan_stories(self) -> None:
        """One customer per suggestion reason, billed monthly on the same day for
        ``STORY_MONTHS`` months, with one mistake each; every invoice is paid except the
        mistaken one (left overdue, as a customer disputing it would) and the latest."""
        for (name, domain, seats), story in zip(STORY_CUSTOMERS, (
                self._seat_price_doubled, self._sent_twice, self._wrong_price,
                self._hosted_backup), strict=True):
            c = customers.create_customer(self.db, actor=self.actor, name=name,
                                          email=f"accounts@{domain}", currency="USD")
            first = self.today - timedelta(days=30 * STORY_MONTHS - 12)
            plan = [(first + timedelta(days=30 * m), self._plan(seats)) for m in
                    range(STORY_MONTHS)]
            for on, lines, mistaken in story(plan, seats):
                self.stories.append((on, c.id, lines, not mistaken and on != plan[-1][0]))
        self.stories.sort(key=lambda s: s[0])

    def _story_invoices(self, *, until: date | None) -> None:
        """Make the planned story invoices dated up to ``until`` (all of them: None)."""
        while self.stories and (until is None or self.stories[0][0] <= until):
            on, customer_id, lines, paid = self.stories.pop(0)
            self._story_invoice(customer_id, on, lines, paid=paid)

    def _plan(self, seats: int) -> list[dict]:
        return [{"description": SEATS, "quantity": seats, "unit_price": "125.00"},
                {"description": BACKUP[0], "quantity": 1, "unit_price": BACKUP[1]}]

    def _seat_price_doubled(self, plan: list, seats: int):
        """Billing adjustment: month 7 bills the seats at twice their price, then back to
        normal (a change of seats alone would not be an error: G6)."""
        for m, (on, lines) in enumerate(plan):
            if m == 6:
                lines = [{**lines[0], "unit_price": "250.00"}, lines[1]]
            yield on, lines, m == 6

    def _sent_twice(self, plan: list, seats: int):
        """Duplicate charge: month 6's invoice sent again two days later."""
        for m, (on, lines) in enumerate(plan):
            yield on, lines, False
            if m == 5:
                yield on + timedelta(days=2), lines, True

    def _wrong_price(self, plan: list, seats: int):
        """Pricing error: security keys each month at the catalogue's 55.00, once 65.00."""
        key = next(v for _, v in self.variants if v.sku == "YK-5-NFC")
        for m, (on, lines) in enumerate(plan):
            price = Money.parse(YUBIKEY_SLIP, "USD") if m == 5 else key.price
            yield on, [*lines, _line("YubiKey 5 security key, 5 NFC", 2, price, key.id)], m == 5

    def _hosted_backup(self, plan: list, seats: int):
        """Service issue (G5): the seats and the hosted backup of its servers each month;
        the month of invoice ``OUTAGE_INVOICE`` had the outage (``_sla_and_incidents``),
        and its invoices are left unpaid (the customer waits for the credit)."""
        assert self.hosted is not None
        hit = plan[OUTAGE_INVOICE][0]
        self.outage_month = hit.replace(day=1)
        backup = _line(f"{HOSTED[0]}, {HOSTED[2]}", HOSTED_SERVERS, self.hosted.price,
                       self.hosted.id)
        for on, lines in plan:
            yield on, [lines[0], backup], (on.year, on.month) == (hit.year, hit.month)

    def _story_invoice(self, customer_id: str, on: date, lines: list[dict], *,
                       paid: bool) -> None:
        inv = invoices.create_invoice(self.db, actor=self.actor, customer_id=customer_id,
                                      lines=lines, issue_date=on,
                                      due_date=on + timedelta(days=30))
        inv = invoices.issue_invoice(self.db, actor=self.actor, invoice_id=inv.id)
        if paid:
            paid_at = min(clock.now(), datetime.combine(on + timedelta(days=12), time(15, 30),
                                                         UTC))
            invoices.record_payment(self.db, actor=self.actor, invoice_id=inv.id,
                                    amount=inv.total.to_str(), paid_at=paid_at)

    # --- credit memos ---------------------------------------------------------
    def _usable(self, inv: views.InvoiceView, currency: str | None = None) -> bool:
        return (inv.status in ("open", "partially_paid") and inv.id not in self.reserved
                and (currency is None or inv.currency == currency))

    def _pick(self, ok: Callable[[views.InvoiceView], bool]) -> views.InvoiceView:
        candidates = list(self.invoices.values())
        self.rng.shuffle(candidates)
        for inv in candidates:
            if self._usable(inv) and ok(inv):
                return inv
        raise RuntimeError("demo data: no invoice fits a planned credit memo")

    def _second(self, first: views.InvoiceView, need: int) -> views.InvoiceView | None:
        """Another invoice of the same customer and currency with ``need`` balance due."""
        for inv in self.invoices.values():
            if (inv.id != first.id and inv.customer_id == first.customer_id
                    and self._usable(inv, first.currency) and inv.balance_due.minor >= need):
                return inv
        return None

    def _memos(self) -> None:
        plans = [(r, s) for r in Reason for s in MemoStatus]  # every reason in every status
        self.rng.shuffle(plans)
        ages = sorted((self.rng.randint(0, 120) for _ in plans), reverse=True)
        for (reason, status), age in zip(plans, ages, strict=True):
            self._memo(reason, status, self.today - timedelta(days=age))

    def _memo(self, reason: Reason, status: MemoStatus, on: date) -> None:
        """One memo dated ``on`` (numbers follow dates), about an earlier invoice."""
        rng, want = self.rng, CURRENCY.get((reason, status))
        spread = (reason, status) in SPREAD

        def fits(inv: views.InvoiceView) -> bool:
            spec = _spec(reason, inv)
            if spec is None or (want and inv.currency != want):
                return False
            if inv.issue_date is None or inv.issue_date > on - timedelta(days=2):
                return False
            total, link, _ = spec
            if link and total > inv.total.minor - self.linked.get(inv.id, 0):
                return False
            if inv.balance_due.minor < total:
                return False
            return not spread or self._second(inv, total) is not None

        inv = self._pick(fits)
        spec = _spec(reason, inv)
        assert spec is not None
        _, link, kwargs = spec
        issued_on = None if status is MemoStatus.DRAFT else on
        if reason is Reason.DUPLICATE_CHARGE:  # C6: start from the invoice
            memo = memos.create_from_invoice(self.db, actor=self.actor, invoice_id=inv.id,
                                             reason=reason.value, issue_date=issued_on,
                                             notes=kwargs.get("notes"))
            self.reserved.add(inv.id)
        else:
            memo = memos.create_memo(self.db, actor=self.actor, customer_id=inv.customer_id,
                                     reason=reason.value, currency=inv.currency,
                                     invoice_id=inv.id if link else None,
                                     issue_date=issued_on, **kwargs)
        if link:
            self.linked[inv.id] = self.linked.get(inv.id, 0) + memo.total.minor
        if status is MemoStatus.DRAFT:
            return
        if status is MemoStatus.VOID:
            self.voided += 1
            if self.voided % 2:  # every other one is voided after issue, the rest as drafts
                memo_lifecycle.issue_memo(self.db, actor=self.actor, memo_id=memo.id)
            memo_lifecycle.void_memo(self.db, actor=self.actor, memo_id=memo.id,
                                     reason=VOID_REASONS[self.voided % len(VOID_REASONS)])
            if link:
                self.linked[inv.id] -= memo.total.minor
            return
        memo_lifecycle.issue_memo(self.db, actor=self.actor, memo_id=memo.id)
        total = memo.total.minor
        if status is MemoStatus.PARTIALLY_APPLIED:
            self._apply(memo.id, inv, max(1, total * rng.randint(30, 70) // 100))
        elif status is MemoStatus.APPLIED and spread:
            first = total * rng.randint(40, 60) // 100
            second = self._second(inv, total - first)
            assert second is not None
            self._apply(memo.id, inv, first)
            self._apply(memo.id, second, total - first)
        elif status is MemoStatus.APPLIED:
            self._apply(memo.id, inv, total)

    def _apply(self, memo_id: str, inv: views.InvoiceView, minor: int) -> None:
        done = credit.apply_credit(self.db, actor=self.actor, memo_id=memo_id, invoice_id=inv.id,
                                   amount=_money(minor, inv.currency))
        self.invoices[inv.id] = done.invoice

    # --- payments -------------------------------------------------------------
    def _payments(self) -> None:
        rng, now = self.rng, clock.now()
        for inv in list(self.invoices.values()):
            if (inv.status not in ("open", "partially_paid") or inv.issue_date is None
                    or inv.id in self.reserved):  # nobody pays a charge credited as duplicate
                continue
            age = (self.today - inv.issue_date).days
            roll = rng.random()
            if inv.credit_applied.minor:
                plan = "full" if roll < 0.5 else "none"
            elif age > 60:
                plan = "full" if roll < 0.8 else ("part" if roll < 0.9 else "none")
            elif age > 20:
                plan = "full" if roll < 0.35 else ("part" if roll < 0.6 else "none")
            else:
                plan = "none"
            if plan == "none":
                continue
            balance = inv.balance_due.minor
            part = max(1, balance * rng.randint(25, 75) // 100)
            amounts = [part]
            if plan == "full":  # in one payment, or in two instalments
                amounts = [balance] if rng.random() < 0.7 or part >= balance else [
                    part, balance - part]
            paid_on = inv.issue_date
            for minor in amounts:
                paid_on = paid_on + timedelta(days=rng.randint(5, 30))
                paid_at = min(now, datetime.combine(paid_on, time(15, 30), UTC))
                inv = invoices.record_payment(self.db, actor=self.actor, invoice_id=inv.id,
                                              amount=_money(minor, inv.currency), paid_at=paid_at)
            self.invoices[inv.id] = inv


# --- what each reason credits, sized from the invoice it concerns ------------------------

def _line(description: str, quantity: int, price: Money, variant_id: str | None = None) -> dict:
    return {"description": description, "quantity": quantity, "unit_price": price.to_str(),
            "variant_id": variant_id}


def _spec(reason: Reason, inv: views.InvoiceView) -> tuple[int, bool, dict] | None:
    """(total in minor units, linked to ``inv``?, the create_memo arguments) of a memo for
    ``reason`` about ``inv``, or None when the invoice has nothing that reason credits."""
    cur, first = inv.currency, inv.lines[0]
    goods = next((li for li in inv.lines if li.variant_id), None)
    seats = next((li for li in inv.lines if li.description == SEATS and li.quantity > 3), None)
    if reason is Reason.RETURNED_GOODS and goods:
        qty = min(2, goods.quantity)
        return goods.unit_price.minor * qty, True, {
            "lines": [_line(f"Returned: {goods.description}", qty, goods.unit_price,
                            goods.variant_id)],
            "notes": f"Returned unopened from {inv.number}; back on the shelf."}
    if reason is Reason.DAMAGED_GOODS and goods:
        return goods.unit_price.minor, True, {
            "lines": [_line(f"Damaged on delivery: {goods.description}", 1, goods.unit_price)],
            "notes": "Carrier damage; the unit was scrapped, so nothing goes back to stock."}
    if reason is Reason.PRICING_ERROR and first.unit_price.minor >= 10:
        price = Money(first.unit_price.minor // 10, cur)
        return price.minor * first.quantity, True, {
            "lines": [_line(f"Price correction: {first.description}", first.quantity, price)],
            "notes": "Billed at list price instead of the contracted 10% discount."}
    if reason is Reason.BILLING_ADJUSTMENT and seats:
        return seats.unit_price.minor * 2, True, {
            "lines": [_line("Seat count correction: 2 seats offboarded", 2, seats.unit_price)],
            "notes": "Two leavers were still counted in the monthly seat total."}
    if reason is Reason.SERVICE_ISSUE and seats:
        total = max(100, inv.total.minor // 1000 * 100)  # a tenth, in whole currency units
        return total, True, {"amount": _money(total, cur),
                             "notes": "Email outage; the 4-hour resolution SLA was missed."}
    if reason is Reason.GOODWILL:
        total = 25_000 if inv.total.minor >= 100_000 else 5_000
        return total, False, {"amount": _money(total, cur),
                              "notes": "Goodwill for the delays during the office move."}
    if reason is Reason.OTHER:
        return 7_500, False, {"amount": _money(7_500, cur),
                              "notes": "Referral credit: introduced a new client."}
    if (reason is Reason.DUPLICATE_CHARGE and inv.status == "open" and len(inv.lines) <= 2):
        return inv.total.minor, True, {
            "notes": "This invoice repeats the previous one; credited in full."}
    return None
