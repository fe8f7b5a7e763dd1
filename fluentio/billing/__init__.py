"""Credits and payments: packs, the ledger, the payment provider and its webhooks."""

from fluentio.billing import ledger as ledger  # registers the ledger's append-only guard
