"""Password hashing (Argon2id through pwdlib) and the rules a new password must meet."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")

_hasher = PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return verify_and_rehash(password, password_hash)[0]


def verify_and_rehash(password: str, password_hash: str) -> tuple[bool, str | None]:
    """(matches, new hash or None): a new hash is returned when the stored one uses
    weaker parameters than today's, so sign-in can upgrade it transparently."""
    try:
        return _hasher.verify_and_update(password, password_hash)
    except Exception:  # a corrupt or foreign hash must read as "wrong password", not crash
        return False, None


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash of nothing anyone knows, verified against when the email is unknown so
    that a wrong email costs as much time as a wrong password."""
    return hash_password(secrets.token_urlsafe(24))


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """A sentence saying what is wrong with `password`, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters for your password."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters for your password."
    lowered = password.strip().lower()
    if lowered in common_passwords():
        return "This password is one of the most common ones. Choose something harder to guess."
    if email:
        email = email.strip().lower()
        # The part before @ is as guessable as the whole address.
        if lowered in {email, email.split("@", 1)[0]}:
            return "Your password cannot be your email address."
    return None
