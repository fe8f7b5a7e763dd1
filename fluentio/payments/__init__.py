"""Payments through Dodo Payments: checkout, the webhook inbox, reconciliation, invoices,
the local stand-in for Dodo's API, and the admin tools that move credits by hand.

Credits only ever move through fluentio.billing.ledger; this package decides *when*.
"""
