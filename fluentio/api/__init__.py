"""Plain HTTP routes served beside the Reflex pages (health, later webhooks and signalling)."""
