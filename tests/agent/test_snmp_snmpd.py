"""SnmpClient against net-snmp's snmpd (started by tests/snmpd.py on loopback): SNMPv3 USM, v1, and how
failures are classified, with no community or key ever showing in an exception or a log record."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator

import pytest
from pysnmp.smi.builder import MibBuilder

from campuswatch.agent.protocols.snmp.decode import SYSTEM_PLAN, Classification, plan_for
from campuswatch.agent.protocols.snmp.transport import pysnmp_backend
from campuswatch.agent.protocols.snmp.transport.client import SnmpClient
from campuswatch.agent.protocols.snmp.transport.silence import WRONG_COMMUNITY
from campuswatch.agent.protocols.snmp.transport.types import (
    PollPlan,
    SnmpAuthError,
    SnmpError,
    SnmpTarget,
    SnmpTimeout,
    TableSpec,
    V3User,
    oid,
)
from campuswatch.config import Secret
from sim.snmpd import Snmpd
from sim.snmpsim import free_udp_port
from tests.agent.test_snmp_snmpsim import shared_and_separate

pytestmark = pytest.mark.integration

COMMUNITY = "c0mmunity-Zq8"
# Every secret of this module: none may appear in an exception or a log record.
SECRETS = [
    COMMUNITY,
    "wr0ng-community-Xy",
    "auth-pass-256-Kp",
    "priv-pass-128-Mn",
    "auth-sha1-Vb",
    "priv-aes256-Lw",
]
SECRETS += [
    "auth-md5-Tq",
    "priv-des-Rr",
    "auth-512-Hh",
    "priv-192-Gg",
    "bad-auth-pass-Jj",
    "bad-priv-pass-Ff",
]

USERS = {
    "sha256-aes128": V3User(
        "u256", "sha256", Secret("auth-pass-256-Kp"), "aes128", Secret("priv-pass-128-Mn")
    ),
    "sha-aes256": V3User("usha", "sha", Secret("auth-sha1-Vb"), "aes256", Secret("priv-aes256-Lw")),
    "md5-des": V3User("umd5", "md5", Secret("auth-md5-Tq"), "des", Secret("priv-des-Rr")),
    "sha512-aes192": V3User("u512", "sha512", Secret("auth-512-Hh"), "aes192", Secret("priv-192-Gg")),
    "sha224-authnopriv": V3User("u224", "sha224", Secret("auth-pass-256-Kp"), "none", None),
}
SYSTEM = PollPlan(
    scalars=(oid("1.3.6.1.2.1.1.1.0"), oid("1.3.6.1.2.1.1.2.0"), oid("1.3.6.1.2.1.1.5.0")),
    tables=(TableSpec("ifTable", oid("1.3.6.1.2.1.2.2.1"), (1, 2, 3, 8), max_repetitions=5),),
)


WRITER = V3User("writer", "sha384", Secret("auth-pass-256-Kp"), "aes128", Secret("priv-pass-128-Mn"))


@pytest.fixture(scope="module")
def snmpd() -> Iterator[Snmpd]:
    with Snmpd(communities=[COMMUNITY], v3_users=list(USERS.values()), v3_writers=[WRITER]) as agent:
        yield agent


def _v2c(agent: Snmpd, community: str = COMMUNITY, version: str = "2c") -> SnmpTarget:
    return SnmpTarget(agent.host, agent.port, version, Secret(community), timeout_s=1.0, retries=1)  # type: ignore[arg-type]


def _v3(agent: Snmpd, user: V3User) -> SnmpTarget:
    return SnmpTarget(agent.host, agent.port, "3", v3=user, timeout_s=2.0, retries=1)


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"secret leaked into {text!r}"


def _assert_no_secret_in(error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    _assert_no_secret(*(str(e) for e in chain), *(repr(e) for e in chain), *(repr(e.args) for e in chain))
    for record in caplog.records:
        _assert_no_secret(record.getMessage(), repr(record.__dict__))


@pytest.mark.parametrize("name", list(USERS))
async def test_v3_returns_what_v2c_returns(snmpd: Snmpd, name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with SnmpClient() as client:
        over_v3 = await client.fetch(_v3(snmpd, USERS[name]), SYSTEM)
        over_v2c = await client.fetch(_v2c(snmpd), SYSTEM)
    assert over_v3.failed_tables == {}
    assert over_v3.varbinds[oid("1.3.6.1.2.1.1.2.0")] == oid("1.3.6.1.4.1.8072.3.2.10")  # net-snmp on Linux
    assert over_v3.varbinds[oid("1.3.6.1.2.1.2.2.1.2.1")] == b"lo"
    assert over_v3.varbinds == over_v2c.varbinds
    for record in caplog.records:
        _assert_no_secret(record.getMessage(), repr(record.__dict__))


@pytest.mark.parametrize(
    ("user", "reason"),
    [
        (
            V3User("u256", "sha256", Secret("bad-auth-pass-Jj"), "aes128", Secret("priv-pass-128-Mn")),
            "WrongDigest",
        ),
        (
            V3User("u256", "sha256", Secret("auth-pass-256-Kp"), "aes128", Secret("bad-priv-pass-Ff")),
            "privacy password",
        ),
        (
            V3User("nobody-here", "sha", Secret("auth-sha1-Vb"), "aes128", Secret("priv-pass-128-Mn")),
            "UnknownUser",
        ),
    ],
    ids=["wrong-auth-password", "wrong-priv-password", "unknown-user"],
)
async def test_v3_refusals_are_auth_errors_without_secrets(
    snmpd: Snmpd, user: V3User, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with SnmpClient() as client:
        with pytest.raises(SnmpAuthError, match=reason) as caught:
            await client.fetch(_v3(snmpd, user), SYSTEM)
    assert caught.value.status == "auth_failed"
    _assert_no_secret_in(caught.value, caplog)


async def test_wrong_community_is_auth_failed_without_secrets(
    snmpd: Snmpd, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with SnmpClient() as client:
        with pytest.raises(SnmpAuthError) as caught:
            await client.fetch(_v2c(snmpd, "wr0ng-community-Xy"), SYSTEM)
    assert str(caught.value).startswith(WRONG_COMMUNITY)
    assert caught.value.status == "auth_failed"
    assert any("silent" in r.getMessage() for r in caplog.records)
    _assert_no_secret_in(caught.value, caplog)


async def test_stopped_agent_is_unreachable(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    agent = await asyncio.to_thread(Snmpd(communities=[COMMUNITY]).start)
    target = _v2c(agent)
    async with SnmpClient() as client:
        assert (await client.fetch(target, SYSTEM)).varbinds
        await asyncio.to_thread(agent.stop)
        with pytest.raises(SnmpTimeout, match="port unreachable") as caught:
            await client.fetch(target, SYSTEM)
    assert caught.value.status == "unreachable"
    _assert_no_secret_in(caught.value, caplog)


async def test_agent_silent_after_answering_is_unreachable_not_a_credential_problem(snmpd: Snmpd) -> None:
    """A hung agent (port open, no answers) that took these credentials before: not a wrong community."""
    agent = await asyncio.to_thread(Snmpd(communities=[COMMUNITY]).start)
    try:
        async with SnmpClient() as client:
            await client.fetch(_v2c(agent), SYSTEM)
            agent._proc.send_signal(19)  # type: ignore[union-attr]  # SIGSTOP: port open, no answers
            # Same credentials that worked a moment ago: a hung agent, not a wrong community.
            with pytest.raises(SnmpTimeout, match="answered these credentials before"):
                await client.fetch(_v2c(agent), SYSTEM)
            agent._proc.send_signal(18)  # type: ignore[union-attr]  # SIGCONT
    finally:
        await asyncio.to_thread(agent.stop)


async def test_v1_walks_with_getnext_and_matches_v2c(snmpd: Snmpd) -> None:
    plan = PollPlan(scalars=(*SYSTEM.scalars, oid("1.3.6.1.2.1.1.99.0")), tables=SYSTEM.tables)
    async with SnmpClient() as client:
        v1 = await client.fetch(_v2c(snmpd, version="1"), plan)
        v2c = await client.fetch(_v2c(snmpd), plan)
    assert v1.failed_tables == {} and v1.varbinds == v2c.varbinds
    assert oid("1.3.6.1.2.1.1.99.0") not in v1.varbinds  # v1's noSuchName drops just that OID
    assert v1.varbinds[oid("1.3.6.1.2.1.2.2.1.2.1")] == b"lo"


async def test_pysnmp_engine_loads_mibs_off_the_event_loop(
    snmpd: Snmpd, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every MIB module pysnmp reads from disk is read outside the loop's thread (pysnmp serves IPv6
    targets, and everything when the fast path is off)."""
    loaded_in: list[int] = []
    original = MibBuilder.load_module

    def recording(self: MibBuilder, name: str, **ctx: object) -> object:
        loaded_in.append(threading.get_ident())
        return original(self, name, **ctx)

    monkeypatch.setattr(MibBuilder, "load_module", recording)
    loop_thread = threading.get_ident()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    beat = asyncio.create_task(ticker())
    async with SnmpClient(fast_path=False) as client:
        result = await client.fetch(_v3(snmpd, USERS["sha256-aes128"]), SYSTEM)
        beat.cancel()
    assert result.varbinds
    assert loaded_in, "the engine build loaded no MIB module: the check would prove nothing"
    assert loop_thread not in loaded_in
    assert ticks > 1  # the loop kept running other tasks while the engine was built


