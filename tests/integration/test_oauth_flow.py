"""The Google and Apple flows against the local OpenID provider, without a browser:
authorisation URL, code exchange (client secret, Apple's ES256 JWT, PKCE) and ID-token
checks. The browser versions are in tests/e2e/test_oauth.py."""

from __future__ import annotations

import base64
import html
import json
import re
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt

from fluentio.auth import oauth
from fluentio.auth.oauth import Flow, OAuthFlowError, Provider, dump_flow, get_provider, load_flow
from fluentio.settings import get_settings
from tests.support.oidc_provider import AppleClientAuth, LocalOpenIDProvider, NextLogin, make_apple_key

GOOGLE_ID = "google-client.test"
GOOGLE_SECRET = "google-secret-for-tests"
APPLE_ID = "com.fluentio.test.web"


@pytest.fixture(scope="module")
def google_idp() -> Iterator[LocalOpenIDProvider]:
    provider = LocalOpenIDProvider(client_id=GOOGLE_ID, client_secret=GOOGLE_SECRET).start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def apple_key() -> tuple[object, str]:
    return make_apple_key()


@pytest.fixture(scope="module")
def apple_idp(apple_key: tuple[object, str]) -> Iterator[LocalOpenIDProvider]:
    key, _pem = apple_key
    provider = LocalOpenIDProvider(
        client_id=APPLE_ID,
        apple=AppleClientAuth(team_id="TEAM123456", key_id="KEY1234567", public_key=key),  # type: ignore[arg-type]
        email_verified_as_string=True,
        send_user_field=True,
    ).start()
    yield provider
    provider.stop()


