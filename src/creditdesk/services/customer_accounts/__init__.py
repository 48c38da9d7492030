"""Customers, the references to their records in the books, and who may see credit
(S1, Y10, P1-P3)."""
