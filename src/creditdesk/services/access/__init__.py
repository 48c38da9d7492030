"""Who is acting: partners, users, API keys, sign-in, sessions and portal sign-in links (E4, E5)."""
