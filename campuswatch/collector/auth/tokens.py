"""Machines' tokens: random, shown once, kept only as a hash.

A token is 32 random bytes (URL-safe text). Its SHA-256 is what the store keeps and looks it up by:
with that much randomness a plain hash is as good as a slow one, and a lookup stays one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets

#: Longer than this is no token of ours (and is not hashed).
MAX_TOKEN_LENGTH = 256


def hash_token(token: str) -> str:
    """The form a token is stored and looked up in: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh token: 32 random bytes, URL-safe text."""
    return secrets.token_urlsafe(32)
