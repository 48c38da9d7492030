"""Local fakes of the accounting systems, speaking their real wire formats (tests, CLI demo)."""
