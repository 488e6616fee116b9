"""School tokens: random, shown once, stored only as a hash bound to one school."""

from __future__ import annotations

import secrets

from campuswatch.collector.ingest import hash_token
from campuswatch.collector.store.base import Store


class UnknownSchool(Exception):
    """A token was asked for a school the collector does not know (not in schools.yaml)."""


def new_token() -> str:
    """A fresh token: 32 random bytes, URL-safe text."""
    return secrets.token_urlsafe(32)


async def create_token(store: Store, school: str, now: float) -> str:
    """Make a token for ``school``, store its hash, and return the token itself (the only copy)."""
    known = {s.id for s in await store.list_schools()}
    if school not in known:
        listed = ", ".join(sorted(known)) or "none; check schools_file in the config"
        raise UnknownSchool(f"unknown school {school!r} (known: {listed})")
    token = new_token()
    await store.add_token(hash_token(token), school, now)
    return token