async def test_host_names_are_resolved_and_replies_still_matched(snmpd: Snmpd) -> None:
    by_name = SnmpTarget("localhost", snmpd.port, "2c", Secret(COMMUNITY), timeout_s=1.0, retries=1)
    async with SnmpClient() as client:
        assert (await client.fetch(by_name, SYSTEM)).varbinds == (
            await client.fetch(_v2c(snmpd), SYSTEM)
        ).varbinds


async def test_dead_devices_cannot_starve_healthy_ones_of_in_flight_slots(snmpd: Snmpd) -> None:
    """With 2 slots and 3 dead devices retrying, healthy polls still finish before the dead ones fail."""
    dead = await asyncio.to_thread(Snmpd(communities=[COMMUNITY]).start)
    dead_port = dead.port
    await asyncio.to_thread(dead.stop)
    done: list[str] = []

    async def poll(name: str, target: SnmpTarget) -> None:
        with contextlib.suppress(SnmpTimeout):  # the dead ones: only their order counts
            await client.fetch(target, SYSTEM)
        done.append(name)

    async with SnmpClient(max_in_flight=2) as client:
        dead_target = SnmpTarget("127.0.0.1", dead_port, "2c", Secret(COMMUNITY), timeout_s=1.0, retries=3)
        dead_polls = [asyncio.create_task(poll("dead", dead_target)) for _ in range(3)]
        await asyncio.sleep(0)
        await asyncio.gather(*(poll("healthy", _v2c(snmpd)) for _ in range(4)))
        assert not any(task.done() for task in dead_polls)
        await asyncio.gather(*dead_polls)
    assert done == ["healthy"] * 4 + ["dead"] * 3


