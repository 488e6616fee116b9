"""The PJLink TCP client: one connection per read, every query on it, then close.

Only this module talks to the network for PJLink over TCP; what the bytes mean is in ``_protocol`` and
``_reading``. A read asks POWR first (it carries the password digest), then CLSS to learn whether the class
2 queries (SNUM, SVER, FILT) are worth asking.
"""

from __future__ import annotations

import asyncio
import logging

from campuswatch.agent.errors import AuthenticationFailed, DeviceReplyError
from campuswatch.agent.protocols._tcp import device_connection, read_until
from campuswatch.agent.protocols.pjlink._protocol import (
    DEFAULT_PORT,
    MAX_LINE,
    PjlinkCommandError,
    auth_digest,
    decode_count,
    encode_command,
    parse_greeting,
    parse_reply,
)
from campuswatch.agent.protocols.pjlink._reading import build_reading
from campuswatch.agent.protocols.reader import ReadTarget, split_url
from campuswatch.config import Secret
from campuswatch.report import DeviceReading

log = logging.getLogger(__name__)

#: Class 1 queries every projector answers (or refuses with ERRn), in the order asked after POWR and CLSS.
CLASS1_QUERIES = ("ERST", "LAMP", "NAME", "INF1", "INF2", "INPT")
#: Class 2 queries, asked only of projectors whose CLSS says 2.
CLASS2_QUERIES = ("SNUM", "SVER", "FILT")


class _Session:
    """An open, greeted PJLink connection; the password digest rides on the first query."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, where: str, timeout_s: float
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._where = where
        self._timeout_s = timeout_s
        self._prefix = b""

    async def greet(self, password: Secret | None) -> None:
        line = await read_until(
            self._reader, b"\r", max_bytes=MAX_LINE, timeout_s=self._timeout_s, what=f"{self._where} greeting"
        )
        greeting = parse_greeting(line)
        if greeting.salt is not None:
            if password is None:
                raise AuthenticationFailed(
                    f"{self._where}: projector wants a PJLink password, none configured"
                )
            self._prefix = auth_digest(greeting.salt, password.reveal()).encode("ascii")

    async def query(self, pjclass: int, command: str) -> str | PjlinkCommandError:
        """The value the projector gives for ``command``, or the ERRn it answered with."""
        self._writer.write(self._prefix + encode_command(pjclass, command))
        self._prefix = b""
        await self._writer.drain()
        line = await read_until(
            self._reader,
            b"\r",
            max_bytes=MAX_LINE,
            timeout_s=self._timeout_s,
            what=f"{self._where} reply to {command}",
        )
        try:
            reply = parse_reply(line)
        except PjlinkCommandError as err:
            if err.command != command:
                raise DeviceReplyError(
                    f"{self._where}: asked {command}, got an answer for {err.command}"
                ) from err
            log.debug(
                "pjlink error reply", extra={"device": self._where, "command": command, "code": err.code}
            )
            return err
        if (reply.pjclass, reply.command) != (pjclass, command):
            raise DeviceReplyError(
                f"{self._where}: asked %{pjclass}{command}, got an answer for %{reply.pjclass}{reply.command}"
            )
        return reply.value


async def read_projector(
    host: str,
    port: int = DEFAULT_PORT,
    password: Secret | None = None,
    timeout_s: float = 5.0,
) -> DeviceReading:
    """Read a projector's identity, power, lamps and errors over PJLink, with the problems they show.

    ``timeout_s`` bounds the connection and each answer. Raises :class:`~campuswatch.agent.errors.DeviceUnreachable`
    (refused, silent; see :func:`projector_unreachable_is_fault` for when that is a fault),
    :class:`~campuswatch.agent.errors.AuthenticationFailed` (no or wrong password) or
    :class:`~campuswatch.agent.errors.DeviceReplyError` (not PJLink, or garbage).
    """
    where = f"{host}:{port}"
    async with device_connection(host, port, timeout_s) as (reader, writer):
        session = _Session(reader, writer, where, timeout_s)
        await session.greet(password)
        answers = {"POWR": await session.query(1, "POWR")}
        answers["CLSS"] = pjclass = await session.query(1, "CLSS")
        for command in CLASS1_QUERIES:
            answers[command] = await session.query(1, command)
        if isinstance(pjclass, str) and decode_count("CLSS", pjclass) >= 2:
            for command in CLASS2_QUERIES:
                answers[command] = await session.query(2, command)
    address = host if port == DEFAULT_PORT else where
    reading = build_reading(address, answers)
    log.debug("pjlink read", extra={"device": where, "problems": len(reading.problems)})
    return reading


class PjlinkReader:
    """Projectors at ``pjlink://HOST[:PORT]``: the PJLink reader of :mod:`campuswatch.agent.readers`."""

    async def read(self, target: ReadTarget) -> DeviceReading:
        """:func:`read_projector` for the target's URL, password and timeout."""
        _, host, port = split_url(target.url, {"pjlink": DEFAULT_PORT})
        return await read_projector(host, port, target.password, target.timeout_s)
