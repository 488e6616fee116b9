"""A simulated fleet of schools that reports to a real collector through ``POST /api/v1/reports``.

Each school has one agent (its own token) and a mix of devices built with the report model: printers
with supplies and page counters, switches with ports and PoE, access points, a UPS, projectors with
lamps, displays and the gateway. Deterministic faults give every dashboard panel and alert something
to show: in the first school a printer whose black toner runs out in three school days, a projector
whose lamp reaches its rated life in ten (and warns of it), an unreachable printer, a full gateway disk
and an agent with a backlog; in a "dark" school most devices do not answer. Used by the Prometheus/Grafana tests and by ``bench/metrics_scrape.py``::

    fleet = Fleet(FleetPlan(schools=3))
    await fleet.send_history(http, collector.url, campuswatch.collector.tokens, now=time.time(), school_days=8)
    await fleet.send_round(http, collector.url, campuswatch.collector.tokens, now=time.time())
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import aiohttp

from campuswatch.collector.alerting.lamps import load_lamp_table
from campuswatch.collector.alerting.rules import CalendarSpec
from campuswatch.report import (
    SCHEMA_VERSION,
    AirplayReceiver,
    AnyEvent,
    Batch,
    DeviceKind,
    DevicePoll,
    DeviceReading,
    DhcpPool,
    DhcpStatus,
    DnsCheck,
    DnsLookup,
    GatewayStatus,
    Heartbeat,
    HeartbeatEvent,
    Interface,
    Lamp,
    PathProbe,
    PathStatus,
    PoePort,
    PollEvent,
    PrinterStatus,
    Problem,
    ProjectorErrors,
    ServiceCheck,
    Supply,
    SystemInfo,
    UpsStatus,
    WifiRadio,
    WifiStatus,
    encode,
)
from sim.collector import agent_headers

DAY_S = 86400.0
COLOURS = ("Black", "Cyan", "Magenta", "Yellow")


@dataclass(frozen=True)
class FleetPlan:
    """How many schools, and how many devices of each kind per school (plus one gateway each)."""

    schools: int
    printers: int = 2
    switches: int = 1
    access_points: int = 1
    ups: int = 1
    projectors: int = 1
    displays: int = 1
    #: Whether the last school is "dark": its devices, except the gateway, do not answer.
    dark_school: bool = True
    #: The gateway's checks of the school's network (an ``uplink`` and a ``dhcp`` reading).
    network_checks: bool = True
    #: AirPlay receivers, one a room.
    airplay_receivers: int = 1

    @property
    def devices_per_school(self) -> int:
        """Devices in each school, the gateway included."""
        return (
            self.printers
            + self.switches
            + self.access_points
            + self.ups
            + self.projectors
            + self.displays
            + 1
            + (2 if self.network_checks else 0)
            + self.airplay_receivers
        )


#: 50 devices per school (1,000 schools make the 50,000 devices of the scrape benchmark), and the
#: gateway's checks: its uplink and DHCP server, and an AirPlay receiver beside each display.
CITY_SCHOOL = FleetPlan(
    schools=1,
    printers=15,
    switches=2,
    access_points=8,
    ups=1,
    projectors=12,
    displays=11,
    dark_school=False,
    airplay_receivers=11,
)


@dataclass(frozen=True)
class DeviceSpec:
    """A simulated device: id, kind, and its position among the school's devices of that kind."""

    id: str
    kind: DeviceKind
    number: int
    #: Its place in the school's device list: the last octet of its address.
    ordinal: int


def school_id(index: int) -> str:
    """The id of the index-th school."""
    return f"schule-{index:04d}"


