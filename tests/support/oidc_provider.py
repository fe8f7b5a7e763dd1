"""A local OpenID Connect provider for the tests: a stand-in for Google or Apple.

It serves, on 127.0.0.1 under the host name `localhost` (so that, to a browser, it is
another site than the app at 127.0.0.1):

- `/.well-known/openid-configuration` and `/jwks` (its RS256 signing key, made per run);
- `/authorize`: a page with a "Sign in as <email>" button and a "Cancel" button, which
  returns to `redirect_uri` with a code, by redirect (query) or, for
  `response_mode=form_post`, by an auto-submitting cross-site POST like Apple's, which
  also carries Apple's `user` field (the name) on the first authorisation;
- `/token`: swaps a code for an ID token after checking the client: a client secret
  (Google-like) or an ES256 client-secret JWT signed with the test's Apple key
  (Apple-like), the redirect URI and the PKCE verifier when a challenge was sent.

Tests choose who signs in next and what goes wrong with `provider.login`:

    provider.login = NextLogin(email="ana@example.com", email_verified=False)
    provider.login = NextLogin(email=..., tamper_id_token=True)   # signature breaks
    provider.login = NextLogin(email=..., wrong_nonce=True, alter_state=True)

`provider.token_requests` lists the token calls made, for assertions.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey


@dataclass
class NextLogin:
    """Who signs in at the next approval, and how the provider misbehaves."""

    email: str = "person@example.com"
    email_verified: bool = True
    name: str = "Test Person"
    subject: str = ""  # empty: derived from the email, so the same email is the same account
    tamper_id_token: bool = False  # change a claim after signing
    wrong_nonce: bool = False
    alter_state: bool = False  # send back a state the app did not make
    error: str = ""  # e.g. "access_denied": the provider returns this instead of a code

    def sub(self) -> str:
        return self.subject or "sub-" + hashlib.sha256(self.email.lower().encode()).hexdigest()[:20]


@dataclass
class AppleClientAuth:
    """What the Apple-like provider checks in the client-secret JWT."""

    team_id: str
    key_id: str
    public_key: ECKey


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    nonce: str
    code_challenge: str
    login: NextLogin
    expires: float


def make_apple_key() -> tuple[ECKey, str]:
    """An ES256 key like Apple's .p8 download: the key and its PKCS#8 PEM text."""
    key = ECKey.generate_key("P-256", private=True)
    pem = key.as_pem(private=True).decode()
    return key, pem


