"""IPP's binary encoding (RFC 8010): the Get-Printer-Attributes request, and any response parsed. Pure.

Our own and not pyipp's parser: pyipp's reads lengths as signed and moves backwards on negative ones, so
a 25-byte body from a device keeps it parsing forever (on the event loop: the agent froze), and it parses
collections by recursion. This one only moves forward, bounds collections' depth, the number of
attributes and every length by the bytes actually there, and raises :class:`IppParseError` for anything
that does not parse, never another exception.

Values come out as the attribute mapping :mod:`campuswatch.agent.protocols.ipp.attributes` reads: text,
names, keywords, URIs and octet strings as ``str``, integers and enums as ``int``, booleans as ``bool``,
resolutions and ranges as tuples of ints, dates as the raw 11 octets, collections as dicts, out-of-band
values (unknown, no-value) as None; an attribute with several values as a list, in order.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

#: Operation and status codes this client uses (RFC 8011).
GET_PRINTER_ATTRIBUTES = 0x000B
STATUS_VERSION_NOT_SUPPORTED = 0x0503
#: client-error-forbidden, -not-authenticated, -not-authorized: the printer wants credentials we lack.
AUTH_STATUSES = frozenset({0x0401, 0x0402, 0x0403})

# Delimiter tags (RFC 8010 3.5.1).
OPERATION_GROUP = 0x01
JOB_GROUP = 0x02
END_OF_ATTRIBUTES = 0x03
PRINTER_GROUP = 0x04
# Value tags used here (RFC 8010 3.5.2).
INTEGER = 0x21
BOOLEAN = 0x22
ENUM = 0x23
DATE_TIME = 0x31
RESOLUTION = 0x32
RANGE_OF_INTEGER = 0x33
BEGIN_COLLECTION = 0x34
TEXT_WITH_LANGUAGE = 0x35
NAME_WITH_LANGUAGE = 0x36
END_COLLECTION = 0x37
KEYWORD = 0x44
URI = 0x45
CHARSET = 0x47
NATURAL_LANGUAGE = 0x48
MEMBER_ATTR_NAME = 0x4A

#: Collections inside collections: printers nest two or three deep (media-col); more is no printer.
MAX_DEPTH = 8
#: Attribute values in one response: a Get-Printer-Attributes answer to our request holds a few hundred.
MAX_VALUES = 20_000

_FIXED = {INTEGER: 4, ENUM: 4, BOOLEAN: 1, DATE_TIME: 11, RESOLUTION: 9, RANGE_OF_INTEGER: 8}


class IppParseError(ValueError):
    """Bytes that are not a well-formed IPP response (or go beyond this parser's bounds)."""


@dataclass
class IppResponse:
    """A parsed IPP response: its version, status code, request id and attribute groups in order."""

    version: tuple[int, int]
    status_code: int
    request_id: int
    #: (delimiter tag, attributes) per group; a tag may come more than once (one group per printer).
    groups: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def printer_attributes(self) -> dict[str, Any] | None:
        """The first printer group's attributes, if the response has a non-empty one."""
        return next((attrs for tag, attrs in self.groups if tag == PRINTER_GROUP and attrs), None)


def encode_attribute(tag: int, name: str, value: bytes) -> bytes:
    """One attribute (or, with an empty name, one more value of the attribute before it)."""
    encoded = name.encode()
    return struct.pack(">BH", tag, len(encoded)) + encoded + struct.pack(">H", len(value)) + value


def encode_get_printer_attributes(
    printer_uri: str, requested: tuple[str, ...], *, version: tuple[int, int], request_id: int
) -> bytes:
    """A Get-Printer-Attributes request for ``printer_uri`` asking for the ``requested`` attributes."""
    parts = [
        struct.pack(">BBHI", *version, GET_PRINTER_ATTRIBUTES, request_id),
        bytes((OPERATION_GROUP,)),
        encode_attribute(CHARSET, "attributes-charset", b"utf-8"),
        encode_attribute(NATURAL_LANGUAGE, "attributes-natural-language", b"en"),
        encode_attribute(URI, "printer-uri", printer_uri.encode()),
        encode_attribute(0x42, "requesting-user-name", b"campuswatch"),
    ]
    for i, keyword in enumerate(requested):
        parts.append(encode_attribute(KEYWORD, "" if i else "requested-attributes", keyword.encode()))
    parts.append(bytes((END_OF_ATTRIBUTES,)))
    return b"".join(parts)


class _Reader:
    """A cursor over the body that never moves backwards and never reads past its end."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise IppParseError(f"truncated {what} at octet {self.pos}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    def short(self, what: str) -> int:
        # RFC 8010 calls lengths SIGNED-SHORT but allows no negative one: read unsigned, 0..65535.
        return int.from_bytes(self.take(2, what), "big")

    def peek(self) -> int:
        if self.pos >= len(self.data):
            raise IppParseError("no end-of-attributes tag")
        return self.data[self.pos]


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _value(tag: int, raw: bytes) -> Any:
    """One attribute value of a simple (non-collection) tag."""
    size = _FIXED.get(tag)
    if size is not None and len(raw) != size:
        raise IppParseError(f"value of tag 0x{tag:02x} has {len(raw)} octets, not {size}")
    if tag in (INTEGER, ENUM):
        return int.from_bytes(raw, "big", signed=True)
    if tag == BOOLEAN:
        return raw != b"\x00"
    if tag == DATE_TIME:
        return raw
    if tag == RESOLUTION:
        return struct.unpack(">iib", raw)
    if tag == RANGE_OF_INTEGER:
        return struct.unpack(">ii", raw)
    if tag in (TEXT_WITH_LANGUAGE, NAME_WITH_LANGUAGE):
        inner = _Reader(raw)
        inner.take(inner.short("language length"), "language")
        text = inner.take(inner.short("text length"), "text")
        if inner.pos != len(raw):
            raise IppParseError("text-with-language with trailing octets")
        return _text(text)
    if 0x10 <= tag <= 0x1F:  # out-of-band: unsupported, unknown, no-value
        return None
    return _text(raw)


def _add(attrs: dict[str, Any], name: str, value: Any) -> None:
    """Add a value to an attribute: its first, or one more of a 1setOf."""
    if name not in attrs:
        attrs[name] = value
    elif isinstance(attrs[name], list):
        attrs[name].append(value)
    else:
        attrs[name] = [attrs[name], value]


def parse_response(data: bytes) -> IppResponse:
    """Parse an IPP response; raises :class:`IppParseError` for anything malformed or out of bounds.

    Iterative: an open collection is a frame on an explicit stack of at most :data:`MAX_DEPTH`.
    """
    reader = _Reader(data)
    major, minor = reader.byte("version"), reader.byte("version")
    status = reader.short("status code")
    request_id = int.from_bytes(reader.take(4, "request id"), "big")
    response = IppResponse((major, minor), status, request_id)
    group: dict[str, Any] | None = None
    #: Open collections: (the collection, the member name being read, the attribute name it belongs to).
    stack: list[tuple[dict[str, Any], str, str]] = []
    last_name = ""
    values = 0
    while True:
        tag = reader.byte("tag")
        if tag <= 0x0F:  # a delimiter: a new group, or the end
            if stack:
                raise IppParseError("attribute group ends inside a collection")
            if tag == END_OF_ATTRIBUTES:
                return response
            group = {}
            response.groups.append((tag, group))
            last_name = ""
            continue
        if group is None:
            raise IppParseError("attribute before any group")
        name = _text(reader.take(reader.short("name length"), "name"))
        raw = reader.take(reader.short("value length"), "value")
        values += 1
        if values > MAX_VALUES:
            raise IppParseError(f"more than {MAX_VALUES} attribute values")
        if stack:
            collection, member, owner = stack[-1]
            if tag == END_COLLECTION:
                stack.pop()
                if stack:
                    parent, parent_member, _ = stack[-1]
                    _add(parent, parent_member, collection)
                else:
                    _add(group, owner, collection)
                continue
            if tag == MEMBER_ATTR_NAME:
                stack[-1] = (collection, _text(raw), owner)
                continue
            if tag == BEGIN_COLLECTION:
                if len(stack) >= MAX_DEPTH:
                    raise IppParseError(f"collections nested deeper than {MAX_DEPTH}")
                stack.append(({}, "", owner))
                continue
            if member:
                _add(collection, member, _value(tag, raw))
            continue
        if name:
            last_name = name
        elif not last_name:
            raise IppParseError("additional value without an attribute before it")
        if tag == BEGIN_COLLECTION:
            stack.append(({}, "", last_name))
        elif tag in (END_COLLECTION, MEMBER_ATTR_NAME):
            raise IppParseError(f"tag 0x{tag:02x} outside a collection")
        else:
            _add(group, last_name, _value(tag, raw))