@dataclass
class Fleet:
    """The fleet's devices and each agent's next seq; sends rounds of polls through the real endpoint."""

    plan: FleetPlan
    seqs: dict[str, int] = field(default_factory=dict)
    rounds_sent: int = 0
    #: The fleet's today (UTC), fixed when it is made: the simulated toner levels count back from it.
    today: date = field(default_factory=lambda: datetime.now(UTC).date())

    def schools(self) -> dict[str, str]:
        """School id -> name, for ``running_collector``."""
        return {school_id(i): f"Schule {i}" for i in range(self.plan.schools)}

    def devices(self) -> Iterator[DeviceSpec]:
        """The devices of one school (every school has the same set)."""
        p = self.plan
        kinds: tuple[tuple[DeviceKind, str, int], ...] = (
            ("printer", "drucker", p.printers),
            ("switch", "switch", p.switches),
            ("access_point", "ap", p.access_points),
            ("ups", "usv", p.ups),
            ("projector", "beamer", p.projectors),
            ("display", "airplay", p.airplay_receivers),
            ("display", "tafel", p.displays),
            ("gateway", "gateway", 1),
            ("uplink", "uplink", 1 if p.network_checks else 0),
            ("dhcp", "dhcp", 1 if p.network_checks else 0),
        )
        ordinal = 0
        for kind, prefix, count in kinds:
            for n in range(count):
                ordinal += 1
                single = kind in ("gateway", "uplink", "dhcp")
                yield DeviceSpec(prefix if single else f"{prefix}-{n + 1}", kind, n, ordinal)

    def _is_dark(self, school: int) -> bool:
        return self.plan.dark_school and self.plan.schools > 1 and school == self.plan.schools - 1

    def _next_seq(self, school: str) -> int:
        self.seqs[school] = self.seqs.get(school, 0) + 1
        return self.seqs[school]

    async def send_history(
        self,
        http: aiohttp.ClientSession,
        url: str,
        tokens: Mapping[str, str],
        *,
        now: float,
        school_days: int,
    ) -> None:
        """Polls of every printer and projector on each of the past ``school_days`` school days (oldest
        first, at this time of day), for the forecasts; in the holidays that reaches back over them."""
        days: list[float] = []
        ago = 0
        while len(days) < school_days:
            ago += 1
            at = now - ago * DAY_S
            if is_school_day(_day(at)):
                days.insert(0, at)
        for school in range(self.plan.schools):
            sid = school_id(school)
            events: list[AnyEvent] = [
                self._poll(school, spec, at, round_=0)
                for at in days
                for spec in self.devices()
                if spec.kind in ("printer", "projector") and not self._is_dark(school)
            ]
            await self._post(http, url, tokens[sid], sid, events)

    async def send_round(
        self, http: aiohttp.ClientSession, url: str, tokens: Mapping[str, str], *, now: float
    ) -> None:
        """One poll of every device of every school, and each agent's heartbeat."""
        self.rounds_sent += 1
        for school in range(self.plan.schools):
            sid = school_id(school)
            events: list[AnyEvent] = [
                self._poll(school, spec, now, self.rounds_sent) for spec in self.devices()
            ]
            heartbeat = Heartbeat(
                agent_version="0.1.0" if school % 2 else "0.2.0",
                uptime_s=3600.0 * (school + 1) + 60 * self.rounds_sent,
                outbox_depth=5000 if school == 0 else school % 7,
            )
            events.append(HeartbeatEvent(seq=self._next_seq(sid), at=now, heartbeat=heartbeat))
            await self._post(http, url, tokens[sid], sid, events)

    async def _post(
        self, http: aiohttp.ClientSession, url: str, token: str, school: str, events: list[AnyEvent]
    ) -> None:
        batch = Batch(schema_version=SCHEMA_VERSION, agent_id=f"gw-{school}", school=school, events=events)
        async with http.post(
            f"{url}/api/v1/reports", data=encode(batch), headers=agent_headers(token)
        ) as response:
            assert response.status == 200, await response.text()

    def _poll(self, school: int, spec: DeviceSpec, at: float, round_: int) -> PollEvent:
        sid = school_id(school)
        address = f"10.{school // 250}.{school % 250}.{spec.ordinal}"
        # The gateway and its own checks report even in a dark school: the agent runs there.
        down = (self._is_dark(school) and spec.kind not in ("gateway", "uplink", "dhcp")) or (
            school == 0 and spec.kind == "printer" and spec.number == 1
        )
        reading = None if down else reading_of(school, spec, address, at, round_, self.today)
        poll = DevicePoll(
            device=spec.id,
            address=address,
            status="unreachable" if down else "ok",
            polled_at=at,
            reading=reading,
            label=f"Raum {100 + spec.number}",
        )
        return PollEvent(seq=self._next_seq(sid), at=at, poll=poll)


#: The collector's default school calendar (NRW, with its holidays): a school's toner goes down on its
#: school days only, and the collector's forecast counts the same days.
_CALENDAR = CalendarSpec().build()


@functools.cache
def is_school_day(day: date) -> bool:
    """A school day of the collector's default calendar (cached: the holidays package is slow)."""
    return _CALENDAR.is_school_day(day)


