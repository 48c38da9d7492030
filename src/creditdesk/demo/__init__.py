"""The demo partner of `serve --demo`: its own data and its synced books."""
