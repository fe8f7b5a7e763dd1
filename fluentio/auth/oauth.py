"""Google and Apple sign-in (OpenID Connect), from the redirect to the signed-in user.

The flow, for either provider:

1. `start_flow` reads the provider's OpenID configuration (GOOGLE_METADATA_URL or
   APPLE_METADATA_URL), makes a random state, nonce and (for Google) PKCE verifier, and
   returns the provider's authorisation URL and a `Flow` that the route keeps in a
   short-lived signed cookie (`dump_flow` / `load_flow`).
2. `finish_flow` checks the callback against that flow (state, provider error), swaps
   the code for tokens with Authlib's async client, and validates the ID token against
   the provider's published keys: signature, issuer, audience, expiry and nonce.
3. `sign_in_with_provider` turns the verified profile into a Fluentio user (see its
   docstring for the linking rules) in one transaction.

Every network call is async (the server runs one event loop). Failures raise
`OAuthFlowError`, whose `code` the login page turns into a sentence (`error_message`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, OctKey
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from fluentio.auth.errors import AuthError, InvalidInputError
from fluentio.auth.roles import apply_listed_role, role_for
from fluentio.auth.service import _user_by_email, mark_verified, normalise_email
from fluentio.auth.sessions import revoke_all_login_sessions
from fluentio.billing.ledger import ensure_signup_bonus
from fluentio.models.auth import OAuthIdentity, User
from fluentio.models.base import utcnow
from fluentio.settings import Settings, get_settings

logger = logging.getLogger(__name__)

GOOGLE = "google"
APPLE = "apple"
PROVIDER_LABELS = {GOOGLE: "Google", APPLE: "Apple"}

FLOW_COOKIE = "fluentio_oauth"
FLOW_TTL_SECONDS = 600
HTTP_TIMEOUT_SECONDS = 10.0
METADATA_TTL_SECONDS = 3600
APPLE_SECRET_TTL_SECONDS = 300
ID_TOKEN_LEEWAY_SECONDS = 60
ID_TOKEN_ALGORITHMS = ["RS256", "ES256"]


# --- Errors shown on the login page -------------------------------------------------

_ERROR_MESSAGES = {
    "oauth_state": (
        "That sign-in could not be matched to this browser (it may have expired or been "
        "started in another tab). Please try again."
    ),
    "oauth_cancelled": "{provider} sign-in was cancelled. Choose a way to log in below.",
    "oauth_failed": (
        "We could not confirm your {provider} sign-in. Please try again, or log in with your "
        "email and password."
    ),
    "oauth_unavailable": (
        "{provider} sign-in is not available right now. Please try again in a few minutes, or "
        "log in with your email and password."
    ),
    "oauth_unverified": (
        "A Fluentio account with this email already exists, but {provider} has not verified "
        "that the email is yours, so we did not connect them. Log in with your email and "
        "password instead."
    ),
    "oauth_unverified_new": (
        "{provider} has not verified your email address. Verify it with {provider} and try "
        "again, or sign up with your email and a password."
    ),
    "oauth_no_email": (
        "{provider} did not share your email address, which Fluentio needs for your account. "
        "Allow sharing it and try again, or sign up with your email and a password."
    ),
}


def error_message(code: str, provider: str = "") -> str:
    """The sentence for a `/login?error=<code>&provider=<name>` redirect ("" if unknown)."""
    template = _ERROR_MESSAGES.get(code, "")
    return template.format(provider=PROVIDER_LABELS.get(provider, "Google or Apple"))


class OAuthFlowError(AuthError):
    """A sign-in with Google or Apple that must not go on; `code` names the reason."""

    def __init__(self, code: str, provider: str, detail: str = "") -> None:
        super().__init__(error_message(code, provider))
        self.code = code
        self.provider = provider
        self.detail = detail  # for the log only, never shown


# --- Providers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    name: str
    client_id: str
    metadata_url: str
    scope: str
    response_mode: str | None  # "form_post": the callback is a POST
    use_pkce: bool

    @property
    def label(self) -> str:
        return PROVIDER_LABELS[self.name]

    def redirect_uri(self) -> str:
        return f"{get_settings().public_url}/auth/{self.name}/callback"

    def client_secret(self, issuer: str) -> str:
        """Google: the configured secret. Apple: a fresh ES256-signed JWT (Apple's rule)."""
        settings = get_settings()
        if self.name == GOOGLE:
            secret = settings.google_client_secret
            return secret.get_secret_value() if secret else ""
        return apple_client_secret(settings, audience=issuer)


def _apple_private_key_pem(settings: Settings) -> str:
    if settings.apple_private_key is not None:
        # .env files cannot hold newlines easily, so a literal \n stands for one.
        return settings.apple_private_key.get_secret_value().replace("\\n", "\n")
    if settings.apple_private_key_file:
        return Path(settings.apple_private_key_file).read_text()
    return ""


def apple_client_secret(settings: Settings, *, audience: str, now: int | None = None) -> str:
    """Apple's client secret: a JWT signed with the .p8 key (ES256), issued by the team,
    about the Services ID, for Apple's issuer. It lives a few minutes; one is made per
    sign-in, so nothing has to be renewed every six months."""
    issued = int(time.time()) if now is None else now
    key = ECKey.import_key(_apple_private_key_pem(settings))
    header = {"alg": "ES256", "kid": settings.apple_key_id}
    claims = {
        "iss": settings.apple_team_id,
        "sub": settings.apple_client_id,
        "aud": audience,
        "iat": issued,
        "exp": issued + APPLE_SECRET_TTL_SECONDS,
    }
    return jwt.encode(header, claims, key, algorithms=["ES256"])


def get_provider(name: str) -> Provider | None:
    """The provider if it is configured (its client id is set), else None."""
    settings = get_settings()
    if name == GOOGLE and settings.google_client_id:
        return Provider(
            name=GOOGLE,
            client_id=settings.google_client_id,
            metadata_url=settings.google_metadata_url,
            scope="openid email profile",
            response_mode=None,
            use_pkce=True,
        )
    if name == APPLE and settings.apple_client_id:
        return Provider(
            name=APPLE,
            client_id=settings.apple_client_id,
            metadata_url=settings.apple_metadata_url,
            # Asking for name or email obliges Apple to answer with form_post.
            scope="name email",
            response_mode="form_post",
            use_pkce=False,
        )
    return None


def configured_providers() -> list[str]:
    """Names of the providers offered on the login and sign-up pages, in display order."""
    return [name for name in (GOOGLE, APPLE) if get_provider(name) is not None]


# --- Provider documents (cached) --------------------------------------------------------

_documents: dict[str, tuple[float, Any]] = {}


async def _get_json(url: str, *, max_age: float = METADATA_TTL_SECONDS) -> Any:
    cached = _documents.get(url)
    if cached and time.monotonic() - cached[0] < max_age:
        return cached[1]
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as client:
        response = await client.get(url)
        response.raise_for_status()
        document = response.json()
    _documents[url] = (time.monotonic(), document)
    return document


async def _metadata(provider: Provider) -> dict[str, Any]:
    try:
        document = await _get_json(provider.metadata_url)
    except (httpx.HTTPError, ValueError) as exc:
        raise OAuthFlowError("oauth_unavailable", provider.name, f"metadata: {exc!r}") from exc
    required = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    if not isinstance(document, dict) or any(not document.get(k) for k in required):
        raise OAuthFlowError("oauth_unavailable", provider.name, "metadata lacks endpoints")
    return document


async def _signing_keys(provider: Provider, jwks_uri: str, kid: str | None) -> KeySet:
    """The provider's keys; fetched again once when a token names a key we do not know
    (providers rotate keys and publish the new one before using it)."""
    try:
        keys = KeySet.import_key_set(await _get_json(jwks_uri))
        if kid is not None and kid not in {key.kid for key in keys}:
            keys = KeySet.import_key_set(await _get_json(jwks_uri, max_age=0))
    except (httpx.HTTPError, ValueError, JoseError) as exc:
        raise OAuthFlowError("oauth_unavailable", provider.name, f"jwks: {exc!r}") from exc
    return keys


# --- The flow cookie --------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    """What the browser must bring back to the callback: kept in a signed cookie."""

    provider: str
    state: str
    nonce: str
    verifier: str
    next_path: str
    issued_at: int


def _flow_key() -> OctKey:
    secret = get_settings().secret_key.get_secret_value().encode()
    return OctKey.import_key(hashlib.sha256(b"fluentio-oauth-flow|" + secret).digest())


def dump_flow(flow: Flow) -> str:
    """The flow as a compact HS256 JWT (joserfc), signed with a key derived from the secret."""
    return jwt.encode({"alg": "HS256"}, asdict(flow), _flow_key(), algorithms=["HS256"])


def load_flow(value: str | None, *, now: float | None = None) -> Flow | None:
    """The flow in a cookie, or None if it is missing, forged or older than ten minutes."""
    if not value:
        return None
    try:
        flow = Flow(**jwt.decode(value, _flow_key(), algorithms=["HS256"]).claims)
    except (JoseError, ValueError, TypeError):
        return None
    age = (time.time() if now is None else now) - flow.issued_at
    return flow if 0 <= age <= FLOW_TTL_SECONDS else None


# --- Start and finish -------------------------------------------------------------------


def _oauth_client(provider: Provider, client_secret: str = "") -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=client_secret,
        token_endpoint_auth_method="client_secret_post",
        code_challenge_method="S256" if provider.use_pkce else None,
        redirect_uri=provider.redirect_uri(),
        scope=provider.scope,
        timeout=HTTP_TIMEOUT_SECONDS,
    )


