"""Where the store lives, from collector.yaml's ``db``: a SQLite file, or a PostgreSQL server by URL.

``db: /var/lib/campuswatch/collector.sqlite3`` (or ``sqlite:///relative.sqlite3``,
``sqlite:////absolute.sqlite3``) selects SQLite; ``db: postgresql://campuswatch@db.example/campuswatch``
selects PostgreSQL. A URL may carry a password; it is kept as a :class:`~campuswatch.config.Secret`
and every place that shows the location (logs, errors, ``repr``) shows :attr:`PostgresLocation.shown`,
with the password replaced by ``***``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from campuswatch.config import Secret

POSTGRES_SCHEMES = ("postgresql", "postgres")
#: Connection parameters whose value is a secret (libpq's names), hidden wherever a URL is shown.
_SECRET_PARAMS = frozenset({"password", "sslpassword"})


@dataclass(frozen=True)
class SqliteLocation:
    """A SQLite file."""

    path: Path

    @property
    def shown(self) -> str:
        """The location as logs and errors show it."""
        return str(self.path)


@dataclass(frozen=True)
class PostgresLocation:
    """A PostgreSQL database: the libpq connection URL (with any password) and how it is shown."""

    url: Secret = field(repr=False)
    shown: str

    def __repr__(self) -> str:
        return f"PostgresLocation({self.shown!r})"


DatabaseLocation = SqliteLocation | PostgresLocation


class BadLocation(ValueError):
    """``db`` names no database this collector can open; the message never quotes a password."""


def parse_location(text: str, base: Path | None = None) -> DatabaseLocation:
    """``db`` as written (a path relative to ``base``, ``sqlite:///PATH`` or ``postgresql://...``)."""
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if scheme is None:
        return SqliteLocation(_relative_to(base, Path(text)))
    name = scheme.group(1).lower()
    if name == "sqlite":
        path = text[len("sqlite:///") :] if text.startswith("sqlite:///") else ""
        if not path:
            raise BadLocation("a SQLite URL is sqlite:///RELATIVE/PATH or sqlite:////ABSOLUTE/PATH")
        return SqliteLocation(_relative_to(base, Path(path)))
    if name in POSTGRES_SCHEMES:
        return PostgresLocation(Secret(text), _redacted(text))
    raise BadLocation(f"unknown scheme {name!r}: use a file path, sqlite:///PATH or postgresql://...")


def _relative_to(base: Path | None, path: Path) -> Path:
    return path if base is None or path.is_absolute() else base / path


def _redacted(url: str) -> str:
    """The URL with its password (in the user part or a query parameter) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
    except ValueError:
        raise BadLocation("not a valid postgresql:// URL") from None
    user, at, host = netloc.rpartition("@")
    if at and ":" in user:
        netloc = f"{user.split(':', 1)[0]}:***@{host}"
    query = urlencode(
        [(k, "***" if k in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)],
        safe="*/",
    )
    # Formatted by hand: urlunsplit drops the empty host of postgresql:///db?host=/run/postgresql.
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
