"""The sender's I/O: tables, SMTP, the SMS provider, webhooks and link fetches."""
