"""Scheduled and queued work: the same job functions on every runner."""
