"""Read snmpsim ``.snmprec`` recordings into :data:`Varbinds`, as the SNMP transport would hand them over.

A line is ``OID|TYPE|VALUE``. TYPE is the BER tag number as snmpsim writes it (2 Integer, 4 OctetString,
5 Null, 6 OID, 64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks, 68 Opaque, 70 Counter64); a trailing
``x`` means VALUE is hex. A variation module may follow the type (``4:writecache``); its VALUE is then
``key=value`` pairs of which ``value=`` / ``hexvalue=`` carry the served value.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from campuswatch.agent.protocols.snmp.transport.types import Oid, PollPlan, SnmpValue, Varbinds, oid

#: snmpsim tags whose values decoders see as ints.
_INT_TAGS = frozenset({2, 65, 66, 67, 70})
#: Tags that carry octets (OCTET STRING, IpAddress, Opaque).
_OCTET_TAGS = frozenset({4, 64, 68})
_NULL_TAG = 5
_OID_TAG = 6


class SnmprecError(ValueError):
    """A line of a recording that cannot be read; the message names file and line."""


def _variation_value(raw: str) -> tuple[str, bool]:
    """The served value of a variation line (``value=`` or ``hexvalue=``) and whether it is hex."""
    for part in raw.split(","):
        key, _, val = part.partition("=")
        if key == "hexvalue":
            return val, True
        if key == "value":
            return val, False
    raise ValueError("variation line without value= or hexvalue=")


def parse_value(tag_text: str, raw: str) -> SnmpValue | None:
    """One recorded value as the transport would give it; None for Null (the transport drops those)."""
    tag_part, _, variation = tag_text.partition(":")
    is_hex = tag_part.endswith("x")
    tag = int(tag_part.rstrip("x"))
    if variation:
        raw, var_hex = _variation_value(raw)
        is_hex = is_hex or var_hex
    if tag == _NULL_TAG:
        return None
    if tag in _INT_TAGS:
        return int(bytes.fromhex(raw).decode()) if is_hex else int(raw)
    if tag == _OID_TAG:
        return oid(bytes.fromhex(raw).decode() if is_hex else raw)
    if tag in _OCTET_TAGS:
        if is_hex:
            return bytes.fromhex(raw)
        if tag == 64:  # IpAddress written dotted: the wire form is 4 octets
            return bytes(int(part) for part in raw.split("."))
        return raw.encode("utf-8")
    raise ValueError(f"unknown snmpsim type {tag_text!r}")


def parse_snmprec(lines: Iterable[str], source: str = "<snmprec>") -> Varbinds:
    """Varbinds of the recording's lines; blank lines and ``#`` comments are skipped."""
    varbinds: Varbinds = {}
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip() or line.startswith("#"):
            continue
        try:
            oid_text, tag_text, raw = line.split("|", 2)
            value = parse_value(tag_text, raw)
            key = oid(oid_text)
        except ValueError as err:
            raise SnmprecError(f"{source}:{number}: {err}") from err
        if value is not None:
            varbinds[key] = value
    return varbinds


def load_snmprec(path: str | Path) -> Varbinds:
    """Varbinds of one ``.snmprec`` file."""
    path = Path(path)
    with path.open(encoding="utf-8", errors="surrogateescape") as fh:
        return parse_snmprec(fh, str(path))


def _fetched_prefixes(plan: PollPlan) -> tuple[set[Oid], list[Oid]]:
    scalars = set(plan.scalars)
    prefixes: list[Oid] = []
    for table in plan.tables:
        if table.columns:
            prefixes.extend((*table.root, col) for col in table.columns)
        else:
            prefixes.append(table.root)
    return scalars, prefixes


def restrict_to_plan(varbinds: Varbinds, plan: PollPlan) -> Varbinds:
    """Only the varbinds a transport executing ``plan`` would return: the exact scalars and everything
    under each walked table (or under each of its listed columns)."""
    scalars, prefixes = _fetched_prefixes(plan)
    return {
        key: value
        for key, value in varbinds.items()
        if key in scalars or any(key[: len(p)] == p and len(key) > len(p) for p in prefixes)
    }
