"""The analytics tables: what the fold writes and what the reports read."""
