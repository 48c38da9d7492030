"""Helpers every context uses: the actor and clock, the audit trail, Idempotency-Keys,
numbering, pagination, the credential vault, line rows, Core DML helpers."""
