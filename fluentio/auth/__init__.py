"""Accounts: email-and-password sign-up and sign-in, login sessions, email links, limits.

Use cases live in `service`; the building blocks (passwords, tokens, sessions, email,
rate limits) each have their own module. Every failure a person can hit is an
`errors.AuthError` whose `.message` can be shown as is.
"""
