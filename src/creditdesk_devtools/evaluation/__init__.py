"""G4: suggestion quality measured on seeded, labelled partner histories (not tests)."""
