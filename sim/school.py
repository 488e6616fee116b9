"""The simulated school: every device of :mod:`sim.devices` answering SNMP on its own port, with faults.

Each device gets its own snmpsim responder. One responder for all would be lighter, but snmpsim's
writecache keeps one store per process keyed by OID alone, so a SET on one printer's toner level would
change every device that records the same OID; a process per device also lets ``silent`` stop exactly
one device (its responder stops; ``clear`` starts it again on the same port and re-applies the faults
still active, as a printer that was switched off comes back with its toner still empty).

Faults are SNMP SETs (v2c, the device's community) of the values :func:`sim.faults.compose` derives
from the recording's baseline and the device's active faults, so clearing one of several faults
leaves the others in place and clearing the last restores the recorded values.

With ``projector=True`` the school also has a PJLink projector (:mod:`sim.pjlink`, class 2, with a
password) whose faults change its state in place: ``lamp_failure`` (ERST lamp error, lamp off) and
``silent`` (it accepts connections and says nothing).

    async with SimulatedSchool() as school:
        host, port = school.endpoint("printer-lehrerzimmer")
        await school.inject("printer-lehrerzimmer", "paper_jam")
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sim.devices import RECORDINGS, SimDevice, school_devices
from sim.faults import SILENT, compose
from sim.pjlink import PjlinkSimulator, ProjectorState
from sim.snmpio import SnmpIO
from sim.snmpsim import SnmpSimulator, free_udp_port

log = logging.getLogger(__name__)

PROJECTOR = "beamer-raum-101"
PROJECTOR_PASSWORD = "raum101"
#: The projector's faults: ProjectorState fields and the values they take while the fault is active.
PROJECTOR_FAULTS: dict[str, dict[str, object]] = {
    "lamp_failure": {"erst": "020000", "lamps": [(2870, False)]},
    SILENT: {"mode": "silent"},
}


def _projector_state() -> ProjectorState:
    """An Epson classroom projector, running, lamp fine."""
    return ProjectorState(
        pjclass=2,
        password=PROJECTOR_PASSWORD,
        name="Raum 101",
        manufacturer="EPSON",
        product="EB-W49",
        serial="X5F3901234L",
        info="EB-W49/XGA",
        lamps=[(2870, True)],
        mac="a4:ee:57:31:0c:9d",
    )


@dataclass
class _Projector:
    """The running projector simulator, its recorded state and its active faults in order."""

    simulator: PjlinkSimulator
    baseline: ProjectorState
    active: list[str] = field(default_factory=list)

    def apply(self) -> None:
        """Set every field a fault touches to its baseline, then to what the active faults make it.

        The state is changed in place: the simulator's TCP and UDP sides share the object."""
        for key in {k for fault in PROJECTOR_FAULTS.values() for k in fault}:
            setattr(self.simulator.state, key, getattr(self.baseline, key))
        for fault in self.active:
            for key, value in PROJECTOR_FAULTS[fault].items():
                setattr(self.simulator.state, key, value)