async def test_sweeps_can_skip_classifying_silence(snmpd: Snmpd, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with SnmpClient() as client:
        with pytest.raises(SnmpTimeout, match="no SNMP answer") as caught:
            await client.fetch(_v2c(snmpd, "wr0ng-community-Xy"), SYSTEM, classify_silence=False)
    assert not isinstance(caught.value, SnmpAuthError)
    assert not any("silent" in r.getMessage() for r in caplog.records)  # no probe was sent


async def test_v3_set_changes_the_value_an_agent_serves(snmpd: Snmpd) -> None:
    sys_location = oid("1.3.6.1.2.1.1.6.0")
    target = _v3(snmpd, WRITER)
    async with SnmpClient() as client:
        await client.set_values(target, {sys_location: b"Room 101, rack 2"})
        fetched = await client.fetch(target, PollPlan(scalars=(sys_location,)))
        with pytest.raises(SnmpError):  # read-only users may not
            await client.set_values(_v3(snmpd, USERS["sha256-aes128"]), {sys_location: b"no"})
    assert fetched.varbinds == {sys_location: b"Room 101, rack 2"}


async def test_ipv6_targets_are_polled(snmpd: Snmpd) -> None:
    async with Snmpd(
        communities=[COMMUNITY], endpoints=[("127.0.0.1", free_udp_port()), ("::1", free_udp_port())]
    ) as agent:
        over_v6 = SnmpTarget("::1", agent.endpoints[1][1], "2c", Secret(COMMUNITY), timeout_s=1.0, retries=1)
        async with SnmpClient() as client:
            result = await client.fetch(over_v6, SYSTEM)
            assert result.varbinds == (await client.fetch(_v2c(agent), SYSTEM)).varbinds
    assert result.varbinds[oid("1.3.6.1.2.1.2.2.1.2.1")] == b"lo"


@pytest.mark.parametrize("version", ["2c", "1"])
async def test_printer_plan_shares_requests_and_reads_what_separate_walks_read(
    snmpd: Snmpd, version: str
) -> None:
    plan = await asyncio.to_thread(lambda: SYSTEM_PLAN.merged(plan_for(Classification("printer"))))
    async with SnmpClient() as client:
        shared, separate = await shared_and_separate(client, _v2c(snmpd, version=version), plan)
    assert shared.failed_tables == separate.failed_tables == {}
    assert shared.varbinds.keys() == separate.varbinds.keys()
    assert oid("1.3.6.1.2.1.2.2.1.2.1") in shared.varbinds  # ifDescr of lo: the walks read something
    # counters and uptimes move between the fetches; names, types and states do not
    texts = {k: v for k, v in shared.varbinds.items() if isinstance(v, bytes | tuple)}
    assert texts == {k: separate.varbinds[k] for k in texts}


def _refuse_pysnmp(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the client builds a pysnmp engine: what it reads must come over the fast path."""

    def refuse() -> None:
        raise AssertionError("the pysnmp engine was built")

    monkeypatch.setattr(pysnmp_backend, "build_backend", refuse)


@pytest.mark.parametrize("name", list(USERS))
async def test_v3_over_the_fast_path_reads_what_pysnmp_reads(snmpd: Snmpd, name: str) -> None:
    async with SnmpClient(fast_path=False) as reference:
        theirs = await reference.fetch(_v3(snmpd, USERS[name]), SYSTEM)
    with pytest.MonkeyPatch.context() as patch:
        _refuse_pysnmp(patch)
        async with SnmpClient() as client:
            ours = await client.fetch(_v3(snmpd, USERS[name]), SYSTEM)
    assert ours.failed_tables == theirs.failed_tables == {}
    assert ours.varbinds == theirs.varbinds
    assert ours.varbinds[oid("1.3.6.1.2.1.2.2.1.2.1")] == b"lo"


async def test_v3_set_and_refusals_need_no_pysnmp(snmpd: Snmpd, monkeypatch: pytest.MonkeyPatch) -> None:
    _refuse_pysnmp(monkeypatch)
    sys_contact = oid("1.3.6.1.2.1.1.4.0")
    unknown = V3User("nobody-here", "sha", Secret("auth-sha1-Vb"), "aes128", Secret("priv-pass-128-Mn"))
    async with SnmpClient() as client:
        await client.set_values(_v3(snmpd, WRITER), {sys_contact: b"Hausmeister, Raum 004"})
        fetched = await client.fetch(_v3(snmpd, USERS["md5-des"]), PollPlan(scalars=(sys_contact,)))
        with pytest.raises(SnmpAuthError, match="usmStatsUnknownUserNames"):
            await client.fetch(_v3(snmpd, unknown), SYSTEM)
    assert fetched.varbinds == {sys_contact: b"Hausmeister, Raum 004"}


async def test_v3_agent_that_rebooted_is_resynchronised_from_its_report(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After a reboot the agent counts snmpEngineBoots one higher and refuses our clock with an
    authenticated notInTimeWindow report; the client takes the agent's clock from it and asks again."""
    caplog.set_level(logging.DEBUG)
    user = USERS["sha512-aes192"]
    agent = await asyncio.to_thread(Snmpd(communities=[COMMUNITY], v3_users=[user]).start)
    try:
        target = _v3(agent, user)
        async with SnmpClient() as client:
            before = await client.fetch(target, SYSTEM)
            await asyncio.to_thread(agent.restart)
            caplog.clear()
            after = await client.fetch(target, SYSTEM)
    finally:
        await asyncio.to_thread(agent.stop)
    assert after.varbinds == before.varbinds and after.failed_tables == {}
    messages = [r.getMessage() for r in caplog.records]
    assert any("resynchronised" in m for m in messages)
    assert not any("discovered" in m for m in messages)  # same engine: no new discovery
    for record in caplog.records:
        _assert_no_secret(record.getMessage(), repr(record.__dict__))


async def test_v3_device_replaced_at_the_same_address_is_discovered_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A new device (a new engine ID) answers our old engine ID with usmStatsUnknownEngineIDs."""
    caplog.set_level(logging.DEBUG)
    user = USERS["sha256-aes128"]
    old = await asyncio.to_thread(Snmpd(communities=[COMMUNITY], v3_users=[user]).start)
    new = Snmpd(communities=[COMMUNITY], v3_users=[user], endpoints=old.endpoints)
    try:
        async with SnmpClient() as client:
            before = await client.fetch(_v3(old, user), SYSTEM)
            await asyncio.to_thread(old.stop)
            await asyncio.to_thread(new.start)
            after = await client.fetch(_v3(new, user), SYSTEM)
    finally:
        await asyncio.to_thread(old.stop)
        await asyncio.to_thread(new.stop)
    assert after.varbinds == before.varbinds
    engines = [
        r.__dict__["engine_id"] for r in caplog.records if r.getMessage() == "SNMPv3 engine discovered"
    ]
    assert len(engines) == 2 and engines[0] != engines[1]
    assert any("changed" in r.getMessage() for r in caplog.records)
