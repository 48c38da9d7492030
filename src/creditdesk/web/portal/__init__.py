"""The Customer Portal: pages under /portal/ for one customer at a time (P3, P4)."""