async def start_flow(provider: Provider, *, next_path: str) -> tuple[str, Flow]:
    """The provider's authorisation URL and the flow to keep in the browser's cookie."""
    metadata = await _metadata(provider)
    flow = Flow(
        provider=provider.name,
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        verifier=secrets.token_urlsafe(48) if provider.use_pkce else "",
        next_path=next_path,
        issued_at=int(time.time()),
    )
    extra: dict[str, str] = {"nonce": flow.nonce}
    if provider.response_mode:
        extra["response_mode"] = provider.response_mode
    async with _oauth_client(provider) as client:
        url, _state = client.create_authorization_url(
            metadata["authorization_endpoint"],
            state=flow.state,
            code_verifier=flow.verifier or None,
            **extra,
        )
    return url, flow


@dataclass(frozen=True)
class Profile:
    """Who the provider says signed in, from a validated ID token."""

    provider: str
    subject: str
    email: str
    email_verified: bool
    name: str


def _truthy(value: object) -> bool:
    # Apple sends email_verified as the string "true"; Google as a boolean.
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _apple_user_name(raw: str) -> str:
    """The name in Apple's `user` form field, which Apple sends on the first sign-in only."""
    try:
        name = json.loads(raw).get("name") or {}
        return " ".join(part for part in (name.get("firstName"), name.get("lastName")) if part)
    except (ValueError, AttributeError):
        return ""


