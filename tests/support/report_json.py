"""Report events as raw JSON values, for tests that send what the typed report cannot hold (values out
of range, fields a newer agent adds)."""

from __future__ import annotations

from typing import Any

ADDRESS = "10.20.1.21"


def poll_json(seq: int, device: str, at: float, **reading: Any) -> dict[str, Any]:
    """A printer's answered poll event; ``reading`` adds parts to its reading."""
    return {
        "type": "poll",
        "seq": seq,
        "at": at,
        "poll": {
            "device": device,
            "address": ADDRESS,
            "status": "ok",
            "polled_at": at,
            "reading": {"address": ADDRESS, "kind": "printer", **reading},
        },
    }
