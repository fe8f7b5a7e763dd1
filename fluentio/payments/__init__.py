"""Payments through Dodo Payments: checkout, the webhook inbox, reconciliation, invoices,
(the admin tools live in fluentio/backoffice/, the local stand-in for Dodo's API in
fluentio/simulator/dodo.py).

Credits only ever move through fluentio.billing.ledger; this package decides *when*.
"""
