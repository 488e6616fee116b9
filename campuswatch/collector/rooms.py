"""Rooms and what a teacher reports in one. Pure.

A school's rooms come from schools.yaml (``rooms:``, room name -> the ids of the devices in it): the
campus manager keeps the room plan centrally with the school's entry, so a room is named once for every
agent, a change needs no visit to the gateway, and the agent stays as light as it is.

A teacher reaches a room's page through a link (or its QR code on the board) that carries the school's
**room link key**: an HMAC of the school and the link's generation under the collector's own secret
key. It is never stored, so the QR sheet can be printed again at any time by whoever may see the
school, and an admin voids every sticker of a school at once by starting a new generation (rotating).
The key is bound to the school: another school's key opens nothing here, and a room page shows nothing
of another school.

A teacher's complaint ("Kein Bild") names what is wrong in a teacher's words; :func:`known_problem`
finds the open problem it is about (a ``display_no_signal`` of the room's display for "Kein Bild"), so
that the report adds to that problem's ticket instead of opening another.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from campuswatch.collector.language import Wording
from campuswatch.collector.language.problems import N_
from campuswatch.collector.model import DeviceRecord, ProblemRecord

Complaint = Literal["no_picture", "no_network", "printer", "tablet", "other"]
COMPLAINTS: tuple[Complaint, ...] = get_args(Complaint)
#: What the one-tap buttons say.
COMPLAINT_WORDS: dict[Complaint, str] = {
    "no_picture": N_("No picture"),
    "no_network": N_("No network"),
    "printer": N_("Printer"),
    "tablet": N_("Tablet"),
    "other": N_("Something else"),
}
#: The longest note a teacher may add (a sentence, not a letter): longer ones are refused.
MAX_NOTE = 280
#: The longest room name schools.yaml may give (it is in links and on paper).
MAX_ROOM = 64

#: For each complaint: the kinds of device in the room it may be about, and the problem codes that are
#: exactly it (found first), then any other problem of such a device.
_ABOUT: dict[Complaint, tuple[frozenset[str], tuple[str, ...]]] = {
    "no_picture": (
        frozenset({"display", "projector"}),
        ("display_no_signal", "display_backlight", "lamp_end_of_life", "projector_failure", "unreachable"),
    ),
    "no_network": (frozenset({"switch", "access_point"}), ("port_down", "unreachable", "poe_fault")),
    "printer": (frozenset({"printer"}), ()),
    "tablet": (frozenset(), ()),
    "other": (frozenset(), ()),
}


@dataclass(frozen=True)
class Room:
    """A room of a school and the devices in it (ids, as the agents report them)."""

    school: str
    name: str
    devices: tuple[str, ...]


def room_link_key(secret: str, school: str, generation: int) -> str:
    """The key in a school's room links: HMAC-SHA256 of the school and the links' generation under the
    collector's ``secret``, 128 bits, URL-safe."""
    mac = hmac.new(secret.encode(), f"room-link\0{school}\0{generation}".encode(), hashlib.sha256)
    return urlsafe_b64encode(mac.digest()[:16]).decode().rstrip("=")


def room_link_valid(secret: str, school: str, generation: int, given: str) -> bool:
    """Whether ``given`` is the school's room link key of this generation (compared in constant time)."""
    return hmac.compare_digest(room_link_key(secret, school, generation).encode(), given.encode()[:64])


def clean_note(text: str) -> str | None:
    """A teacher's note on one line with its spaces collapsed; None if it is too long or holds
    characters that are no text."""
    note = " ".join(text.split())
    if len(note) > MAX_NOTE or not note.isprintable():
        return None
    return note


def report_words(room: str, complaint: str, note: str, wording: Wording) -> str:
    """A teacher's report as a ticket says it, in the reader's ``wording`` (the teacher's note as given)."""
    said = wording._(COMPLAINT_WORDS.get(complaint, COMPLAINT_WORDS["other"]))  # type: ignore[call-overload]
    text = wording._("A teacher reports in room %(room)s: %(complaint)s") % {"room": room, "complaint": said}
    return f"{text}. {note}" if note else text


def room_subject(room: str, complaint: Complaint) -> str:
    """The subject of the problem a teacher's complaint opens when nothing known is about it: one per
    room and complaint, so that the next teacher's same complaint finds it."""
    return f"room {room}: {complaint}"


def known_problem(
    complaint: Complaint,
    room: Room,
    devices: Mapping[str, DeviceRecord],
    problems: Sequence[ProblemRecord],
    reported_code: str,
) -> ProblemRecord | None:
    """The open problem a teacher's ``complaint`` in ``room`` is about, if the collector knows one: a
    problem of a device in the room that the complaint describes (its exact code first, one with a
    ticket before one without), else an earlier teacher's same complaint in the same room."""
    kinds, codes = _ABOUT[complaint]
    in_room = [
        p
        for p in problems
        if p.key.device in room.devices and (d := devices.get(p.key.device)) is not None and d.kind in kinds
    ]

    def rank(p: ProblemRecord) -> tuple[int, int, float]:
        exact = codes.index(p.key.code) if p.key.code in codes else len(codes)
        return (exact, p.ticket_ref is None, p.opened_at)

    if in_room:
        return min(in_room, key=rank)
    subject = room_subject(room.name, complaint)
    return next((p for p in problems if p.key.code == reported_code and p.key.subject == subject), None)


def rooms_of(school: str, plan: Mapping[str, Sequence[str]]) -> dict[str, Room]:
    """A school's rooms by name, from its ``rooms:`` in schools.yaml."""
    return {name: Room(school, name, tuple(devices)) for name, devices in plan.items()}
