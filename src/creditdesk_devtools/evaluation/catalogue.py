"""The generator's catalogue: products with prices that change on announced dates."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

PRODUCTS = ("Toner cartridge", "Laptop dock", "USB-C cable", "Wireless mouse", "Keyboard",
            "27in monitor", "Network switch", "Access point", "UPS battery", "SSD 1TB",
            "RAM 16GB", "Headset", "Webcam", "Patch cable", "Firewall appliance",
            "Rack shelf", "Printer paper (box)", "Label tape", "Surge protector", "HDMI adapter",
            "Laptop bag", "Docking cable", "Server rail kit", "NAS drive 8TB", "Smart PDU")
PLANS = ("Managed endpoint (per seat)", "Microsoft 365 Business (per seat)",
         "Endpoint security (per seat)", "Helpdesk plan (per user)", "Email archiving (per user)",
         "Backup agent (per server)")
SERVICES = ("Backup storage {period}", "Website hosting {period}", "Managed firewall {period}",
            "VoIP trunk {period}", "Cloud server {period}")


@dataclass(frozen=True)
class Variant:
    id: str
    name: str
    old_price: int
    new_price: int
    change_on: date | None  # the announced catalogue change; None = never changed

    def price_at(self, day: date) -> int:
        if self.change_on is not None and day < self.change_on:
            return self.old_price
        return self.new_price


def make(rng: random.Random, prefix: str, start: date, days: int) -> tuple[list[Variant],
                                                                          list[Variant]]:
    """(products, per-seat plans); a quarter of them change price once during the history."""

    def one(i: int, name: str, low: float, high: float) -> Variant:
        price = max(int(rng.uniform(low, high)) // 5 * 5, 100)
        change_on = None
        new = price
        if rng.random() < 0.25:
            change_on = start + timedelta(days=rng.randint(days // 5, days - 60))
            factor = rng.uniform(1.04, 1.25) if rng.random() < 0.75 else rng.uniform(0.8, 0.95)
            new = max(int(price * factor) // 5 * 5, 100)
        return Variant(f"{prefix}v{i}", name, price, new, change_on)

    products = [one(i, n, 300, 60000) for i, n in enumerate(PRODUCTS)]
    plans = [one(100 + i, n, 500, 9000) for i, n in enumerate(PLANS)]
    return products, plans
