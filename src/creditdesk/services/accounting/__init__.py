"""The partner's ledger: journal postings and stock movements the other contexts make,
and the journal, trial balance and inventory activity they are read back from (J1-J3)."""
