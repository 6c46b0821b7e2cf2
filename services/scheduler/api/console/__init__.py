"""The marketer's console: server-rendered pages for signed-in console users (`shared/console_users.py`).

Flows with live counts and their maps, people found by email through the identifier hashes, and the
audit log; pausing and resuming a flow for editors and admins. See docs/console.md.
"""