@dataclass
class LocalOpenIDProvider:
    client_id: str
    client_secret: str = ""  # Google-like client authentication
    apple: AppleClientAuth | None = None  # Apple-like client authentication instead
    email_verified_as_string: bool = False  # Apple writes "true"/"false"
    send_user_field: bool = False  # Apple's form_post `user` JSON, first authorisation only
    login: NextLogin = field(default_factory=NextLogin)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._key = RSAKey.generate_key(
            2048, parameters={"kid": f"test-{secrets.token_hex(4)}", "use": "sig"}
        )
        self._grants: dict[str, _Grant] = {}
        self._authorised: set[str] = set()
        self._lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                provider._handle(self, "GET")

            def do_POST(self) -> None:
                provider._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.issuer = f"http://localhost:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def start(self) -> LocalOpenIDProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- HTTP plumbing --------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(request.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        if method == "POST":
            length = int(request.headers.get("content-length") or 0)
            params.update({k: v[0] for k, v in parse_qs(request.rfile.read(length).decode()).items()})
        routes = {
            ("GET", "/.well-known/openid-configuration"): self._metadata,
            ("GET", "/jwks"): self._jwks,
            ("GET", "/authorize"): self._authorize_page,
            ("GET", "/authorize/decide"): self._decide,
            ("POST", "/token"): lambda p: self._token(p, request.headers.get("authorization", "")),
        }
        route = routes.get((method, url.path))
        status, content_type, body, headers = route(params) if route else (404, "text/plain", "not found", {})
        payload = body.encode()
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(payload)))
        request.send_header("Cache-Control", "no-store")
        for name, value in headers.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(payload)

    @staticmethod
    def _json(status: int, data: Any) -> tuple[int, str, str, dict[str, str]]:
        return status, "application/json", json.dumps(data), {}

    @staticmethod
    def _html(text: str) -> tuple[int, str, str, dict[str, str]]:
        return 200, "text/html; charset=utf-8", text, {}

    # --- Endpoints --------------------------------------------------------------------

    def _metadata(self, _params: dict[str, str]) -> tuple[int, str, str, dict[str, str]]:
        return self._json(
            200,
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "response_modes_supported": ["query", "form_post"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
            },
        )

    def _jwks(self, _params: dict[str, str]) -> tuple[int, str, str, dict[str, str]]:
        return self._json(200, {"keys": [self._key.as_dict(private=False, alg="RS256")]})

    def _authorize_page(self, params: dict[str, str]) -> tuple[int, str, str, dict[str, str]]:
        if params.get("client_id") != self.client_id or params.get("response_type") != "code":
            return 400, "text/plain", "unknown client or response type", {}
        if not params.get("redirect_uri") or not params.get("state"):
            return 400, "text/plain", "redirect_uri and state are required", {}
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        email = html.escape(self.login.email)
        return self._html(
            f"<!doctype html><html><head><title>Test provider</title></head><body>"
            f"<h1>Test OpenID provider</h1>"
            f'<form method="get" action="/authorize/decide">{hidden}'
            f'<button name="decision" value="approve">Sign in as {email}</button>'
            f'<button name="decision" value="cancel">Cancel</button></form></body></html>'
        )

    def _decide(self, params: dict[str, str]) -> tuple[int, str, str, dict[str, str]]:
        login = self.login
        redirect_uri = params["redirect_uri"]
        state = params["state"] + ("-altered" if login.alter_state else "")
        if params.get("decision") != "approve" or login.error:
            error = login.error or ("user_cancelled_authorize" if self.apple else "access_denied")
            answer = {"error": error, "state": state}
        else:
            code = secrets.token_urlsafe(24)
            with self._lock:
                self._grants[code] = _Grant(
                    client_id=params["client_id"],
                    redirect_uri=redirect_uri,
                    nonce=params.get("nonce", ""),
                    code_challenge=params.get("code_challenge", ""),
                    login=login,
                    expires=time.time() + 120,
                )
            answer = {"code": code, "state": state}
            sub = login.sub()
            if self.send_user_field and sub not in self._authorised:
                first, _, last = login.name.partition(" ")
                answer["user"] = json.dumps(
                    {"name": {"firstName": first, "lastName": last}, "email": login.email}
                )
            self._authorised.add(sub)
        if params.get("response_mode") == "form_post":
            inputs = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in answer.items()
            )
            return self._html(
                f'<!doctype html><html><body><form method="post" action="{html.escape(redirect_uri)}">'
                f"{inputs}</form><script>document.forms[0].submit()</script></body></html>"
            )
        return 302, "text/plain", "", {"Location": f"{redirect_uri}?{urlencode(answer)}"}

    def _token(self, params: dict[str, str], _authorization: str) -> tuple[int, str, str, dict[str, str]]:
        self.token_requests.append(dict(params))
        with self._lock:
            grant = self._grants.pop(params.get("code", ""), None)
        if grant is None or grant.expires < time.time() or params.get("grant_type") != "authorization_code":
            return self._json(400, {"error": "invalid_grant"})
        if params.get("client_id") != self.client_id or not self._client_ok(params.get("client_secret", "")):
            return self._json(401, {"error": "invalid_client"})
        if params.get("redirect_uri") != grant.redirect_uri:
            return self._json(400, {"error": "invalid_grant", "error_description": "redirect_uri"})
        if grant.code_challenge:
            verifier = params.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if digest != grant.code_challenge:
                return self._json(400, {"error": "invalid_grant", "error_description": "pkce"})
        return self._json(
            200,
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 3600,
                "id_token": self._id_token(grant),
            },
        )

    def _client_ok(self, secret: str) -> bool:
        if self.apple is None:
            return bool(self.client_secret) and secrets.compare_digest(secret, self.client_secret)
        try:
            token = jwt.decode(secret, self.apple.public_key, algorithms=["ES256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.apple.team_id},
                sub={"essential": True, "value": self.client_id},
                aud={"essential": True, "value": self.issuer},
                exp={"essential": True},
                iat={"essential": True},
            ).validate(token.claims)
        except Exception:
            return False
        return token.header.get("kid") == self.apple.key_id and token.claims["exp"] - time.time() < 3600

    def _id_token(self, grant: _Grant) -> str:
        login = grant.login
        now = int(time.time())
        verified: bool | str = login.email_verified
        if self.email_verified_as_string:
            verified = "true" if login.email_verified else "false"
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": grant.client_id,
            "sub": login.sub(),
            "iat": now,
            "exp": now + 600,
            "nonce": "not-the-nonce-the-app-sent" if login.wrong_nonce else grant.nonce,
            "email": login.email,
            "email_verified": verified,
        }
        if self.apple is None:
            claims["name"] = login.name
        token = jwt.encode({"alg": "RS256", "kid": self._key.kid}, claims, self._key, algorithms=["RS256"])
        if login.tamper_id_token:
            header, _payload, signature = token.split(".")
            forged = {**claims, "email": "someone-else@example.com"}
            payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
            token = f"{header}.{payload}.{signature}"
        return token
