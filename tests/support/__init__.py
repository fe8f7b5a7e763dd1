"""Helpers shared by the test suites (databases, the running app, the browser)."""