@pytest.fixture(autouse=True)
def _configured(
    monkeypatch: pytest.MonkeyPatch,
    google_idp: LocalOpenIDProvider,
    apple_idp: LocalOpenIDProvider,
    apple_key: tuple[object, str],
) -> None:
    monkeypatch.setenv("FLUENTIO_PUBLIC_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("GOOGLE_CLIENT_ID", GOOGLE_ID)
    monkeypatch.setenv("GOOGLE_CLIENT_SECRET", GOOGLE_SECRET)
    monkeypatch.setenv("GOOGLE_METADATA_URL", google_idp.metadata_url)
    monkeypatch.setenv("APPLE_CLIENT_ID", APPLE_ID)
    monkeypatch.setenv("APPLE_TEAM_ID", "TEAM123456")
    monkeypatch.setenv("APPLE_KEY_ID", "KEY1234567")
    # As written in a .env file: the PEM on one line with literal \n.
    monkeypatch.setenv("APPLE_PRIVATE_KEY", apple_key[1].replace("\n", "\\n"))
    monkeypatch.setenv("APPLE_METADATA_URL", apple_idp.metadata_url)
    get_settings.cache_clear()
    oauth._documents.clear()


async def authorise(provider: Provider, idp: LocalOpenIDProvider) -> tuple[Flow, dict[str, str]]:
    """Start a flow and approve it at the provider, as the browser would."""
    url, flow = await oauth.start_flow(provider, next_path="/classroom")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{idp.issuer}/authorize/decide", params={**query, "decision": "approve"})
    if answer.status_code == 302:
        location = urlsplit(answer.headers["location"])
        return flow, {k: v[0] for k, v in parse_qs(location.query).items()}
    # form_post: the fields of the auto-submitting form
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', answer.text))
    return flow, {k: html.unescape(v) for k, v in fields.items()}


def test_only_configured_providers_are_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    assert oauth.configured_providers() == ["google", "apple"]
    monkeypatch.setenv("APPLE_CLIENT_ID", "")
    get_settings.cache_clear()
    assert oauth.configured_providers() == ["google"]
    assert get_provider("apple") is None
    assert get_provider("github") is None


async def test_google_flow_uses_pkce_and_returns_the_verified_profile(
    google_idp: LocalOpenIDProvider,
) -> None:
    google_idp.login = NextLogin(email="Ana@Example.com", name="Ana Lima")
    provider = get_provider("google")
    assert provider is not None
    url, _flow = await oauth.start_flow(provider, next_path="/x")
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == ["http://127.0.0.1:9999/auth/google/callback"]
    assert "nonce" in query and "response_mode" not in query

    flow, params = await authorise(provider, google_idp)
    profile = await oauth.finish_flow(provider, flow, params)
    assert profile.email == "Ana@Example.com"
    assert profile.email_verified is True
    assert profile.name == "Ana Lima"
    assert google_idp.token_requests[-1]["code_verifier"] == flow.verifier


async def test_apple_flow_signs_its_client_secret_and_reads_the_user_field(
    apple_idp: LocalOpenIDProvider,
) -> None:
    apple_idp.login = NextLogin(email="bo@example.com", name="Bo Chen")
    provider = get_provider("apple")
    assert provider is not None
    flow, params = await authorise(provider, apple_idp)
    assert "user" in params  # first authorisation
    profile = await oauth.finish_flow(provider, flow, params)
    assert (profile.email, profile.email_verified, profile.name) == ("bo@example.com", True, "Bo Chen")

    secret = apple_idp.token_requests[-1]["client_secret"]
    claims = jwt.decode(secret, apple_idp.apple.public_key).claims  # type: ignore[union-attr]
    assert claims["iss"] == "TEAM123456" and claims["sub"] == APPLE_ID and claims["aud"] == apple_idp.issuer
    assert claims["exp"] - claims["iat"] <= 300


@pytest.mark.parametrize(
    ("login", "code", "why"),
    [
        (NextLogin(email="t@example.com", tamper_id_token=True), "oauth_failed", "BadSignatureError"),
        (NextLogin(email="t@example.com", wrong_nonce=True), "oauth_failed", "'nonce'"),
        (NextLogin(email="t@example.com", alter_state=True), "oauth_state", "state"),
        (NextLogin(email="t@example.com", error="access_denied"), "oauth_cancelled", "access_denied"),
    ],
)
async def test_bad_callbacks_are_refused(
    google_idp: LocalOpenIDProvider, login: NextLogin, code: str, why: str
) -> None:
    google_idp.login = login
    provider = get_provider("google")
    assert provider is not None
    flow, params = await authorise(provider, google_idp)
    calls = len(google_idp.token_requests)
    with pytest.raises(OAuthFlowError) as caught:
        await oauth.finish_flow(provider, flow, params)
    assert caught.value.code == code
    assert why in caught.value.detail
    if code in {"oauth_state", "oauth_cancelled"}:
        assert len(google_idp.token_requests) == calls  # refused before the code was spent


async def test_a_callback_without_the_browsers_flow_is_refused(google_idp: LocalOpenIDProvider) -> None:
    google_idp.login = NextLogin(email="t@example.com")
    provider = get_provider("google")
    assert provider is not None
    flow, params = await authorise(provider, google_idp)
    other_apple_flow = Flow("apple", flow.state, flow.nonce, "", "/", flow.issued_at)
    for wrong in (None, other_apple_flow):
        with pytest.raises(OAuthFlowError) as caught:
            await oauth.finish_flow(provider, wrong, params)
        assert caught.value.code == "oauth_state"


async def test_an_unreachable_provider_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_METADATA_URL", "http://127.0.0.1:9/.well-known/openid-configuration")
    get_settings.cache_clear()
    provider = get_provider("google")
    assert provider is not None
    with pytest.raises(OAuthFlowError) as caught:
        await oauth.start_flow(provider, next_path="/")
    assert caught.value.code == "oauth_unavailable"
    assert "not available right now" in caught.value.message


def test_the_flow_cookie_is_signed_and_short_lived() -> None:
    flow = Flow("google", "s", "n", "v", "/classroom", int(time.time()))
    value = dump_flow(flow)
    assert load_flow(value) == flow
    assert load_flow(value, now=time.time() + oauth.FLOW_TTL_SECONDS + 5) is None
    header, _payload, signature = value.split(".")
    forged = json.dumps({**flow.__dict__, "next_path": "/admin"}).encode()
    forged_payload = base64.urlsafe_b64encode(forged).decode().rstrip("=")
    assert load_flow(f"{header}.{forged_payload}.{signature}") is None
    assert load_flow(f"{header}.{_payload}.{signature[::-1]}") is None
    assert load_flow("garbage") is None and load_flow(None) is None
