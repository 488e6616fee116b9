"""The whole of campuswatch on one machine: collector, agent and a simulated school whose devices fail.

    python -m sim.demo [--listen 127.0.0.1:8750] [--state-dir ./var/demo] [--duration S] [--interval S]

It writes a collector config (with :data:`sim.collector.IMMEDIATE_RULES`: a ticket for every problem at
once) and a schools list into the state directory (:data:`SCHOOLS`: two campus managers, three schools
with their contacts and visit timetables; only the first has an agent, the others show "no agent yet"),
two weeks of the printers' supply levels (:func:`seed_history`, so that the forecasts and the campus
manager's pack list have something to go on from the start), creates the school's token and a token to read the
API with ``campuswatch-collector token create``, and a login for the person watching with
``campuswatch-collector user add`` (printed: the collector lets nobody in without one), starts
``campuswatch-collector serve``, the simulated school (printers, switch, UPS, projector) and
``campuswatch-agent run`` against it, then plays the fault timetable (:data:`sim.faults.DEMO_TIMETABLE`)
and prints a line whenever a ticket opens or resolves (it polls ``GET /api/v1/tickets``). Ctrl-C, SIGTERM or the end of ``--duration`` stop everything: the
agent, then the collector, then the school; the exit status is 0. It is 1 when a part fails to start
or dies on its way.

Each run starts from an empty database and outbox; the logs stay in ``<state-dir>/logs``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import yaml
from yarl import URL

from campuswatch.collector.model import DeviceDays
from campuswatch.collector.store.sqlite import SqliteStore
from campuswatch.logs import JsonFormatter
from sim.collector import IMMEDIATE_RULES
from sim.devices import demo_devices
from sim.faults import DEMO_TIMETABLE, LoopClock, run_timetable
from sim.process import stop_process
from sim.school import PROJECTOR, SimulatedSchool
from sim.snmpio import SnmpFailure

log = logging.getLogger(__name__)

SCHOOL_ID = "bert-brecht-gymnasium"
SCHOOL_NAME = "Bert-Brecht-Gymnasium"
#: The demo's schools.yaml: two campus managers, three schools with contacts and visit timetables.
SCHOOLS: dict[str, Any] = {
    "campus_managers": {
        "cm-nord": {
            "name": "Anna Schmidt",
            "email": "anna.schmidt@schulen.stadt-dortmund.example",
            "phone": "+49 231 50-11111",
            "login": "anna",
        },
        "cm-ost": {"name": "Ben Yilmaz", "email": "ben.yilmaz@schulen.stadt-dortmund.example"},
    },
    "schools": {
        SCHOOL_ID: {
            "name": SCHOOL_NAME,
            "campus_manager": "cm-nord",
            "address": "Parsevalstraße 170, 44369 Dortmund",
            "contacts": [
                {"name": "Petra Weber", "role": "Sekretariat", "phone": "+49 231 50-22222"},
                {"name": "Jens Krüger", "role": "Medienbeauftragter", "email": "j.krueger@bbg.example"},
            ],
            "visits": {"weekdays": ["tue", "thu"], "time": "08:00-11:00"},
            # The rooms whose QR codes the teachers scan (the room page and its "No picture" button).
            "rooms": {"101": [PROJECTOR, "printer-raum-101"], "Lehrerzimmer": ["printer-lehrerzimmer"]},
        },
        "helmholtz-gymnasium": {
            "name": "Helmholtz-Gymnasium",
            "campus_manager": "cm-nord",
            "address": "Reinoldistraße 2, 44135 Dortmund",
            "contacts": [{"name": "Murat Demir", "role": "Hausmeister", "phone": "+49 231 50-33333"}],
            "visits": {"weekdays": ["tue"], "time": "11:30-13:00"},
        },
        "gesamtschule-scharnhorst": {
            "name": "Gesamtschule Scharnhorst",
            "campus_manager": "cm-ost",
            "address": "Mackenrothweg 15, 44328 Dortmund",
            "contacts": [{"name": "Sabine Lorenz", "role": "Sekretariat", "phone": "+49 231 50-44444"}],
            "visits": {"weekdays": ["wed"], "time": "09:00-12:00", "every_weeks": 2, "anchor": "2026-09-02"},
        },
    },
}
#: The daily levels (percent left) the demo's printers had on the school days before it started: (device,
#: supply index, the level the recording has now, points used per school day, school days). The Kyocera's
#: yellow runs out within three school days, sooner than the visit after the next, so the next visit's
#: pack list has it; the blacks last for weeks.
SUPPLY_HISTORY = (
    ("printer-lehrerzimmer", 1, 64.0, 1.5, 10),
    ("printer-raum-101", 1, 64.0, 2.0, 10),
    ("printer-raum-101", 4, 33.0, 12.0, 3),
)
#: The campus manager's login the demo makes beside the admin's.
MANAGER_LOGIN = "anna"
#: The login the demo makes for the person watching (an admin: they see and may do everything).
LOGIN = "demo"
DB_NAME = "collector.sqlite3"
#: Seconds the collector may take to answer its health check, and a child to stop on SIGTERM.
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
TICKET_POLL_S = 2.0
#: The room a teacher reports from, and what they say: the projector there has no picture.
TEACHER_ROOM = "101"
TEACHER_NOTE = "Beamer zeigt kein Bild, die Lampe blinkt rot"


class DemoFailed(Exception):
    """A part of the demo did not start or died; the message says which and where its log is."""


def _command(name: str) -> list[str]:
    """The console script installed beside this Python (the venv's), else the one on PATH."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        raise DemoFailed(f"{name} is not installed (pip install -e . in the project)")
    return [found]


@dataclass
class Child:
    """A child process of the demo, its log file, and whether we asked it to stop."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it does not exit in time."""
        if stop_process(self.process, STOP_TIMEOUT_S):
            log.warning("child did not stop in time; killed it", extra={"child": self.name})
        log.info("child stopped", extra={"child": self.name, "status": self.process.returncode})


def _spawn(name: str, argv: list[str], logs: Path) -> Child:
    log_path = logs / f"{name}.log"
    out = log_path.open("ab")
    # A session of its own: Ctrl-C reaches only the demo, which then stops the children in order.
    process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    out.close()
    log.info("child started", extra={"child": name, "pid": process.pid, "argv": argv})
    return Child(name, process, log_path)


@dataclass
class _Narrated:
    """The school, with a line printed for each fault the timetable injects or clears."""

    school: SimulatedSchool
    say: Callable[[str], None]

    async def inject(self, device: str, fault: str) -> None:
        self.say(f"fault    {fault} on {device}")
        await self.school.inject(device, fault)

    async def clear(self, device: str, fault: str) -> None:
        self.say(f"recovery {fault} on {device}")
        await self.school.clear(device, fault)


class Demo:
    """One demo run; :meth:`run` does everything and returns the exit status."""

    def __init__(
        self,
        *,
        listen: str,
        state_dir: Path,
        duration_s: float | None,
        interval_s: float,
        speed: float = 1.0,
    ) -> None:
        self.listen = listen
        self.url = f"http://{listen}"
        self.state_dir = state_dir.resolve()
        self.logs = self.state_dir / "logs"
        self.duration_s = duration_s
        self.interval_s = interval_s
        self.timetable = [s._replace(at_s=s.at_s / speed) for s in DEMO_TIMETABLE]
        self.children: list[Child] = []
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        """One line for the person watching, stamped with the seconds since the start."""
        print(f"[{time.monotonic() - self.started:5.0f}s] {text}", flush=True)

    def _prepare(self) -> tuple[Path, Path]:
        """Fresh state: config files, no database or outbox of an earlier run. Returns the config paths."""
        self.logs.mkdir(parents=True, exist_ok=True)
        for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
            (self.state_dir / name).unlink(missing_ok=True)
        shutil.rmtree(self.state_dir / "agent-data", ignore_errors=True)
        schools = self.state_dir / "schools.yaml"
        schools.write_text(yaml.safe_dump(SCHOOLS, allow_unicode=True, sort_keys=False))
        collector = self.state_dir / "collector.yaml"
        # The demo wants tickets within minutes, at any hour: every problem gets its ticket at once. Its
        # tickets and pages are in German, as the city's are (the lines it prints stay English).
        settings = {
            "language": "de",
            "listen": self.listen,
            "db": DB_NAME,
            "schools_file": schools.name,
            "rules_file": str(IMMEDIATE_RULES),
        }
        collector.write_text(yaml.safe_dump(settings))
        return collector, self.state_dir / "agent.yaml"

    def _collector_args(self, collector_config: Path) -> list[str]:
        return ["--config", str(collector_config), "--db", str(self.state_dir / DB_NAME)]

    def _collector_cli(self, collector_config: Path, *args: str, stdin: str | None = None) -> str:
        """Run ``campuswatch-collector ARGS`` on the demo's config; its stdout."""
        argv = [
            *_command("campuswatch-collector"),
            "--log-format",
            "json",
            *args,
            *self._collector_args(collector_config),
        ]
        result = subprocess.run(
            argv, capture_output=True, text=True, input=stdin, timeout=START_TIMEOUT_S, check=False
        )
        if result.returncode != 0:
            raise DemoFailed(f"campuswatch-collector {' '.join(args[:2])} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def _credentials(self, collector_config: Path) -> tuple[Path, str, str]:
        """The school's token (in a file for the agent), a token to read the API, and the password of
        the demo's login."""
        token = self._collector_cli(collector_config, "token", "create", SCHOOL_ID)
        token_file = self.state_dir / "token"
        token_file.unlink(missing_ok=True)
        # Created private: the token is the school's credential, readable by its owner alone.
        with os.fdopen(os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(token + "\n")
        reader = self._collector_cli(collector_config, "token", "create", "--scope", "read", "--name", "demo")
        password = secrets.token_urlsafe(12)
        self._collector_cli(
            collector_config,
            "user",
            "add",
            LOGIN,
            "--role",
            "admin",
            "--password-stdin",
            stdin=password + "\n",
        )
        self._collector_cli(
            collector_config,
            "user",
            "add",
            MANAGER_LOGIN,
            "--role",
            "campus-manager",
            "--campus-manager",
            "cm-nord",
            "--password-stdin",
            stdin=password + "\n",
        )
        return token_file, reader, password

    def _write_agent_config(self, path: Path, school: SimulatedSchool, token_file: Path) -> None:
        config = {
            "school": SCHOOL_ID,
            "agent_id": "demo-gateway",
            "collector": {"url": self.url, "token_file": str(token_file)},
            "data_dir": str(self.state_dir / "agent-data"),
            # The demo's machine may run a real agent: no metrics port to collide with.
            "metrics_listen": None,
            "heartbeat_s": max(self.interval_s, 5.0),
            "defaults": {"interval_s": self.interval_s, "timeout_s": 1.0, "retries": 1},
            "devices": school.agent_devices(),
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))

    async def _wait_for_collector(self, session: aiohttp.ClientSession, child: Child) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                raise DemoFailed(
                    f"the collector exited with status {child.process.returncode}; see {child.log_path}"
                )
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(f"{self.url}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
        raise DemoFailed(f"the collector did not answer on {self.url} within {START_TIMEOUT_S:.0f}s")

    async def _tickets(self, session: aiohttp.ClientSession, reader: str) -> list[dict[str, Any]]:
        """Every ticket, page after page, with the demo's token to read the API."""
        tickets: list[dict[str, Any]] = []
        path: str | None = "/api/v1/tickets"
        while path is not None:
            async with session.get(
                f"{self.url}{path}", headers={"Authorization": f"Bearer {reader}"}
            ) as response:
                if response.status != 200:
                    raise aiohttp.ClientError(f"GET {path}: {response.status}")
                page = await response.json()
            tickets.extend(page["items"])
            path = page["next"]
        return tickets

    async def _watch_tickets(self, session: aiohttp.ClientSession, reader: str) -> None:
        """Print a line when a ticket opens or resolves (the collector's API is the truth)."""
        states: dict[object, str] = {}
        while True:
            try:
                tickets = await self._tickets(session, reader)
            except (aiohttp.ClientError, TimeoutError) as err:
                log.warning("ticket poll failed", extra={"error": str(err)})
                tickets = []
            for ticket in sorted(tickets, key=lambda t: t["id"]):
                previous = states.get(ticket["id"])
                if ticket["state"] != previous:
                    states[ticket["id"]] = ticket["state"]
                    verb = "opened  " if ticket["state"] == "open" else f"{ticket['state']:8}"
                    self.say(f"ticket #{ticket['id']} {verb} {ticket['device']}: {ticket['title']}")
            await asyncio.sleep(TICKET_POLL_S)

    async def _room_link(self, session: aiohttp.ClientSession, reader: str, room: str) -> str:
        """The room's link as the school's QR sheet prints it (the sheet read with the demo's token)."""
        async with session.get(
            f"{self.url}/schools/{SCHOOL_ID}/rooms", headers={"Authorization": f"Bearer {reader}"}
        ) as response:
            if response.status != 200:
                raise DemoFailed(f"the QR sheet of {SCHOOL_ID} answered {response.status}")
            sheet = await response.text()
        for link in map(html.unescape, re.findall(r'<p class="url">([^<]*)</p>', sheet)):
            if link.endswith("/" + quote(room, safe="")):
                return link
        raise DemoFailed(f"the QR sheet of {SCHOOL_ID} has no room {room}")

    async def _teacher_reports(self, session: aiohttp.ClientSession, reader: str) -> None:
        """Once the projector in room 101 has its ticket, a teacher taps "No picture" on the room's page
        (its link from the QR sheet, the form's CSRF token as a phone's browser gets it): the report adds
        to that ticket and opens none, which the lines printed show."""
        while not (known := [t for t in await self._tickets(session, reader) if _open_for(t, PROJECTOR)]):
            await asyncio.sleep(0.5)
        [ticket] = known
        await asyncio.sleep(TICKET_POLL_S)  # the ticket's line is printed first: the story in order
        before = len(await self._tickets(session, reader))
        link = await self._room_link(session, reader, TEACHER_ROOM)
        # The teacher's phone: its own cookies (the form's nonce), no login, no token.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as phone:
            async with phone.get(link) as response:
                found = re.search(r'name="csrf" value="([^"]+)"', await response.text())
            if response.status != 200 or found is None:
                raise DemoFailed(f"the room page of room {TEACHER_ROOM} answered {response.status}")
            form = {"csrf": found.group(1), "complaint": "no_picture", "note": TEACHER_NOTE}
            async with phone.post(link, data=form, allow_redirects=False) as response:
                where = URL(response.headers.get("Location", ""))
            if response.status != 303:
                raise DemoFailed(f"the teacher's report was refused: {response.status}")
        outcome = where.query.get("sent")
        self.say(
            f'teacher  room {TEACHER_ROOM}: "No picture" ({TEACHER_NOTE}) -> the room page says: {outcome}'
        )
        async with session.get(
            f"{self.url}/api/v1/tickets/{ticket['id']}", headers={"Authorization": f"Bearer {reader}"}
        ) as response:
            detail = await response.json()
        after = len(await self._tickets(session, reader))
        notes = [n["text"] for n in detail["history"] if n["kind"] == "note"]
        self.say(
            f"ticket #{ticket['id']} noted    {PROJECTOR}: {notes[-1] if notes else '(no note)'}"
            f" ({after - before} new tickets)"
        )
        await asyncio.Event().wait()

    async def _watch_children(self) -> None:
        """Raise :class:`DemoFailed` when a child exits on its own (a crash: the demo cannot go on)."""
        while True:
            for child in self.children:
                if child.process.poll() is not None:
                    raise DemoFailed(
                        f"{child.name} exited with status {child.process.returncode}; see {child.log_path}"
                    )
            await asyncio.sleep(0.5)

    async def _play(self, school: SimulatedSchool) -> None:
        try:
            await run_timetable(_Narrated(school, self.say), self.timetable, LoopClock())
        except (ValueError, SnmpFailure) as err:
            raise DemoFailed(f"the fault timetable failed: {err}") from err
        self.say("timetable done; Ctrl-C to stop")
        await asyncio.Event().wait()

    async def run(self) -> int:
        """Start everything, play the faults, stop everything; the exit status."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        collector_config, agent_config = self._prepare()
        status = 0
        school = SimulatedSchool(demo_devices(), log_dir=self.logs, projector=True)
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
                token_file, reader, password = await asyncio.to_thread(self._credentials, collector_config)
                await seed_history(self.state_dir / DB_NAME, time.time())
                collector = _spawn(
                    "collector",
                    [
                        *_command("campuswatch-collector"),
                        "--log-format",
                        "json",
                        "serve",
                        "--listen",
                        self.listen,
                        *self._collector_args(collector_config),
                    ],
                    self.logs,
                )
                self.children.append(collector)
                await self._wait_for_collector(session, collector)
                await school.start()
                self._write_agent_config(agent_config, school, token_file)
                self.children.append(
                    _spawn(
                        "agent",
                        [
                            *_command("campuswatch-agent"),
                            "--log-format",
                            "json",
                            "run",
                            "--config",
                            str(agent_config),
                        ],
                        self.logs,
                    )
                )
                self.say(f"collector: {self.url}/  (tickets: {self.url}/api/v1/tickets)")
                self.say(f"log in at {self.url}/login as {LOGIN!r} with the password {password!r}")
                self.say(
                    f"campus manager {MANAGER_LOGIN!r} (same password): {self.url}/managers/cm-nord "
                    f"(next visits, work and pack lists; {self.url}/api/v1/campus-managers/cm-nord/visits)"
                )
                for entry in school.agent_devices():
                    self.say(f"device   {entry['id']:22} {entry['address']:17} {entry.get('label', '')}")
                status = await self._until_stopped(stop, session, school, reader)
        except DemoFailed as err:
            self.say(f"failed: {err}")
            status = 1
        finally:
            self.say("stopping")
            for child in reversed(self.children):
                await asyncio.to_thread(child.stop)
            await school.stop()
        self.say("stopped")
        return status

    async def _until_stopped(
        self, stop: asyncio.Event, session: aiohttp.ClientSession, school: SimulatedSchool, reader: str
    ) -> int:
        tasks = {
            asyncio.create_task(stop.wait(), name="signal"),
            asyncio.create_task(self._watch_tickets(session, reader), name="tickets"),
            asyncio.create_task(self._watch_children(), name="children"),
            asyncio.create_task(self._play(school), name="timetable"),
            asyncio.create_task(self._teacher_reports(session, reader), name="teacher"),
        }
        if self.duration_s is not None:
            tasks.add(asyncio.create_task(asyncio.sleep(self.duration_s), name="duration"))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            error = task.exception()
            if error is not None:
                raise error
        return 0


def _open_for(ticket: dict[str, Any], device: str) -> bool:
    return bool(ticket["state"] == "open" and ticket["device"] == device)


async def seed_history(db: Path, now: float) -> None:
    """The printers' supply levels of the school days before ``now`` (:data:`SUPPLY_HISTORY`), as the
    collector would have kept them: its forecasts (and so the pack lists) work from the first poll."""
    today = date.fromtimestamp(now)
    before = [today - timedelta(days=n) for n in range(1, 29)]
    school_days = [d for d in before if d.weekday() < 5]
    store = await SqliteStore.open(db)
    try:
        await store.devices.record_days(
            [
                DeviceDays(
                    SCHOOL_ID,
                    device,
                    day.toordinal(),
                    before[-1].toordinal(),
                    levels=[(supply, min(level_now + n * per_day, 100.0))],
                )
                for device, supply, level_now, per_day, days in SUPPLY_HISTORY
                for n, day in enumerate(school_days[:days], start=1)
            ]
        )
    finally:
        await store.close()


def _log_to_file(path: Path) -> None:
    """The demo's own structured logs go to a file: the terminal is for the story."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("pysnmp", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m sim.demo``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m sim.demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--listen", default="127.0.0.1:8750", help="the collector's address (default 127.0.0.1:8750)"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path("var/demo"),
        help="configs, database, logs (default ./var/demo)",
    )
    parser.add_argument(
        "--duration", type=float, help="stop after this many seconds (default: run until Ctrl-C)"
    )
    parser.add_argument(
        "--interval", type=float, default=15.0, help="the agent's poll interval in seconds (default 15)"
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, help="play the fault timetable this many times faster (default 1)"
    )
    args = parser.parse_args(argv)
    if args.speed <= 0 or args.interval <= 0:
        parser.error("--speed and --interval must be positive")
    _log_to_file(args.state_dir / "logs" / "demo.log")
    demo = Demo(
        listen=args.listen,
        state_dir=args.state_dir,
        duration_s=args.duration,
        interval_s=args.interval,
        speed=args.speed,
    )
    return asyncio.run(demo.run())


if __name__ == "__main__":
    sys.exit(main())
