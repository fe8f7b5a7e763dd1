"""Password hashing and the rules a new password must meet."""

from __future__ import annotations

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from fluentio.auth.passwords import (
    common_passwords,
    dummy_hash,
    hash_password,
    password_problem,
    verify_and_rehash,
    verify_password,
)


def test_hash_is_argon2_salted_and_verifies() -> None:
    first = hash_password("correct horse battery")
    second = hash_password("correct horse battery")
    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert verify_password("correct horse battery", first)
    assert not verify_password("correct horse battery!", first)
    assert not verify_password("", first)


def test_garbage_hash_reads_as_wrong_password() -> None:
    assert verify_password("anything at all", "not-a-hash") is False
    assert verify_and_rehash("anything at all", "$argon2id$broken") == (False, None)


def test_weaker_hash_is_upgraded_on_verify() -> None:
    weak = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8192),)).hash("long enough pass")
    ok, upgraded = verify_and_rehash("long enough pass", weak)
    assert ok
    assert upgraded is not None and upgraded != weak
    assert verify_password("long enough pass", upgraded)
    assert verify_and_rehash("long enough pass", hash_password("long enough pass")) == (True, None)


def test_dummy_hash_is_stable_and_matches_nothing_obvious() -> None:
    assert dummy_hash() == dummy_hash()
    assert not verify_password("", dummy_hash())
    assert not verify_password("password", dummy_hash())


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short", "at least 8"),
        ("1234567", "at least 8"),
        ("x" * 129, "at most 128"),
        ("password", "most common"),
        ("PassWord123", "most common"),
        ("qwertyuiop", "most common"),
        ("iloveyou", "most common"),
    ],
)
def test_bad_passwords_are_explained(password: str, fragment: str) -> None:
    problem = password_problem(password)
    assert problem is not None and fragment in problem


def test_password_cannot_be_the_email() -> None:
    assert password_problem("Ada.Lovelace@Example.com", email="ada.lovelace@example.com") == (
        "Your password cannot be your email address."
    )
    assert password_problem("ada.lovelace", email="Ada.Lovelace@example.com") is not None
    assert password_problem("ada.lovelace rides", email="ada.lovelace@example.com") is None


def test_good_passwords_pass() -> None:
    assert password_problem("x" * 8) is None
    assert password_problem("y" * 128) is None
    assert password_problem("tea at the Ritz, 4pm", email="me@example.com") is None


def test_common_list_is_substantial_and_lower_case() -> None:
    words = common_passwords()
    assert len(words) >= 300
    assert all(word == word.lower() and word == word.strip() for word in words)
    assert {"123456", "password", "qwerty123"} <= words
