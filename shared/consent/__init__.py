"""The one owner of the consent tables: the ledger, contact subscriptions and suppressions."""
