"""How reading a device fails, whatever the protocol. Each error carries the poll status it means.

Messages never contain a community, key or password.
"""

from __future__ import annotations

from campuswatch.report import PollStatus


class DeviceError(Exception):
    """Base: reading a device failed; ``status`` is the poll status to report."""

    status: PollStatus = "error"


class DeviceUnreachable(DeviceError):
    """No answer at all within timeout and retries."""

    status: PollStatus = "unreachable"


class AuthenticationFailed(DeviceError):
    """The device answered but refused our credentials (community, v3 user, PJLink password)."""

    status: PollStatus = "auth_failed"


class DeviceReplyError(DeviceError):
    """The device answered with an error, or with something we could not decode."""

    status: PollStatus = "error"


class DeviceOverBudget(DeviceReplyError):
    """The device sent more, or took longer, than one poll may take (``max_poll_bytes``, ``max_poll_s``):
    an endless walk, a body without end, a reply dripped byte by byte. Reported as a reply error, so the
    device shows as answering garbage; the agent stops reading it at once and loses nothing else."""
