"""The partner's books: connecting an accounting system and syncing from it (Y1-Y8)."""
