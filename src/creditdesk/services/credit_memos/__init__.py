"""Native credit memos: drafts, issue and void, applying and removing credit, the journal
and stock they post, and the rolled-back preview of each (C, L, A, U, J, P6)."""
