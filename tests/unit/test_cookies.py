import pytest

from fluentio.auth.cookies import SESSION_COOKIE, read_cookie, safe_next_path


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"{SESSION_COOKIE}=abc123", "abc123"),
        (f"theme=dark; {SESSION_COOKIE}=tok-en_1; other=x", "tok-en_1"),
        ("theme=dark", None),
        ("", None),
        (None, None),
        (f'{SESSION_COOKIE}="unterminated', None),
    ],
)
def test_read_cookie(header: str | None, expected: str | None) -> None:
    assert read_cookie(header) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/history?page=2", "/history?page=2"),
        ("/admin", "/admin"),
        (None, "/classroom"),
        ("", "/classroom"),
        ("https://evil.example/", "/classroom"),
        ("//evil.example/x", "/classroom"),
        ("/\\evil.example", "/classroom"),
        ("javascript:alert(1)", "/classroom"),
    ],
)
def test_next_path_only_allows_local_paths(given: str | None, expected: str) -> None:
    assert safe_next_path(given) == expected
