"""Invoices, payments and the catalogue they are priced from (I1-I5)."""
