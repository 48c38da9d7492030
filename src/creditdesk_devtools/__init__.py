"""Dev tools kept out of the creditdesk wheel: the accounting fakes, the G4 evaluation."""