def _day(at: float) -> date:
    return datetime.fromtimestamp(at, UTC).date()


def school_days_between(earlier: date, later: date) -> int:
    """School days after ``earlier`` up to and including ``later``: a Saturday's level is Friday's."""
    return sum(is_school_day(earlier + timedelta(days=n)) for n in range(1, (later - earlier).days + 1))


def toner_levels(school: int, spec: DeviceSpec, at: float, today: date) -> list[float]:
    """Black toner of the first school's first printer runs out three school days after ``today``; the
    others last weeks."""
    days_before_today = school_days_between(_day(at), today)
    if school == 0 and spec.number == 0:
        # 2 points a school day, 6 % left today: three school days.
        return [6.0 + 2.0 * days_before_today, 50.0, 60.0, 70.0]
    base = 40.0 + 3 * spec.number + school % 10
    return [base + 0.5 * days_before_today + 10 * c for c in range(4)]


#: The rated life of the fleet's projector lamps: a model campuswatch/mibs/lamps.yaml does not list
#: (the collector judges lamps by it, PJLink does not tell).
DUE_LAMP_LIFE_H = load_lamp_table().default_life_h
#: The first school's first projector: its lamp's hours today and hours a school day.
DUE_LAMP_HOURS, DUE_LAMP_HOURS_A_DAY = DUE_LAMP_LIFE_H - 60, 6
#: Hours before its rated life at which a simulated projector warns of its lamp.
LAMP_WARNING_HOURS = 60


def lamp_of(school: int, spec: DeviceSpec, at: float, today: date) -> Lamp:
    """The lamp of the first school's first projector reaches its rated life ten school days after
    ``today``; the others burn 4 h a school day with hundreds of hours to go."""
    days_before_today = school_days_between(_day(at), today)
    if school == 0 and spec.number == 0:
        hours = DUE_LAMP_HOURS - DUE_LAMP_HOURS_A_DAY * days_before_today
        return Lamp(hours=hours, on=True)
    hours = 1500 + (100 * school) % 900 + 10 * spec.number - 4 * days_before_today
    return Lamp(hours=hours, on=True)


def path_of(school: int, round_: int) -> PathStatus:
    """The path to the internet: the first school's uplink loses a fifth of its packets, its MDM's
    certificate ends in five days and its learning platform does not answer."""
    lossy = school == 0
    now_cert = datetime.now(UTC).timestamp()
    return PathStatus(
        upstream="10.20.1.1",
        probes=[
            PathProbe(target="upstream", address="10.20.1.1", role="upstream", sent=20,
                      received=16 if lossy else 20, loss_percent=20.0 if lossy else 0.0,
                      rtt_avg_s=0.002, rtt_max_s=0.004, jitter_s=0.0005),
            PathProbe(target="internet", address="9.9.9.9", role="target", sent=20,
                      received=16 if lossy else 20, loss_percent=20.0 if lossy else 0.0,
                      rtt_avg_s=0.018 + 0.001 * (round_ % 3), rtt_max_s=0.03, jitter_s=0.002),
        ],
        dns=[DnsCheck(resolver="10.20.1.1", lookups=[
            DnsLookup(name="mdm.schule.de", rcode="NOERROR", addresses=["10.20.9.9"], latency_s=0.004),
            DnsLookup(name="lernen.schule.de", rcode="NOERROR", addresses=["10.20.9.8"], latency_s=0.006),
        ])],
        services=[
            ServiceCheck(name="MDM", url="https://mdm.schule.de/", status=200, ok=True, latency_s=0.08,
                         tls_verified=True, cert_not_after=now_cert + (5 if lossy else 90) * DAY_S),
            ServiceCheck(name="Lernplattform", url="https://lernen.schule.de/", status=None if lossy else 200,
                         ok=not lossy, latency_s=None if lossy else 0.12, error="no answer within 3 s" if lossy else None,
                         tls_verified=None if lossy else True, cert_not_after=None if lossy else now_cert + 60 * DAY_S),
        ],
    )  # fmt: skip


