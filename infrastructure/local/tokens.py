"""The local OAuth2 token endpoint: Cognito's client-credentials flow, on one machine.

In AWS every party is an app client of a Cognito user pool and gets its access token from the pool
domain's ``/oauth2/token``; the REST API's Cognito authorizer then checks that token before the API
function runs. Locally the gateway serves this endpoint and calls ``verify`` in the authorizer's place,
so a partner's client code (and the API function) cannot tell the two apart: same request, same
response and error shapes (RFC 6749 §4.4 and §5), same access-token claims.

Tokens are signed with an ES256 key made when the process starts: restarting the stack invalidates
every token it issued, as rotating a pool's keys would.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jwt import JWTClaimsRegistry

from jevs.resources import party_scope

PARTIES_FILE = Path(__file__).with_name("parties.json")
TOKEN_PATH = "/oauth2/token"  # noqa: S105  (a path, not a secret)
# Cognito publishes a pool's signing keys under its issuer; the local issuer is the gateway's /oauth2.
JWKS_PATH = "/oauth2/.well-known/jwks.json"
TOKEN_LIFETIME_SECONDS = 3600
SIGNING_ALGORITHM = "ES256"

Claims = dict[str, Any]


@dataclass(frozen=True)
class Client:
    """One OAuth2 app client and the party it stands for (``parties.json``)."""

    client_id: str
    client_secret: str
    party: Mapping[str, Any]

    def registration(self) -> dict[str, Any]:
        """The client as the API function's party registry knows it: never with its secret."""
        return {"client_id": self.client_id, "party": dict(self.party)}

    @property
    def scope(self) -> str:
        """The one scope this client is allowed, as Cognito allows each app client its party type's."""
        return party_scope(str(self.party["type"]))


def load_clients(path: Path = PARTIES_FILE) -> list[Client]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return [
        Client(client_id=entry["client_id"], client_secret=entry["client_secret"], party=entry["party"])
        for entry in document["clients"]
    ]


@dataclass(frozen=True)
class TokenAnswer:
    """What the token endpoint answers, ready for any HTTP server to send."""

    status: int
    headers: dict[str, str]
    body: bytes


# RFC 6749 §5.1: token responses, good or bad, must never be cached.
_NO_STORE = {"Content-Type": "application/json;charset=UTF-8", "Cache-Control": "no-store", "Pragma": "no-cache"}


def _answer(status: int, document: Mapping[str, Any], extra_headers: Mapping[str, str] | None = None) -> TokenAnswer:
    return TokenAnswer(status, {**_NO_STORE, **(extra_headers or {})}, json.dumps(document).encode())


def _error(status: int, error: str, description: str) -> TokenAnswer:
    # RFC 6749 §5.2: a client that failed to authenticate is told which scheme to use.
    extra = {"WWW-Authenticate": 'Basic realm="jevs-local", charset="UTF-8"'} if status == 401 else None
    return _answer(status, {"error": error, "error_description": description}, extra)


class _Refused(Exception):
    def __init__(self, answer: TokenAnswer) -> None:
        super().__init__(answer.status)
        self.answer = answer


