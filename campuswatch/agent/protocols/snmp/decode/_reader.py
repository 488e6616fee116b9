"""Typed, forgiving access to one poll's varbinds.

Devices answer with wrong types, truncated strings and missing rows. A :class:`Reader` hands decoders
values of the type they expect or None, and notes every mismatch in ``partial`` (group -> reason) so a
reading says what it could not read instead of raising.
"""

from __future__ import annotations

import bisect
import logging

from campuswatch.agent.protocols.snmp.transport.types import Oid, SnmpValue, Varbinds

log = logging.getLogger(__name__)
#: Distinct reasons kept per group: enough to diagnose, bounded for a device that sends garbage everywhere.
_MAX_REASONS = 3


class Reader:
    """The varbinds of one poll, indexed for subtree walks, with a record of what did not fit."""

    def __init__(self, varbinds: Varbinds) -> None:
        self.varbinds = varbinds
        self._keys = sorted(varbinds)
        #: group or table -> what was wrong with it (DeviceReading.partial).
        self.partial: dict[str, str] = {}

    def note(self, group: str, reason: str) -> None:
        """Record that part of ``group`` could not be read (a few distinct reasons per group are kept)."""
        log.debug("partial read of %s: %s", group, reason)
        known = self.partial.get(group)
        if known is None:
            self.partial[group] = reason
        elif reason not in known and known.count("; ") < _MAX_REASONS - 1:
            self.partial[group] = f"{known}; {reason}"

    def get(self, key: Oid) -> SnmpValue | None:
        """The value at exactly ``key``."""
        return self.varbinds.get(key)

    def subtree(self, root: Oid) -> list[tuple[Oid, SnmpValue]]:
        """(suffix after ``root``, value) of every varbind strictly under ``root``, in OID order."""
        out: list[tuple[Oid, SnmpValue]] = []
        n = len(root)
        for i in range(bisect.bisect_right(self._keys, root), len(self._keys)):
            key = self._keys[i]
            if key[:n] != root:
                break
            out.append((key[n:], self.varbinds[key]))
        return out

    def column(self, entry: Oid, col: int) -> dict[Oid, SnmpValue]:
        """One table column: row index (the OID suffix) -> value."""
        return dict(self.subtree((*entry, col)))

    def has_any(self, root: Oid) -> bool:
        """Whether anything at all was read under ``root``."""
        i = bisect.bisect_right(self._keys, root)
        return i < len(self._keys) and self._keys[i][: len(root)] == root

    # --- typed views: a value of the wrong type is None plus a note -------------------------------------
    def int_(self, value: SnmpValue | None, group: str, what: str) -> int | None:
        """``value`` as an integer, or None (noted when present but not an integer)."""
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        self.note(group, f"{what}: expected an integer, got {type(value).__name__}")
        return None

    def bytes_(self, value: SnmpValue | None, group: str, what: str) -> bytes | None:
        """``value`` as octets, or None (noted when present but not an OCTET STRING)."""
        if value is None or isinstance(value, bytes):
            return value
        self.note(group, f"{what}: expected an octet string, got {type(value).__name__}")
        return None

    def oid_(self, value: SnmpValue | None, group: str, what: str) -> Oid | None:
        """``value`` as an OBJECT IDENTIFIER, or None (noted when present but not an OID)."""
        if value is None or isinstance(value, tuple):
            return value
        self.note(group, f"{what}: expected an object identifier, got {type(value).__name__}")
        return None

    def text(self, value: SnmpValue | None, group: str, what: str, codec: str | None = None) -> str | None:
        """``value`` decoded as display text (see :func:`decode_text`), or None."""
        raw = self.bytes_(value, group, what)
        return None if raw is None else decode_text(raw, codec)

    def enum(self, value: SnmpValue | None, names: dict[int, str], group: str, what: str) -> str | None:
        """The name of an enumerated INTEGER; a number outside the enumeration reads as the number."""
        number = self.int_(value, group, what)
        if number is None:
            return None
        return names.get(number, str(number))


def decode_text(raw: bytes, codec: str | None = None) -> str:
    """Octets as text: in ``codec`` when the device names its character set, else UTF-8 with a latin-1
    fallback (what older printers send); trailing NULs and whitespace removed, control lines joined."""
    text: str | None = None
    if codec:
        try:
            text = raw.decode(codec)
        except (UnicodeDecodeError, LookupError):
            text = None
    if text is None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    # Some agents (HP) split a long description over two lines: one line reads better.
    return " ".join(part.strip() for part in text.replace("\x00", "").splitlines() if part.strip())


def mac_text(raw: bytes) -> str:
    """Six octets as aa:bb:cc:dd:ee:ff."""
    return ":".join(f"{b:02x}" for b in raw)
