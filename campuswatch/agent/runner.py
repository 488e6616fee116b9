"""The agent's service loop: poll each device on its interval, keep every report, deliver it.

Polls are scheduled with APScheduler's AsyncIOScheduler, one job per device with jitter so a school's
devices are not all asked in the same instant; a slow device only delays its own job. Each poll's outcome
goes into the on-disk :class:`~campuswatch.agent.uplink.outbox.Outbox`; the :class:`~campuswatch.agent.uplink.delivery.Sender` moves it to the
collector. SIGHUP re-reads the config (jobs change, the outbox stays); SIGTERM/SIGINT stop the scheduler,
deliver what can be delivered within a deadline, and exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from campuswatch import __version__
from campuswatch.agent.config import (
    FIRST_DISCOVERY_AFTER_S,
    GATEWAY_DEVICE_ID,
    AgentConfig,
    DeviceEntry,
    load_agent_config,
    read_target,
)
from campuswatch.agent.gateway import GatewaySample, read_gateway
from campuswatch.agent.metrics import AgentMetrics
from campuswatch.agent.protocols.snmp.transport.client import SnmpClient
from campuswatch.agent.readers import Readers
from campuswatch.agent.uplink.delivery import Sender
from campuswatch.agent.uplink.outbox import Outbox
from campuswatch.config import ConfigError
from campuswatch.report import DevicePoll, Heartbeat

log = logging.getLogger(__name__)

DRAIN_DEADLINE_S = 10.0


class Agent:
    """One running agent: config, device readers (and the SNMP client they share), outbox, sender and the
    poll schedule."""

    def __init__(self, config: AgentConfig, config_path: str | Path | None = None) -> None:
        self.config = config
        self.config_path = config_path
        self.started = time.monotonic()
        self.snmp = SnmpClient()
        self.readers = Readers(self.snmp)
        state = config.state_dir()
        state.mkdir(parents=True, exist_ok=True)
        self.outbox = Outbox(
            state / "outbox.sqlite3",
            max_bytes=config.outbox_max_bytes,
            full_every_s=config.collector.full_every_s,
        )
        self.sender = self._make_sender(config)
        self.scheduler = AsyncIOScheduler()
        self.metrics: AgentMetrics | None = None
        self._gateway_sample: GatewaySample | None = None
        self._in_flight: set[asyncio.Task[object]] = set()
        self._on_poll: list[Callable[[DevicePoll], None]] = []

    def _make_sender(self, config: AgentConfig) -> Sender:
        c = config.collector
        cert = (c.client_cert, c.client_key or c.client_cert) if c.client_cert else None
        return Sender(
            self.outbox,
            c.url.rstrip("/") + "/api/v1/reports",
            config.read_token(),
            agent_id=config.agent_id,
            school=config.school,
            ca_file=c.ca_file,
            client_cert=cert,
            backoff_cap=c.retry_max_s,
            # Heartbeats wait with the samples, and the collector counts missed heartbeats: never let them
            # wait longer than the next one is due, or a quiet school looks silent to it.
            batch_wait_s=min(c.batch_wait_s, config.heartbeat_s),
        )

    def on_poll(self, callback: Callable[[DevicePoll], None]) -> None:
        """Call ``callback`` with every poll's outcome (metrics, tests)."""
        self._on_poll.append(callback)

    # -- polling ------------------------------------------------------------------------------------

    def _track(self) -> None:
        """Remember the running job so that stopping lets it finish instead of cancelling it midway."""
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def poll(self, device: DeviceEntry) -> DevicePoll:
        """Poll one device once and queue the outcome for delivery."""
        self._track()
        result = await self.readers.poll(
            read_target(self.config, device), address=device.address, label=device.label, parent=device.parent
        )
        await self._queue(result)
        return result

    async def _queue(self, result: DevicePoll) -> None:
        """Keep a poll's outcome for delivery and tell whoever listens (metrics)."""
        await asyncio.to_thread(self.outbox.add_poll, result)
        log.debug(
            "polled",
            extra={"device": result.device, "status": result.status, "duration_s": result.duration_s},
        )
        for callback in self._on_poll:
            callback(result)

    async def poll_gateway(self) -> None:
        """Report the gateway itself (CPU, memory, disk, uplink) as the school's gateway device."""
        self._track()
        started = time.time()
        reading, self._gateway_sample = await asyncio.to_thread(
            read_gateway,
            self._gateway_sample,
            data_dir=self.config.state_dir(),
        )
        await self._queue(
            DevicePoll(
                device=GATEWAY_DEVICE_ID, address="localhost", status="ok", polled_at=started, reading=reading
            )
        )

    async def check_path(self) -> None:
        """One round of the checks of the path to the internet (``network:``), as the device ``uplink``."""
        from campuswatch.agent.checks.path import poll_path

        self._track()
        if self.config.network is not None:
            await self._queue(await poll_path(self.config.network))

    async def check_dhcp(self) -> None:
        """The DHCP server's pools (``dhcp:``), as the device ``dhcp``."""
        from campuswatch.agent.checks.dhcp import poll_dhcp

        self._track()
        if self.config.dhcp is not None:
            await self._queue(await poll_dhcp(self.config.dhcp))

    async def check_airplay(self) -> None:
        """One round over the rooms' AirPlay receivers (``airplay:``), a poll of each."""
        from campuswatch.agent.checks.airplay import poll_receivers

        self._track()
        if self.config.airplay is not None:
            for poll in await poll_receivers(self.config.airplay):
                await self._queue(poll)

    async def heartbeat(self) -> None:
        """Tell the collector this agent is alive, even when nothing else happens."""
        self._track()
        hb = Heartbeat(
            agent_version=__version__,
            uptime_s=time.monotonic() - self.started,
            outbox_depth=self.outbox.stats().depth,
        )
        await asyncio.to_thread(self.outbox.add_heartbeat, hb)

    def devices(self) -> list[DeviceEntry]:
        """Configured devices plus those of the inventory file written by discovery."""
        devices = list(self.config.devices)
        path = self.config.inventory_path()
        if path is not None:
            from campuswatch.agent.discovery.inventory import load_inventory, watched_devices

            try:
                inventory = load_inventory(path)
            except ConfigError as err:
                log.error(
                    "inventory not read; watching the configured devices only", extra={"error": str(err)}
                )
                inventory = None
            if inventory is not None:
                known = {d.id for d in devices} | {d.address for d in devices}
                found = watched_devices(inventory, set(self.config.credentials))
                devices += [d for d in found if d.id not in known and d.address not in known]
        return devices

    async def discover(self) -> None:
        """Scheduled discovery: write the inventory, poll what it found, and tell the collector about the
        devices that are new or changed since the last inventory (nothing when nothing changed)."""
        from campuswatch.agent.discovery.scheduled import discover_once

        self._track()
        changes = await discover_once(self.config)
        if not changes:
            return
        self.schedule_polls()
        found = changes.to_report()
        if found:
            await asyncio.to_thread(self.outbox.add_discovery, found)
        log.info("discovery reported", extra={"reported": len(found), "gone": len(changes.gone)})

    def schedule(self) -> None:
        """(Re)create every job: one per device, the heartbeat, the gateway and discovery."""
        self.scheduler.remove_all_jobs()
        now = datetime.now()
        self.schedule_polls()
        self.scheduler.add_job(
            self.heartbeat, "interval", seconds=self.config.heartbeat_s, next_run_time=now, id="heartbeat"
        )
        self.scheduler.add_job(
            self.poll_gateway,
            "interval",
            seconds=self.config.defaults.interval_s,
            next_run_time=now,
            id="gateway",
            max_instances=1,
            coalesce=True,
        )
        checks = (
            ("check:path", self.check_path, self.config.network),
            ("check:dhcp", self.check_dhcp, self.config.dhcp),
            ("check:airplay", self.check_airplay, self.config.airplay),
        )
        for job_id, check, section in checks:
            if section is None:
                continue
            # Like a device's poll: one at a time (a slow round skips a turn), the first soon after start.
            self.scheduler.add_job(
                check,
                "interval",
                seconds=section.interval_s,
                jitter=section.interval_s * 0.1,
                next_run_time=now + timedelta(seconds=1),
                id=job_id,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, math.ceil(section.interval_s)),
            )
        discovery = self.config.discovery
        if discovery is not None:
            # Not at once: a restarting agent (or a fleet of them after an update) must not sweep at start.
            first = now + timedelta(seconds=min(discovery.interval_s, FIRST_DISCOVERY_AFTER_S))
            self.scheduler.add_job(
                self.discover,
                "interval",
                seconds=discovery.interval_s,
                next_run_time=first,
                id="discovery",
                # One run at a time: a sweep slower than its interval skips a turn instead of piling up.
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, math.ceil(discovery.interval_s)),
            )

    def schedule_polls(self) -> None:
        """One poll job per device: a device new since the last call is polled at once, one no longer
        there is dropped, and the others keep their timing (discovery calls this after each change)."""
        wanted = {f"poll:{d.id}": d for d in self.devices()}
        for job in self.scheduler.get_jobs():
            if job.id.startswith("poll:") and tuple(job.args) != (wanted.get(job.id),):
                job.remove()
        scheduled = {job.id for job in self.scheduler.get_jobs()}
        now = datetime.now()
        defaults = self.config.defaults
        for i, (job_id, device) in enumerate(wanted.items()):
            if job_id in scheduled:
                continue
            interval = device.interval_s or defaults.interval_s
            jitter = defaults.jitter_s if defaults.jitter_s is not None else interval * 0.1
            # Spread the first polls over the first interval instead of firing all at start-up.
            first = now + timedelta(seconds=(i * 0.37) % min(interval, 5.0))
            self.scheduler.add_job(
                self.poll,
                "interval",
                args=[device],
                seconds=interval,
                jitter=jitter,
                next_run_time=first,
                id=job_id,
                max_instances=1,
                coalesce=True,
                # APScheduler wants a whole number of seconds, at least 1 (sub-second intervals too).
                misfire_grace_time=max(1, math.ceil(interval)),
            )

    def reload(self) -> None:
        """Re-read the config file and reschedule; a broken file keeps the running config."""
        if not self.config_path:
            return
        try:
            config = load_agent_config(self.config_path)
        except ConfigError as err:
            log.error("config not reloaded, keeping the running one", extra={"error": str(err)})
            return
        if (config.school, config.collector, config.agent_id) != (
            self.config.school,
            self.config.collector,
            self.config.agent_id,
        ):
            log.warning("school, collector or agent_id changed: restart the agent to apply that part")
        self.config.devices = config.devices
        self.config.defaults = config.defaults
        self.config.credentials = config.credentials
        self.config.inventory = config.inventory
        self.config.discovery = config.discovery
        self.config.network = config.network
        self.config.dhcp = config.dhcp
        self.config.airplay = config.airplay
        self.schedule()
        log.info("config reloaded", extra={"devices": len(self.config.devices)})

    # -- lifecycle ----------------------------------------------------------------------------------

    async def _start_metrics(self) -> None:
        if not self.config.metrics_listen:
            return
        from campuswatch.devices import split_host_port

        host, port = split_host_port(self.config.metrics_listen, 9750)
        metrics = AgentMetrics(self.outbox, self.sender)
        self.on_poll(metrics.observe_poll)
        await metrics.serve(host, port)
        self.metrics = metrics

    async def run(self, *, once: bool = False) -> int:
        """Run until SIGTERM/SIGINT (or, with ``once``, after one poll of each device and a delivery)."""
        await self.snmp.start()
        sender_task = asyncio.create_task(self.sender.run(), name="sender")
        try:
            if once:
                return await self._run_once()
            await self._start_metrics()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGTERM, stop.set)
            loop.add_signal_handler(signal.SIGINT, stop.set)
            loop.add_signal_handler(signal.SIGHUP, self.reload)
            self.schedule()
            self.scheduler.start()
            log.info(
                "agent running",
                extra={"school": self.config.school, "devices": len(self.devices()), "pid": os.getpid()},
            )
            await stop.wait()
            log.info("stopping: delivering what is queued")
            return 0
        finally:
            if self.scheduler.running:
                # Pause first: APScheduler's shutdown cancels the jobs under way, losing their outcome.
                self.scheduler.pause()
                await self._finish_polls()
                self.scheduler.shutdown(wait=False)
            await self.sender.stop(DRAIN_DEADLINE_S)
            with contextlib.suppress(asyncio.CancelledError):
                await sender_task
            if self.metrics is not None:
                await self.metrics.close()
            await self.snmp.close()
            self.outbox.close()

    async def _finish_polls(self) -> None:
        """Let polls under way end (each is bounded by its timeout and retries), so their outcome is kept;
        cancel what still runs after the deadline."""
        pending = {t for t in self._in_flight if not t.done()}
        if not pending:
            return
        _, still = await asyncio.wait(pending, timeout=DRAIN_DEADLINE_S)
        for task in still:
            task.cancel()
        await asyncio.gather(*still, return_exceptions=True)

    async def _run_once(self) -> int:
        await self.heartbeat()
        await asyncio.gather(
            *(self.poll(d) for d in self.devices()),
            self.check_path(),
            self.check_dhcp(),
            self.check_airplay(),
        )
        deadline = time.monotonic() + DRAIN_DEADLINE_S * 3
        while self.outbox.stats().depth and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        depth = self.outbox.stats().depth
        if depth:
            log.error("not everything was delivered; it stays in the outbox", extra={"queued": depth})
        return 1 if depth else 0


async def run_agent(config: AgentConfig, *, config_path: str | Path | None = None, once: bool = False) -> int:
    """Run an agent with this config (the ``campuswatch-agent run`` command)."""
    return await Agent(config, config_path).run(once=once)
