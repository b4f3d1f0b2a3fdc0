"""The web app at /app/: one client of the public API for every role (CONTRACT.md §5)."""
