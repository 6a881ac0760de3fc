"""Who is calling: partner API keys, ops keys and member tokens, resolved to a `Principal`.

* **API keys** (``rgp_…`` for a partner's server, bound to one program; ``rgo_…`` for ops,
  partner-wide) are 256-bit random strings. Only their SHA-256 is stored: a key with that much
  entropy needs no slow hash, and a leaked table reveals no key.
* **Member tokens** are short-lived JWTs (HS256, signed with ``member_token_secret``) that a
  partner's server obtains with `issueMemberToken` and hands to its browser or mobile app. The
  algorithm, issuer and audience are fixed here, never taken from the token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import jwt
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.partners.models import ApiKey, ApiKeyRole

__all__ = [
    "KEY_PREFIXES",
    "CredentialCache",
    "Principal",
    "Unauthenticated",
    "authenticate",
    "derived_key",
    "hash_key",
    "issue_member_token",
    "new_api_key",
    "read_member_token",
    "store_api_key",
]

KEY_PREFIXES = {ApiKeyRole.PARTNER: "rgp_", ApiKeyRole.OPS: "rgo_"}
TOKEN_ISSUER = "rewardgate"  # noqa: S105 - a claim value, not a secret
TOKEN_AUDIENCE = "rewardgate:member"  # noqa: S105
TOKEN_ALGORITHM = "HS256"  # noqa: S105

Role = Literal["partner", "ops", "member"]


class Unauthenticated(Exception):
    """The credentials are missing, unknown, revoked or expired."""


@dataclass(frozen=True)
class Principal:
    role: Role
    partner_id: uuid.UUID
    program_id: uuid.UUID | None = None  # partner keys and member tokens act in one program
    member_id: str | None = None  # member tokens: the partner's own member id
    expires_at: float | None = None  # member tokens: when they stop working (UNIX seconds)


def new_api_key(role: str) -> str:
    return KEY_PREFIXES[role] + secrets.token_urlsafe(32)


def derived_key(role: str, secret: str, purpose: str) -> str:
    """A key derived from a secret: the same on every run (the demo), unguessable without it."""
    digest = hmac.new(secret.encode(), f"rewardgate:{role}:{purpose}".encode(), hashlib.sha256)
    return KEY_PREFIXES[role] + purpose + "_" + digest.hexdigest()[:40]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def store_api_key(
    session: AsyncSession,
    key: str,
    *,
    role: str,
    partner_id: uuid.UUID,
    program_id: uuid.UUID | None,
    label: str = "",
) -> ApiKey:
    row = ApiKey(
        partner_id=partner_id,
        program_id=program_id,
        role=role,
        prefix=key[:12],
        key_hash=hash_key(key),
        label=label,
    )
    session.add(row)
    return row


def issue_member_token(
    secret: str,
    *,
    partner_id: uuid.UUID,
    program_id: uuid.UUID,
    member_id: str,
    now: datetime,
    lifetime: timedelta,
) -> tuple[str, datetime]:
    expires_at = now + lifetime
    claims = {
        "iss": TOKEN_ISSUER,
        "aud": TOKEN_AUDIENCE,
        "sub": member_id,
        "ptn": str(partner_id),
        "prg": str(program_id),
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM), expires_at


def read_member_token(secret: str, token: str, *, now: datetime | None = None) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[TOKEN_ALGORITHM],
            audience=TOKEN_AUDIENCE,
            issuer=TOKEN_ISSUER,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
        if now is not None and claims["exp"] <= now.timestamp():
            raise jwt.ExpiredSignatureError("expired")
        return Principal(
            role="member",
            partner_id=uuid.UUID(claims["ptn"]),
            program_id=uuid.UUID(claims["prg"]),
            member_id=str(claims["sub"]),
            expires_at=float(claims["exp"]),
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("expired credential") from exc
    except (jwt.InvalidTokenError, KeyError, ValueError, TypeError, AttributeError) as exc:
        # The JWT library's words say which check failed: nothing a caller needs to know.
        raise Unauthenticated("invalid credential") from exc


async def authenticate(
    session: AsyncSession, credential: str, *, secret: str, now: datetime
) -> Principal:
    """The principal behind a bearer credential, or `Unauthenticated`."""
    if credential.startswith(tuple(KEY_PREFIXES.values())):
        key = (
            await session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(credential)))
        ).first()
        if key is None or (key.revoked_at is not None and key.revoked_at <= now):
            raise Unauthenticated("invalid credential")
        role: Role = "ops" if key.role == ApiKeyRole.OPS else "partner"
        return Principal(role=role, partner_id=key.partner_id, program_id=key.program_id)
    if credential.count(".") == 2:
        return read_member_token(secret, credential, now=now)
    raise Unauthenticated("invalid credential")


class CredentialCache:
    """Principals of recently seen credentials, so the hot path neither verifies a JWT nor
    reads an API key row on every request.

    A member token is cached until it expires (a token cannot change); an API key for
    ``key_ttl`` seconds, which bounds how long a revoked key keeps working in this process.
    """

    def __init__(
        self,
        *,
        key_ttl: float = 60.0,
        size: int = 10_000,
        refused: frozenset[str] = frozenset(),
    ) -> None:
        """``refused``: hashes of keys that never authenticate here, whatever the database
        says (production refuses the demo's keys, derived from a public secret)."""
        self.key_ttl = key_ttl
        self.size = size
        self.refused = refused
        self._seen: dict[str, tuple[float, Principal]] = {}

    async def resolve(
        self,
        session_factory: Callable[[], AsyncSession],
        credential: str,
        *,
        secret: str,
        now: datetime,
    ) -> Principal:
        cached = self._seen.get(credential)
        if cached is not None and cached[0] > now.timestamp():
            return cached[1]
        if self.refused and hash_key(credential) in self.refused:
            raise Unauthenticated("invalid credential")
        async with session_factory() as session:
            principal = await authenticate(session, credential, secret=secret, now=now)
        until = principal.expires_at or now.timestamp() + self.key_ttl
        if len(self._seen) >= self.size:
            self._seen.clear()
        self._seen[credential] = (until, principal)
        return principal