class TokenService:
    def __init__(
        self,
        clients: Iterable[Client],
        issuer: str,
        *,
        lifetime_seconds: int = TOKEN_LIFETIME_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clients = {client.client_id: client for client in clients}
        self.issuer = issuer
        self._lifetime = lifetime_seconds
        self._clock = clock
        self._key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": SIGNING_ALGORITHM}, auto_kid=True)

    # -- the endpoint -------------------------------------------------------------------------------

    def token_endpoint(self, *, authorization: str | None, content_type: str | None, body: bytes) -> TokenAnswer:
        """``POST /oauth2/token``: a client-credentials grant, or the RFC 6749 error explaining the refusal."""
        try:
            form = self._form(content_type, body)
            client = self._authenticate(authorization, form)
            grant_type = form.get("grant_type")
            if grant_type is None:
                raise _Refused(_error(400, "invalid_request", "grant_type is required"))
            if grant_type != "client_credentials":
                raise _Refused(_error(400, "unsupported_grant_type", "only grant_type=client_credentials is supported"))
            scopes = self._granted_scopes(client, form.get("scope"))
        except _Refused as refused:
            return refused.answer
        return _answer(
            200,
            {
                "access_token": self.issue(client.client_id, scopes),
                "expires_in": self._lifetime,
                "token_type": "Bearer",
            },
        )

    @staticmethod
    def _form(content_type: str | None, body: bytes) -> dict[str, str]:
        media_type = (content_type or "").split(";")[0].strip().lower()
        if media_type != "application/x-www-form-urlencoded":
            raise _Refused(_error(400, "invalid_request", "the body must be application/x-www-form-urlencoded"))
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise _Refused(_error(400, "invalid_request", "the body is not UTF-8")) from None
        form = dict(pairs)
        if len(form) != len(pairs):
            # RFC 6749 §3.2: a parameter must not be given twice.
            raise _Refused(_error(400, "invalid_request", "a parameter is given more than once"))
        return form

    def _authenticate(self, authorization: str | None, form: dict[str, str]) -> Client:
        if authorization is not None:
            if "client_secret" in form:
                # RFC 6749 §2.3: a client uses exactly one authentication method per request.
                raise _Refused(_error(400, "invalid_request", "client credentials are given twice"))
            client_id, secret = self._basic_credentials(authorization)
            if "client_id" in form and form["client_id"] != client_id:
                raise _Refused(_error(400, "invalid_request", "client_id differs from the authenticated client"))
        elif "client_id" in form:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        else:
            raise _Refused(_error(401, "invalid_client", "client authentication is required (HTTP Basic)"))
        client = self._clients.get(client_id)
        # Compare even for an unknown client, so timing does not tell which client ids exist.
        expected = client.client_secret if client else ""
        if not hmac.compare_digest(expected.encode(), secret.encode()) or client is None:
            raise _Refused(_error(401, "invalid_client", "client authentication failed"))
        return client

    @staticmethod
    def _basic_credentials(authorization: str) -> tuple[str, str]:
        scheme, _, encoded = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            raise _Refused(_error(401, "invalid_client", "use HTTP Basic authentication"))
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _Refused(_error(401, "invalid_client", "malformed Basic credentials")) from None
        client_id, colon, secret = decoded.partition(":")
        if not colon:
            raise _Refused(_error(401, "invalid_client", "malformed Basic credentials"))
        # RFC 6749 §2.3.1: both parts are form-encoded before they are joined.
        return unquote_plus(client_id), unquote_plus(secret)

    @staticmethod
    def _granted_scopes(client: Client, requested: str | None) -> tuple[str, ...]:
        # Like Cognito: no scope asked for means every scope the client is allowed (its party type's, one).
        allowed = (client.scope,)
        if requested is None or not requested.strip():
            return allowed
        asked = tuple(dict.fromkeys(requested.split()))
        unknown = [scope for scope in asked if scope not in allowed]
        if unknown:
            raise _Refused(_error(400, "invalid_scope", f"not allowed for this client: {' '.join(unknown)}"))
        return asked

    # -- tokens -------------------------------------------------------------------------------------

    def issue(self, client_id: str, scopes: Iterable[str] | None = None, *, issued_at: float | None = None) -> str:
        """An access token with the claims a Cognito client-credentials token carries: the client's own scope, or
        ``scopes`` as given (a test's token for scopes Cognito would never grant the client); issued now, or at
        ``issued_at`` (a test's expired token)."""
        client = self._clients.get(client_id)
        if client is None:
            raise KeyError(client_id)
        now = int(self._clock() if issued_at is None else issued_at)
        claims: Claims = {
            "sub": client_id,
            "client_id": client_id,
            "token_use": "access",
            "scope": " ".join(scopes if scopes is not None else (client.scope,)),
            "auth_time": now,
            "iss": self.issuer,
            "exp": now + self._lifetime,
            "iat": now,
            "version": 2,
            "jti": str(uuid.uuid4()),
        }
        # Cognito's header carries kid and alg only (no typ).
        header = {"alg": SIGNING_ALGORITHM, "kid": self._key.kid}
        return jwt.encode(header, claims, self._key, algorithms=[SIGNING_ALGORITHM], default_type=None)

    def verify(self, token: str) -> Claims | None:
        """What the authorizer checks: our signature, our issuer, not expired, an access token of a client.

        None for anything else, whatever the reason: the gateway refuses all of them alike.
        """
        try:
            decoded = jwt.decode(token, self._key, algorithms=[SIGNING_ALGORITHM])
            JWTClaimsRegistry(
                now=lambda: int(self._clock()),
                iss={"essential": True, "value": self.issuer},
                exp={"essential": True},
                token_use={"essential": True, "value": "access"},
                client_id={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError, TypeError):
            # Garbage may fail before joserfc's own checks (base64, JSON, types): equally not a token.
            return None
        return decoded.claims

    def jwks(self) -> dict[str, Any]:
        """The public signing keys, as Cognito serves them under the issuer."""
        return {"keys": [self._key.as_dict(private=False)]}
