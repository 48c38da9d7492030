"""Outbound webhooks (D4, D5): endpoints, the event outbox and its deliveries."""
