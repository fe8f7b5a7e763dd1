"""The failures of the account use cases, each with a sentence a person can act on."""

from __future__ import annotations

from typing import Literal


class AuthError(Exception):
    """Base class: `.message` is safe to show to the user as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(AuthError):
    """A form field is malformed (email shape, display name, English level)."""


class WeakPasswordError(InvalidInputError):
    """The chosen password breaks a password rule."""


class InvalidCredentialsError(AuthError):
    """Wrong email or password; deliberately does not say which."""

    def __init__(self, message: str = "Email or password is incorrect.") -> None:
        super().__init__(message)


class InvalidTokenError(AuthError):
    """An email link cannot be used. `reason` lets a page offer the right next step."""

    def __init__(self, message: str, *, reason: Literal["expired", "invalid"]) -> None:
        super().__init__(message)
        self.reason = reason


class RateLimitedError(AuthError):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Too many attempts. Try again in {retry_after_seconds} s.")
        self.retry_after_seconds = retry_after_seconds


class AccountNotFoundError(AuthError):
    """The signed-in account no longer exists (deleted in another tab, for instance)."""

    def __init__(self) -> None:
        super().__init__("This account no longer exists. Sign up or log in with another account.")


class EmailDeliveryError(AuthError):
    def __init__(self) -> None:
        super().__init__("We could not send the email right now. Please try again in a few minutes.")