def reading_of(
    school: int, spec: DeviceSpec, address: str, at: float, round_: int, today: date
) -> DeviceReading:
    """What the device reports: one builder per kind, faults placed deterministically."""
    system = SystemInfo(
        name=spec.id,
        vendor={"printer": "Brother", "switch": "HP", "access_point": "Cisco", "ups": "APC"}.get(
            spec.kind, "BenQ"
        ),
        model=f"{spec.kind.upper()}-{100 + spec.number % 3}",
    )
    reading = DeviceReading(address=address, kind=spec.kind, system=system)
    if spec.kind == "printer":
        levels = toner_levels(school, spec, at, today)
        reading.supplies = [
            Supply(
                index=i + 1,
                description=f"{colour} Toner",
                type="toner",
                state="ok",
                level_percent=min(100.0, level),
                colorant=colour.lower(),
            )
            for i, (colour, level) in enumerate(zip(COLOURS, levels, strict=True))
        ] + [
            Supply(index=5, description="Drum", type="opc", state="some_remaining"),
            Supply(
                index=6,
                description="Waste Toner",
                type="wasteToner",
                state="ok",
                level_percent=20.0,
                supply_class="filled",
            ),
        ]
        reading.printer = PrinterStatus(
            printer_status="idle", page_count=10_000 + 37 * round_ + 100 * spec.number
        )
    elif spec.kind == "switch":
        reading.interfaces = [
            Interface(
                index=port,
                name=f"{port}",
                admin_status="down" if port > 22 else "up",
                oper_status="up" if port <= 16 else "down",
                in_errors=3 * round_ + port % 3,
                out_errors=round_,
            )
            for port in range(1, 25)
        ]
        reading.poe = [
            PoePort(
                group=1,
                port=port,
                detection_status="fault" if port == 8 else "deliveringPower" if port <= 6 else "searching",
            )
            for port in range(1, 9)
        ]
    elif spec.kind == "access_point":
        clients = 20 + 5 * spec.number + round_
        # The first school's first AP: its 5 GHz radio past its capacity (a class of iPads and more).
        crowded = 70 if school == 0 and spec.number == 0 else clients - clients // 3
        reading.wifi = WifiStatus(
            clients=clients // 3 + crowded,
            radios_up=1 if school == 0 else 2,
            radios_total=2,
            radios=[
                WifiRadio(ap="", radio="0", band="2.4GHz", channel=6, clients=clients // 3,
                          utilization_percent=35.0, state="down" if school == 0 else "up"),
                WifiRadio(ap="", radio="1", band="5GHz", channel=36, clients=crowded,
                          utilization_percent=85.0 if crowded == 70 else 40.0, state="up"),
            ],
        )  # fmt: skip
    elif spec.kind == "uplink":
        reading.path = path_of(school, round_)
    elif spec.kind == "dhcp":
        leased = 245 if school == 0 else 120 + school % 50
        reading.dhcp = DhcpStatus(
            server="kea",
            pools=[DhcpPool(name="10.20.0.0/24", size=250, leased=leased, subnet="10.20.0.0/24")],
        )
    elif spec.kind == "display" and spec.id.startswith("airplay"):
        gone = school == 0  # the first school's receiver has gone
        reading.airplay = AirplayReceiver(
            name=f"Apple TV Raum {100 + spec.number}",
            room=f"Raum {100 + spec.number}",
            announced=not gone,
            reachable=None if gone else True,
            address=None if gone else address,
            port=None if gone else 7000,
        )
    elif spec.kind == "ups":
        reading.ups = UpsStatus(
            battery_status="normal", charge_percent=100.0 - school % 5, runtime_s=1800.0, on_battery=False
        )
    elif spec.kind == "projector":
        lamp = lamp_of(school, spec, at, today)
        reading.lamps = [lamp]
        if DUE_LAMP_LIFE_H - lamp.hours <= LAMP_WARNING_HOURS:
            # What a projector says of a lamp near its end (PJLink ERST), from today on (on a weekend,
            # from the last school day): its ticket opens with the whole history's forecast.
            reading.errors = ProjectorErrors(lamp="warning")
            reading.problems = [
                Problem(
                    code="projector_lamp",
                    severity="warning",
                    summary="Lamp warning reported by the projector",
                )
            ]
    elif spec.kind == "gateway":
        reading.gateway = GatewayStatus(
            cpu_percent=12.0 + school % 30,
            memory_percent=40.0,
            disk_percent=95.0 if school == 0 else 35.0,
            uplink_rx_bps=8_000_000.0,
            uplink_tx_bps=2_000_000.0,
        )
    return reading
