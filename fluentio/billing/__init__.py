"""Credits and payments: packs, the ledger, the payment provider and its webhooks."""