@dataclass
class _Device:
    """A device of the running school: where it answers, its responder, its active faults in order."""

    spec: SimDevice
    host: str
    port: int
    data_dir: Path
    responder: SnmpSimulator | None = None
    active: list[str] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SimulatedSchool:
    """The school's devices on ``host``, each on its own port (free ones unless ``ports`` names one).

    Each SNMP device serves its recording from ``sim/recordings/school`` (a working copy, so a test
    cannot change the committed file); ``log_dir``, if given, receives one snmpsim log per device.
    """

    def __init__(
        self,
        devices: Sequence[SimDevice] | None = None,
        *,
        host: str = "127.0.0.1",
        ports: dict[str, int] | None = None,
        log_dir: Path | None = None,
        projector: bool = False,
    ) -> None:
        self.host = host
        self.log_dir = log_dir
        self._specs = list(devices) if devices is not None else list(school_devices())
        self._ports = dict(ports or {})
        self._devices: dict[str, _Device] = {}
        self._with_projector = projector
        self._projector: _Projector | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._snmp = SnmpIO()

    @property
    def devices(self) -> list[SimDevice]:
        """The simulated devices, in order."""
        return list(self._specs)

    def endpoint(self, name: str) -> tuple[str, int]:
        """Where the device answers: SNMP over UDP (its community is its name), PJLink over TCP."""
        if self._projector is not None and name == PROJECTOR:
            return self._projector.simulator.host, self._projector.simulator.port
        device = self._device(name)
        return device.host, device.port

    def address(self, name: str) -> str:
        """``host:port`` of the device, as agent configs write it."""
        host, port = self.endpoint(name)
        return f"{host}:{port}"

    def active_faults(self, name: str) -> tuple[str, ...]:
        """The device's active faults, in the order they were injected."""
        if self._projector is not None and name == PROJECTOR:
            return tuple(self._projector.active)
        return tuple(self._device(name).active)

    def agent_devices(self) -> list[dict[str, str]]:
        """The ``devices:`` entries of an agent config that watches this school (communities inline)."""
        switch = next((d.name for d in self._specs if d.kind == "switch"), None)
        entries = []
        for spec in self._specs:
            entry = {
                "id": spec.name,
                "address": self.address(spec.name),
                "community": spec.name,
                "label": spec.label,
            }
            if spec.kind == "printer" and switch:
                entry["parent"] = switch
            entries.append(entry)
        if self._projector is not None:
            entries.append(
                {
                    "id": PROJECTOR,
                    "address": self.address(PROJECTOR),
                    "protocol": "pjlink",
                    "password": PROJECTOR_PASSWORD,
                    "label": self._projector.baseline.name,
                }
            )
        return entries

    def _device(self, name: str) -> _Device:
        try:
            return self._devices[name]
        except KeyError:
            names = [*self._devices, *([PROJECTOR] if self._projector else [])]
            known = ", ".join(names) or "none (the school is not started)"
            raise ValueError(f"no simulated device {name!r}; known: {known}") from None

    async def start(self) -> SimulatedSchool:
        """Start every device's responder (in parallel) and wait until all answer."""
        await asyncio.to_thread(self._copy_recordings)
        try:
            # Let every start finish before acting on a failure, so stop() sees all responders.
            results = await asyncio.gather(
                *(self._start_responder(d) for d in self._devices.values()), return_exceptions=True
            )
            for result in results:
                if isinstance(result, BaseException):
                    raise result
            if self._with_projector:
                simulator = PjlinkSimulator(
                    _projector_state(), host=self.host, port=self._ports.get(PROJECTOR, 0)
                )
                await simulator.__aenter__()
                self._projector = _Projector(simulator, _projector_state())
        except BaseException:
            await self.stop()
            raise
        log.info(
            "simulated school up",
            extra={"devices": {name: f"{d.host}:{d.port}" for name, d in self._devices.items()}},
        )
        return self

    def _copy_recordings(self) -> None:
        """A working copy of each device's recording (SETs change it), one folder per device."""
        self._tmp = tempfile.TemporaryDirectory(prefix="campuswatch-school-")
        root = Path(self._tmp.name)
        # The responders drop to nobody when run as root: they must be able to read their data.
        os.chmod(root, 0o755)
        for spec in self._specs:
            data_dir = root / spec.name
            data_dir.mkdir()
            shutil.copy(RECORDINGS / f"{spec.name}.snmprec", data_dir)
            os.chmod(data_dir, 0o755)
            port = self._ports.get(spec.name) or free_udp_port(self.host)
            self._devices[spec.name] = _Device(spec, self.host, port, data_dir)

    async def _start_responder(self, device: _Device) -> None:
        log_path = self.log_dir / f"snmpsim-{device.spec.name}.log" if self.log_dir else None

        def start() -> SnmpSimulator:
            return SnmpSimulator(
                [device.data_dir],
                probe_community=device.spec.name,
                endpoints=[(device.host, device.port)],
                log_path=log_path,
            ).start()

        # The responder's set-up reads its data folder and waits for it to answer: off the event loop.
        device.responder = await asyncio.to_thread(start)

    async def _stop_responder(self, device: _Device) -> None:
        if device.responder is not None:
            await asyncio.to_thread(device.responder.stop)
            device.responder = None

    async def stop(self) -> None:
        """Stop every responder and remove the working copies."""
        await asyncio.gather(*(self._stop_responder(d) for d in self._devices.values()))
        if self._projector is not None:
            await self._projector.simulator.__aexit__(None, None, None)
            self._projector = None
        self._snmp.close()
        if self._tmp is not None:
            await asyncio.to_thread(self._tmp.cleanup)
            self._tmp = None
        log.info("simulated school stopped")

    async def __aenter__(self) -> SimulatedSchool:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def inject(self, name: str, fault: str) -> None:
        """Make the fault happen on the device; injecting an active fault again changes nothing."""
        if self._projector is not None and name == PROJECTOR:
            self._projector_fault(fault, active=True)
            return
        device = self._device(name)
        if fault != SILENT and fault not in device.spec.faults:
            known = ", ".join([*device.spec.faults, SILENT])
            raise ValueError(f"{name} has no fault {fault!r}; it knows: {known}")
        async with device.lock:
            if fault in device.active:
                return
            device.active.append(fault)
            if fault == SILENT:
                await self._stop_responder(device)
            else:
                await self._apply(device)
        log.info("fault injected", extra={"device": name, "fault": fault})

    async def clear(self, name: str, fault: str) -> None:
        """End the fault (the device recovers); clearing an inactive fault changes nothing."""
        if self._projector is not None and name == PROJECTOR:
            self._projector_fault(fault, active=False)
            return
        device = self._device(name)
        async with device.lock:
            if fault not in device.active:
                return
            device.active.remove(fault)
            if fault == SILENT:
                await self._start_responder(device)
            # A restarted responder serves the recording again: re-apply what is still wrong.
            await self._apply(device)
        log.info("fault cleared", extra={"device": name, "fault": fault})

    def _projector_fault(self, fault: str, *, active: bool) -> None:
        projector = self._projector
        assert projector is not None
        if fault not in PROJECTOR_FAULTS:
            raise ValueError(f"{PROJECTOR} has no fault {fault!r}; it knows: {', '.join(PROJECTOR_FAULTS)}")
        if active == (fault in projector.active):
            return
        if active:
            projector.active.append(fault)
        else:
            projector.active.remove(fault)
        projector.apply()
        log.info("fault injected" if active else "fault cleared", extra={"device": PROJECTOR, "fault": fault})

    async def _apply(self, device: _Device) -> None:
        """SET every settable value to what the active faults make it (nothing to do while silent)."""
        if SILENT in device.active:
            return
        spec = device.spec
        values = compose(spec.baseline(), [spec.faults[f] for f in device.active])
        tagged = {at: (spec.recording.values[at].tag, value) for at, value in values.items()}
        await self._snmp.set(device.host, device.port, spec.name, tagged)
