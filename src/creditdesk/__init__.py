"""CreditDesk: accounts-receivable credit memos, native and synced from accounting systems."""

__version__ = "0.1.0"