async def finish_flow(provider: Provider, flow: Flow | None, params: Mapping[str, str]) -> Profile:
    """Check a callback against the browser's flow and return the verified profile."""
    name = provider.name
    state = params.get("state", "")
    if flow is None or flow.provider != name or not state or not hmac.compare_digest(state, flow.state):
        raise OAuthFlowError("oauth_state", name, "state missing or different from the cookie's")
    if error := params.get("error"):
        cancelled = error in {"access_denied", "user_cancelled_authorize"}
        raise OAuthFlowError("oauth_cancelled" if cancelled else "oauth_failed", name, f"provider: {error}")
    code = params.get("code", "")
    if not code:
        raise OAuthFlowError("oauth_failed", name, "no code in the callback")

    metadata = await _metadata(provider)
    issuer = metadata["issuer"]
    try:
        async with _oauth_client(provider, provider.client_secret(issuer)) as client:
            token = await client.fetch_token(
                metadata["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                redirect_uri=provider.redirect_uri(),
                **({"code_verifier": flow.verifier} if flow.verifier else {}),
            )
    except httpx.HTTPError as exc:
        raise OAuthFlowError("oauth_unavailable", name, f"token endpoint: {exc!r}") from exc
    except Exception as exc:  # Authlib raises OAuthError and friends for error answers
        raise OAuthFlowError("oauth_failed", name, f"token exchange: {exc!r}") from exc

    claims = await _validate_id_token(provider, metadata, str(token.get("id_token") or ""), flow.nonce)
    display_name = str(claims.get("name") or "")
    if not display_name and name == APPLE:
        display_name = _apple_user_name(params.get("user", ""))
    return Profile(
        provider=name,
        subject=str(claims["sub"]),
        email=str(claims.get("email") or ""),
        email_verified=_truthy(claims.get("email_verified")),
        name=display_name,
    )


async def _validate_id_token(
    provider: Provider, metadata: Mapping[str, Any], id_token: str, nonce: str
) -> dict[str, Any]:
    if not id_token:
        raise OAuthFlowError("oauth_failed", provider.name, "no id_token in the token response")
    try:
        kid = jws.extract_compact(id_token.encode()).headers().get("kid")
    except JoseError as exc:
        raise OAuthFlowError("oauth_failed", provider.name, f"id_token unreadable: {exc!r}") from exc
    keys = await _signing_keys(provider, metadata["jwks_uri"], kid)
    try:
        decoded = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
        jwt.JWTClaimsRegistry(
            leeway=ID_TOKEN_LEEWAY_SECONDS,
            iss={"essential": True, "value": metadata["issuer"]},
            aud={"essential": True, "value": provider.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        raise OAuthFlowError("oauth_failed", provider.name, f"id_token rejected: {exc!r}") from exc
    return dict(decoded.claims)


# --- From profile to user ---------------------------------------------------------------


def sign_in_with_provider(*, session: Session, profile: Profile) -> tuple[User, bool]:
    """The user for a verified provider profile, and whether the account is new.

    - An identity already linked (provider + subject) signs its user in.
    - Otherwise, a live account with the same email is linked only if the provider has
      verified the email. If that account's own email was never verified, whoever
      created it may not own the inbox, so its password is removed and its sessions
      ended: the verified owner takes the account, a squatter loses it.
    - An unverified email never takes over an account, and does not create one either
      (a squatter could otherwise claim someone's address before they sign up).
    - A new account, and an unverified one the provider's verified email takes over,
      gets the welcome credits through the ledger's once-only grant.

    Admin rights follow FLUENTIO_ADMIN_EMAILS at every sign-in, as with passwords.
    """
    for attempt in range(2):
        try:
            user, created = _link_or_create(session, profile)
            apply_listed_role(user)
            user.last_login_at = utcnow()
            session.add(user)
            session.commit()
            return user, created
        except IntegrityError:
            # A simultaneous first sign-in made the same user or identity; the second
            # pass finds it.
            session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")


def _link_or_create(session: Session, profile: Profile) -> tuple[User, bool]:
    name = profile.provider
    identity = session.exec(
        select(OAuthIdentity).where(OAuthIdentity.provider == name, OAuthIdentity.subject == profile.subject)
    ).first()
    if identity is not None:
        user = session.get(User, identity.user_id)
        if user is None or user.deleted_at is not None:
            raise OAuthFlowError("oauth_failed", name, "identity of a deleted account")
        if profile.email:
            identity.email = profile.email.lower()[:320]
        identity.email_verified = profile.email_verified
        session.add(identity)
        return user, False

    if not profile.email:
        raise OAuthFlowError("oauth_no_email", name)
    try:
        email = normalise_email(profile.email)
    except InvalidInputError as exc:
        raise OAuthFlowError("oauth_no_email", name, "malformed email") from exc
    user = _user_by_email(session, email)
    created = False
    if user is not None:
        if not profile.email_verified:
            logger.info("refused to link an unverified %s email to account %s", name, user.id)
            raise OAuthFlowError("oauth_unverified", name)
        if user.email_verified_at is None:
            user.password_hash = None
            revoke_all_login_sessions(session=session, user_id=user.id)
            mark_verified(session=session, user=user)
        if not user.display_name and profile.name:
            user.display_name = " ".join(profile.name.split())[:100]
        logger.info("linked %s to existing account %s", name, user.id)
    else:
        if not profile.email_verified:
            raise OAuthFlowError("oauth_unverified_new", name)
        user = User(
            email=email,
            display_name=" ".join(profile.name.split())[:100],
            role=role_for(email, verified=True),
            email_verified_at=utcnow(),
        )
        session.add(user)
        session.flush()
        ensure_signup_bonus(session=session, user_id=user.id)
        created = True
        logger.info("account %s signed up with %s", user.id, name)
    session.add(
        OAuthIdentity(
            user_id=user.id,
            provider=name,
            subject=profile.subject,
            email=email,
            email_verified=profile.email_verified,
        )
    )
    session.flush()
    return user, created
