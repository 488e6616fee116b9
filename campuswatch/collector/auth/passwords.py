"""People's passwords: argon2id hashes (argon2-cffi, RFC 9106's low-memory profile), never the password.

Hashing and checking take about 0.15 s of one core and 64 MiB each: callers run them off the event
loop, and :class:`~campuswatch.collector.auth.accounts.Accounts` lets only a few run at once.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

#: Shorter is too easy to guess; longer than this is no stronger and only costs time to hash.
MIN_LENGTH = 10
MAX_LENGTH = 256

_HASHER = PasswordHasher()
#: Checked when the login is unknown, so that an unknown login costs as long as a wrong password and
#: the time of an answer does not tell which logins exist.
_DECOY = _HASHER.hash("campuswatch decoy password")


class WeakPassword(ValueError):
    """A password that breaks the length rule (the message says which)."""


def check_rules(password: str) -> None:
    """Raise :class:`WeakPassword` unless the password is long enough and not absurdly long."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password has at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password has at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    """The argon2id hash to store (salted: the same password hashes differently each time)."""
    check_rules(password)
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the stored hash; with no hash (an unknown login, or an account for
    single sign-on only) the decoy is checked and the answer is False."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(stored or _DECOY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
