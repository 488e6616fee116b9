"""Projectors over PJLink (classes 1 and 2): read one (``PjlinkReader``), search a subnet, judge silence.

The public surface is re-exported here; the wire format lives in ``_protocol``, the meaning of the answers
in ``_reading``, the network in ``_client`` (TCP) and ``_search`` (UDP).
"""

from campuswatch.agent.protocols.pjlink._client import PjlinkReader, read_projector
from campuswatch.agent.protocols.pjlink._protocol import (
    DEFAULT_PORT,
    ERST_FIELDS,
    Greeting,
    PjlinkCommandError,
    PjlinkReply,
    auth_digest,
    decode_count,
    decode_erst,
    decode_lamps,
    decode_power,
    parse_ackn,
    parse_greeting,
    parse_reply,
)
from campuswatch.agent.protocols.pjlink._reading import build_reading, projector_problems
from campuswatch.agent.protocols.pjlink._search import pjlink_search

# The collector applies the same rule, so it lives where both sides can import it.
from campuswatch.devices import projector_unreachable_is_fault

__all__ = [
    "DEFAULT_PORT",
    "ERST_FIELDS",
    "Greeting",
    "PjlinkCommandError",
    "PjlinkReader",
    "PjlinkReply",
    "auth_digest",
    "build_reading",
    "decode_count",
    "decode_erst",
    "decode_lamps",
    "decode_power",
    "parse_ackn",
    "parse_greeting",
    "parse_reply",
    "pjlink_search",
    "projector_problems",
    "projector_unreachable_is_fault",
    "read_projector",
]
