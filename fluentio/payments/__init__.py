"""Payments through Dodo Payments: checkout, the webhook inbox, reconciliation, invoices,
and the admin tools that move credits by hand (the local stand-in for Dodo's API lives
in fluentio/simulator/dodo.py).

Credits only ever move through fluentio.billing.ledger; this package decides *when*.
"""
