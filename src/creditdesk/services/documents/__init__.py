"""Documents of a memo: its PDF (D1) from the partner's profile, and its email (D2)
through the partner's SMTP server, delivered by the job system."""
