"""Passwords (argon2), bearer tokens (JWT) and CSRF tokens."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta, timezone
from hashlib import sha256
from typing import Any, NamedTuple

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong username costs the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
ALGORITHM = "HS256"


def utcnow() -> datetime:
    """Return the real current instant (UTC): token, session and lockout expiry are judged on it.

    Never the business clock (app.core.clock): moving the demo clock must not log anyone out or
    unlock an account. Call it as ``security.utcnow()`` so tests can replace it.
    """
    return datetime.now(timezone.utc)


def use_fast_hashing() -> None:
    """Switch to argon2's cheapest profile: for tests only, where hundreds of users are made."""
    global _hasher, _DUMMY_HASH
    from argon2.profiles import CHEAPEST

    _hasher = PasswordHasher.from_parameters(CHEAPEST)
    _DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Check a password in constant-ish time, also when there is no user."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class AccessClaims(NamedTuple):
    user_id: int
    session_id: str


def new_session_id() -> str:
    """Make a random, unguessable session id (256 bits)."""
    return secrets.token_urlsafe(32)


def create_access_token(*, user_id: int, session_id: str, secret: str, now: datetime, minutes: int) -> str:
    """Issue a signed bearer token for a user's server-side session (`sid`: logout revokes it)."""
    payload = {"sub": str(user_id), "sid": session_id, "iat": int(now.timestamp()),
               "exp": int((now + timedelta(minutes=minutes)).timestamp()), "typ": "access"}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


# Payloads of tokens whose signature was verified, by (secret, token): a client sends the same token with
# every request, and verifying it again (base64, JSON, HMAC) was a measurable part of each one. Only
# verified tokens enter, so forged ones cannot fill it; expiry and type are still judged on every request
# (below), and whether the session is live by the caller (a database read): the cache decides nothing else.
_VERIFIED: dict[tuple[str, str], dict[str, Any]] = {}
_VERIFIED_MAX = 4096


def decode_access_token(token: str, *, secret: str, now: datetime) -> AccessClaims | None:
    """Return the user and session of a validly signed, unexpired token, else None."""
    payload = _VERIFIED.get((secret, token))
    if payload is None:
        try:
            # Time claims are checked below against `now` (the caller passes real time, utcnow()), so a
            # test can move it without sleeping.
            payload = jwt.decode(token, secret, algorithms=[ALGORITHM],
                                 options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})
        except jwt.PyJWTError:
            return None
        if not isinstance(payload, dict):
            return None
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[(secret, token)] = payload
    try:
        if payload.get("typ") != "access" or int(payload.get("exp", 0)) <= int(now.timestamp()):
            return None
        sid = payload.get("sid")
        # A token without a session (issued before sessions existed) cannot be revoked: refused.
        return AccessClaims(int(payload["sub"]), sid) if isinstance(sid, str) and sid else None
    except (KeyError, ValueError, TypeError):
        return None


def new_csrf_token() -> str:
    """Make a random token for a page session."""
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """Compare CSRF tokens in constant time."""
    if not expected or not given:
        return False
    return hmac.compare_digest(sha256(expected.encode()).digest(), sha256(given.encode()).digest())
