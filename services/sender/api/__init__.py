"""HTTP routes of the sender."""
