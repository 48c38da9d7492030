"""Use cases (one keyword-only function each, one transaction each) and read models."""
