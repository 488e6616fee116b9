"""School tokens: random, shown once, stored only as a hash bound to one school."""

from __future__ import annotations

import hashlib
import secrets

from campuswatch.collector.store.protocols import SchoolStore


class UnknownSchool(Exception):
    """A token was asked for a school the collector does not know (not in schools.yaml)."""


def hash_token(token: str) -> str:
    """The form a token is stored and looked up in: its SHA-256 (tokens are long random strings)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh token: 32 random bytes, URL-safe text."""
    return secrets.token_urlsafe(32)


async def create_token(schools: SchoolStore, school: str, now: float) -> str:
    """Make a token for ``school``, store its hash, and return the token itself (the only copy)."""
    known = {s.id for s in await schools.all()}
    if school not in known:
        listed = ", ".join(sorted(known)) or "none; check schools_file in the config"
        raise UnknownSchool(f"unknown school {school!r} (known: {listed})")
    token = new_token()
    await schools.add_token(hash_token(token), school, now)
    return token
