"""SnmpClient against snmpsim serving the recordings of real devices in ../shared/devices.

What the agent fetches must be what the recording holds, byte for byte, and the fast path must return
exactly what pysnmp returns for the same device.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from campuswatch.agent.protocols.snmp.decode._knowledge import plans
from campuswatch.agent.protocols.snmp.transport import ops
from campuswatch.agent.protocols.snmp.transport.client import FetchResult, SnmpClient
from campuswatch.agent.protocols.snmp.transport.types import (
    PollPlan,
    SnmpAuthError,
    SnmpTarget,
    SnmpTimeout,
    TableSpec,
    Varbinds,
    oid,
)
from campuswatch.config import Secret
from sim.snmpd import Snmpd
from sim.snmprec import load_snmprec, restrict_to_plan
from sim.snmpsim import SnmpSimulator
from tests.support.paths import DEVICES, recordings

CLASSES = ("printer", "switch", "ups", "wifi", "av", "gateway", "host")
RECORDINGS = recordings()
MIB2 = (1, 3, 6, 1)
pytestmark = pytest.mark.integration
EVERYTHING = PollPlan(tables=(TableSpec("all", MIB2, (), max_repetitions=40),))
PRINTER_PLAN = PollPlan(
    scalars=(
        oid("1.3.6.1.2.1.1.1.0"),
        oid("1.3.6.1.2.1.1.2.0"),
        oid("1.3.6.1.2.1.1.5.0"),
        oid("1.3.6.1.2.1.25.3.2.1.5.1"),
        oid("1.3.6.1.2.1.25.3.5.1.1.1"),
        oid("1.3.6.1.2.1.25.3.5.1.2.1"),
        oid("1.3.6.1.2.1.1.99.0"),  # missing everywhere: must simply be absent
    ),
    tables=(
        TableSpec("supplies", oid("1.3.6.1.2.1.43.11.1.1"), (4, 5, 6, 7, 8, 9), max_repetitions=8),
        TableSpec("ifTable", oid("1.3.6.1.2.1.2.2.1"), (2, 3, 7, 8), max_repetitions=4),
        TableSpec("prtGeneral", oid("1.3.6.1.2.1.43.5.1.1"), (), max_repetitions=20),
    ),
)


def _every_planned_table() -> PollPlan:
    """Every table of mibs/plans.yaml with its columns, sized to the fewest rows any kind expects (so that
    many share requests)."""
    data = plans()
    rows = {name: min(r[name] for r in data.kinds.values() if name in r) for name in data.tables}
    return PollPlan(
        tables=tuple(
            TableSpec(name, oid(table.root), tuple(table.columns), rows.get(name, 10))
            for name, table in data.tables.items()
        )
    )


async def shared_and_separate(
    client: SnmpClient, target: SnmpTarget, plan: PollPlan
) -> tuple[FetchResult, FetchResult]:
    """Fetch ``plan`` (its small tables sharing requests), then its scalars and each of its tables alone."""
    assert any(len(group) > 1 for group in ops.batches(plan.tables)), "nothing would be shared"
    shared = await client.fetch(target, plan)
    separate = await client.fetch(target, PollPlan(plan.scalars))
    for table in plan.tables:
        alone = await client.fetch(target, PollPlan(tables=(table,)))
        separate.varbinds |= alone.varbinds
        separate.failed_tables |= alone.failed_tables
    return shared, separate


def _normalised(varbinds: Varbinds) -> Varbinds:
    """snmpsim drops trailing spaces from some strings (devices/README.md): compare without them."""
    return {k: v.rstrip(b" ") if isinstance(v, bytes) else v for k, v in varbinds.items()}


def _target(port: int, community: str, version: str = "2c") -> SnmpTarget:
    return SnmpTarget("127.0.0.1", port, version, Secret(community), timeout_s=5.0, retries=1)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def devices() -> Iterator[SnmpSimulator]:
    with SnmpSimulator([DEVICES / c for c in CLASSES], probe_community="jetdirect") as sim:
        yield sim


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory snmpsim can read once it dropped to user nobody (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="snmprec-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o644)


@pytest.mark.recordings
def test_recordings_are_present() -> None:
    # Guards the parametrised tests below against silently testing nothing.
    assert len(RECORDINGS) >= 50


@pytest.mark.recordings
async def test_fast_path_walks_every_recording_exactly(devices: SnmpSimulator) -> None:
    async with SnmpClient() as client:
        for path in RECORDINGS:
            result = await client.fetch(_target(devices.port, path.stem), EVERYTHING)
            recorded = {k: v for k, v in load_snmprec(path).items() if k[:4] == MIB2}
            assert result.failed_tables == {}, path.stem
            assert _normalised(result.varbinds) == _normalised(recorded), path.stem


@pytest.mark.recordings
async def test_fast_path_and_pysnmp_return_identical_varbinds(devices: SnmpSimulator) -> None:
    async with SnmpClient() as fast, SnmpClient(fast_path=False) as reference:
        for path in RECORDINGS:
            target = _target(devices.port, path.stem)
            ours = await fast.fetch(target, EVERYTHING)
            theirs = await reference.fetch(target, EVERYTHING)
            assert ours == theirs, path.stem
            ours_v1 = await fast.fetch(_target(devices.port, path.stem, "1"), PRINTER_PLAN)
            theirs_v1 = await reference.fetch(_target(devices.port, path.stem, "1"), PRINTER_PLAN)
            assert ours_v1 == theirs_v1, path.stem


@pytest.mark.parametrize("version", ["2c", "1"])
@pytest.mark.recordings
async def test_printer_plan_returns_what_the_recording_holds(devices: SnmpSimulator, version: str) -> None:
    async with SnmpClient() as client:
        for path in sorted((DEVICES / "printer").glob("*.snmprec")):
            result = await client.fetch(_target(devices.port, path.stem, version), PRINTER_PLAN)
            expected = _normalised(restrict_to_plan(load_snmprec(path), PRINTER_PLAN))
            assert _normalised(result.varbinds) == expected, (version, path.stem)
            assert oid("1.3.6.1.2.1.1.99.0") not in result.varbinds


@pytest.mark.recordings
async def test_shared_table_walks_read_what_separate_walks_read(devices: SnmpSimulator) -> None:
    plan = _every_planned_table()
    async with SnmpClient() as client:
        targets = [_target(devices.port, path.stem) for path in RECORDINGS]
        targets += [_target(devices.port, path.stem, "1") for path in DEVICES.glob("printer/*.snmprec")]
        for target in targets:
            shared, separate = await shared_and_separate(client, target, plan)
            assert shared == separate, (target.version, target.community)


WRITABLE = """\
1.3.6.1.2.1.1.1.0|4|Writable test printer
1.3.6.1.2.1.25.3.5.1.2.1|4:writecache|hexvalue=00
1.3.6.1.2.1.43.11.1.1.9.1.1|2:writecache|value=80
"""


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "pysnmp"])
async def test_set_values_changes_a_writecache_line(data_dir: Path, fast_path: bool) -> None:
    _write(data_dir / "writable.snmprec", WRITABLE)
    level, errors = oid("1.3.6.1.2.1.43.11.1.1.9.1.1"), oid("1.3.6.1.2.1.25.3.5.1.2.1")
    plan = PollPlan(scalars=(level, errors))
    async with SnmpSimulator([data_dir], probe_community="writable") as sim:
        target = _target(sim.port, "writable")
        async with SnmpClient(fast_path=fast_path) as client:
            assert (await client.fetch(target, plan)).varbinds == {level: 80, errors: b"\x00"}
            await client.set_values(target, {level: 0, errors: b"\x04\x00"})
            assert (await client.fetch(target, plan)).varbinds == {level: 0, errors: b"\x04\x00"}


# sysDescr answers at once (the simulator's readiness probe asks for it); sysName takes 8 s.
SLOW = "1.3.6.1.2.1.1.1.0|4|slow printer\n1.3.6.1.2.1.1.5.0|4:delay|value=slow,wait=8000\n"


@pytest.mark.recordings
async def test_dead_and_slow_devices_do_not_delay_healthy_ones(
    devices: SnmpSimulator, data_dir: Path
) -> None:
    """Healthy devices' results all arrive while a hung agent and a stopped agent are still timing out."""
    _write(data_dir / "slow.snmprec", SLOW)
    plan = PollPlan(scalars=(oid("1.3.6.1.2.1.1.1.0"), oid("1.3.6.1.2.1.1.5.0")))
    healthy = [p.stem for p in sorted((DEVICES / "printer").glob("*.snmprec"))]
    async with SnmpSimulator([data_dir], probe_community="slow", start_timeout_s=30) as slow_sim:
        dead = await asyncio.to_thread(Snmpd(communities=["public"]).start)
        dead_port = dead.port
        await asyncio.to_thread(dead.stop)  # its port now answers with ICMP port unreachable
        slow_target = SnmpTarget("127.0.0.1", slow_sim.port, "2c", Secret("slow"), timeout_s=2.0, retries=0)
        dead_target = SnmpTarget("127.0.0.1", dead_port, "2c", Secret("public"), timeout_s=2.0, retries=0)
        async with SnmpClient() as client:
            order: list[str] = []

            async def poll(name: str, target: SnmpTarget) -> object:
                try:
                    return await client.fetch(target, plan)
                except Exception as err:
                    return err
                finally:
                    order.append(name)

            slow_task = asyncio.create_task(poll("slow", slow_target))
            dead_task = asyncio.create_task(poll("dead", dead_target))
            await asyncio.sleep(0)  # both requests are on the wire before the healthy ones start
            healthy_results = await asyncio.gather(*(poll(n, _target(devices.port, n)) for n in healthy))
            assert not slow_task.done() and not dead_task.done()
            assert set(order) == set(healthy)
            for name, result in zip(healthy, healthy_results, strict=True):
                expected = _normalised(
                    restrict_to_plan(load_snmprec(DEVICES / "printer" / f"{name}.snmprec"), plan)
                )
                assert _normalised(getattr(result, "varbinds", {})) == expected, name
            slow_error, dead_error = await slow_task, await dead_task
        # The stopped agent's port refuses: unreachable. The hung agent is silent on a live host, which
        # is what a wrong community looks like too (documented in agent/protocols/snmp/transport/silence.py).
        assert isinstance(dead_error, SnmpTimeout) and "port unreachable" in str(dead_error)
        assert isinstance(slow_error, SnmpAuthError) and "wrong community" in str(slow_error)
