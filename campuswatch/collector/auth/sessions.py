"""Session cookies and CSRF tokens. Pure: a key and a clock in, text out.

A session cookie is ``<payload>.<mac>``: the payload (who, which version of their account, a random
session id, when it expires) as base64url JSON, the MAC its HMAC-SHA256 under the collector's session
key. Nothing secret is in it, and nothing in it can be changed without the key. A CSRF token is the
HMAC of what it is bound to (the session id, or the login a proxy vouched for) under a key derived for
that purpose, so a token of one session is worth nothing in another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

import msgspec

#: The cookie that carries a session, and the one that carries the login form's nonce.
SESSION_COOKIE = "campuswatch_session"
LOGIN_COOKIE = "campuswatch_login"
#: A longer cookie than this is not one of ours (and is not decoded).
MAX_COOKIE_LENGTH = 1024


class Session(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a session cookie says: ``user``'s account at ``generation``, from ``issued_at`` to
    ``expires_at``; ``sid`` tells sessions apart (CSRF tokens are bound to it)."""

    user: str
    generation: int
    sid: str
    issued_at: float
    expires_at: float


def new_key() -> str:
    """A fresh session key (stored once per database)."""
    return secrets.token_hex(32)


def new_sid() -> str:
    """A fresh session id, or a login form's nonce."""
    return secrets.token_urlsafe(18)


def _derived(key: str, purpose: bytes) -> bytes:
    return hmac.new(bytes.fromhex(key), purpose, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(session: Session, key: str) -> str:
    """The cookie value of ``session``."""
    payload = _b64(msgspec.json.encode(session))
    mac = hmac.new(_derived(key, b"session"), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def unseal(value: str, key: str, now: float) -> Session | None:
    """The session a cookie value carries, or None: not ours, altered, or expired."""
    if len(value) > MAX_COOKIE_LENGTH or value.count(".") != 1:
        return None
    payload, _, mac = value.partition(".")
    expected = hmac.new(_derived(key, b"session"), payload.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(mac), expected):
            return None
        session = msgspec.json.decode(_unb64(payload), type=Session)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        return None
    return session if session.issued_at <= now < session.expires_at else None


def csrf_token(key: str, binding: str) -> str:
    """The CSRF token of forms shown to whoever ``binding`` names."""
    return _b64(hmac.new(_derived(key, b"csrf"), binding.encode(), hashlib.sha256).digest())


def csrf_valid(key: str, binding: str, given: str) -> bool:
    """Whether a form's ``given`` token is the one for ``binding`` (in constant time)."""
    return given.isascii() and hmac.compare_digest(csrf_token(key, binding).encode(), given.encode())
