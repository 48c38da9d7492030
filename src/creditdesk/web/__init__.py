"""Interfaces only: the JSON API (and, later, the dashboard and portal pages)."""
