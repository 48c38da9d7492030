"""Suggestions of likely credits: refresh, accept, dismiss, and the history they learn
from (G1-G4)."""
