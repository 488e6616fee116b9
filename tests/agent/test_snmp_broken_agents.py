"""The fast path against agents that misbehave in ways real snmpd/snmpsim never do: garbage replies,
walks that loop or never end, broken GETBULK, error statuses. Each agent is a UDP responder on loopback
(``sim.hostile.SnmpResponder``, built from the BER codec), answering what a broken device would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from campuswatch.agent.protocols.snmp.transport import ber, ops
from campuswatch.agent.protocols.snmp.transport.client import SnmpClient
from campuswatch.agent.protocols.snmp.transport.types import (
    Oid,
    PollPlan,
    SnmpAuthError,
    SnmpReplyError,
    SnmpTarget,
    TableSpec,
    Varbinds,
)
from campuswatch.config import Secret
from sim.hostile import SnmpHandler, SnmpResponder, serve_mib, snmp_reply, start_snmp

Handler = SnmpHandler
TABLE = (1, 3, 6, 1, 2, 1, 2, 2, 1)
MIB: dict[Oid, ber.ReplyValue] = {
    (1, 3, 6, 1, 2, 1, 1, 5, 0): b"fake",
    **{(*TABLE, 2, i): f"port{i}".encode() for i in range(1, 8)},
    **{(*TABLE, 8, i): 1 for i in range(1, 8)},
    (1, 3, 6, 1, 2, 1, 4, 1, 0): 2,
}


def reply(request: ber.Message, varbinds: list[tuple[Oid, object]], status: int = 0, index: int = 0) -> bytes:
    """A Response to ``request``: plain values, or a Missing exception value, with an error status."""
    return snmp_reply(request, varbinds, status, index)


def proper(request: ber.Message, mib: dict[Oid, ber.ReplyValue] = MIB) -> bytes:
    """What a correct v2c agent serving ``mib`` answers."""
    return serve_mib(request, mib)


#: Starts a fake agent with a handler; its agent object and a target that reaches it.
Serve = Callable[[Handler], Awaitable[tuple[SnmpResponder, SnmpTarget]]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    agents: list[SnmpResponder] = []

    async def start(handler: Handler) -> tuple[SnmpResponder, SnmpTarget]:
        agent, port = await start_snmp(handler)
        agents.append(agent)
        return agent, SnmpTarget("127.0.0.1", port, "2c", Secret("fake"), timeout_s=0.5, retries=0)

    yield start
    for agent in agents:
        if agent.transport is not None:
            agent.transport.close()


@pytest.fixture
async def client() -> AsyncIterator[SnmpClient]:
    async with SnmpClient() as c:
        yield c


WALK_PLAN = PollPlan(tables=(TableSpec("ifTable", TABLE, (2, 8), max_repetitions=3),))


async def test_garbage_reply_is_a_reply_error(serve: Serve, client: SnmpClient) -> None:
    _, target = await serve(lambda request: b"\x30\x03\x02\x01")
    with pytest.raises(SnmpReplyError, match="malformed"):
        await client.fetch(target, PollPlan(scalars=((1, 3, 6, 1, 2, 1, 1, 5, 0),)))


async def test_truncated_reply_is_a_reply_error(serve: Serve, client: SnmpClient) -> None:
    _, target = await serve(lambda request: proper(request)[:-4])
    with pytest.raises(SnmpReplyError, match="malformed"):
        await client.fetch(target, PollPlan(scalars=((1, 3, 6, 1, 2, 1, 1, 5, 0),)))


async def test_a_correct_fake_agent_is_walked_completely(serve: Serve, client: SnmpClient) -> None:
    agent, target = await serve(proper)
    result = await client.fetch(target, WALK_PLAN)
    assert result.failed_tables == {}
    assert result.varbinds == {k: v for k, v in MIB.items() if k[: len(TABLE)] == TABLE}
    assert agent.count(ber.GETNEXT) == 0


async def test_looping_agent_stops_with_a_failed_table(serve: Serve, client: SnmpClient) -> None:
    # Whatever it is asked, it answers the same row: a naive walker would loop forever.
    stuck = (*TABLE, 2, 3)
    agent, target = await serve(lambda request: reply(request, [(stuck, b"again")] * len(request.varbinds)))
    result = await client.fetch(target, WALK_PLAN)
    assert "non-increasing" in result.failed_tables["ifTable"]
    assert result.varbinds == {stuck: b"again"}
    assert len(agent.requests) <= 3


async def test_endless_table_stops_at_the_row_cap(
    serve: Serve, client: SnmpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ops, "MAX_ROWS_PER_COLUMN", 40)

    def endless(request: ber.Message) -> bytes:
        return reply(request, [((*name, 1), 1) for name, _ in request.varbinds])

    agent, target = await serve(endless)
    plan = PollPlan(tables=(TableSpec("deep", TABLE, (), max_repetitions=1),))
    result = await client.fetch(target, plan)
    assert "after 40 rows" in result.failed_tables["deep"]
    assert len(result.varbinds) == 40
    assert len(agent.requests) == 41


async def test_broken_getbulk_falls_back_to_getnext_and_is_remembered(
    serve: Serve, client: SnmpClient
) -> None:
    gen_err = 5

    def no_bulk(request: ber.Message) -> bytes:
        if request.pdu_tag == ber.GETBULK:
            return reply(request, [(n, None) for n, _ in request.varbinds], status=gen_err, index=1)
        return proper(request)

    agent, target = await serve(no_bulk)
    expected = {k: v for k, v in MIB.items() if k[: len(TABLE)] == TABLE}
    first = await client.fetch(target, WALK_PLAN)
    assert first.varbinds == expected and first.failed_tables == {}
    bulk_before = agent.count(ber.GETBULK)
    second = await client.fetch(target, WALK_PLAN)
    assert second.varbinds == expected
    assert bulk_before == 1 and agent.count(ber.GETBULK) == 1


async def test_error_status_on_get_names_status_and_oid(serve: Serve, client: SnmpClient) -> None:
    _, target = await serve(lambda request: reply(request, [(n, None) for n, _ in request.varbinds], 5, 1))
    with pytest.raises(SnmpReplyError, match=r"genErr at 1\.3\.6\.1\.2\.1\.1\.5\.0"):
        await client.fetch(target, PollPlan(scalars=((1, 3, 6, 1, 2, 1, 1, 5, 0),)))


async def test_authorization_error_is_an_auth_error(serve: Serve, client: SnmpClient) -> None:
    _, target = await serve(lambda request: reply(request, [(n, None) for n, _ in request.varbinds], 16, 1))
    with pytest.raises(SnmpAuthError, match="authorizationError"):
        await client.fetch(target, PollPlan(scalars=((1, 3, 6, 1, 2, 1, 1, 5, 0),)))


async def test_table_failure_keeps_scalars_and_other_tables(serve: Serve, client: SnmpClient) -> None:
    def ip_table_broken(request: ber.Message) -> bytes:
        # genErr for any request touching the ip table (it may share a request with ifTable)
        if any(name[:7] == (1, 3, 6, 1, 2, 1, 4) for name, _ in request.varbinds):
            return reply(request, [(n, None) for n, _ in request.varbinds], status=5, index=1)
        return proper(request)

    _, target = await serve(ip_table_broken)
    plan = PollPlan(
        scalars=((1, 3, 6, 1, 2, 1, 1, 5, 0),),
        tables=(WALK_PLAN.tables[0], TableSpec("ip", (1, 3, 6, 1, 2, 1, 4), (), 5)),
    )
    result = await client.fetch(target, plan)
    assert result.varbinds[(1, 3, 6, 1, 2, 1, 1, 5, 0)] == b"fake"
    assert (*TABLE, 2, 7) in result.varbinds
    assert list(result.failed_tables) == ["ip"] and "genErr" in result.failed_tables["ip"]


async def test_agent_ignoring_getbulk_is_walked_with_getnext(serve: Serve, client: SnmpClient) -> None:
    agent, target = await serve(lambda request: None if request.pdu_tag == ber.GETBULK else proper(request))
    plan = PollPlan(scalars=((1, 3, 6, 1, 2, 1, 1, 5, 0),), tables=WALK_PLAN.tables)
    expected = {k: v for k, v in MIB.items() if k[: len(TABLE)] == TABLE or k == (1, 3, 6, 1, 2, 1, 1, 5, 0)}
    for _ in range(3):
        result = await client.fetch(target, plan)
        assert result.varbinds == expected and result.failed_tables == {}
    # Silence twice in a row is the agent's way (once could be a lost datagram): remembered after that.
    assert agent.count(ber.GETBULK) == 2


async def test_one_lost_getbulk_does_not_cost_the_agent_getbulk_for_good(
    serve: Serve, client: SnmpClient
) -> None:
    """A busy agent or a lost datagram: GETNEXT for that walk, GETBULK again at the next poll."""
    lost: list[int] = []

    def drops_the_first_getbulk(request: ber.Message) -> bytes | None:
        if request.pdu_tag == ber.GETBULK and not lost:
            lost.append(request.request_id)
            return None
        return proper(request)

    agent, target = await serve(drops_the_first_getbulk)
    plan = PollPlan(scalars=((1, 3, 6, 1, 2, 1, 1, 5, 0),), tables=WALK_PLAN.tables)
    first = await client.fetch(target, plan)
    getnext, getbulk = agent.count(ber.GETNEXT), agent.count(ber.GETBULK)
    second = await client.fetch(target, plan)
    assert first.varbinds == second.varbinds and second.failed_tables == {}
    assert lost and getnext > 0 and getbulk == 1  # the first walk: one lost GETBULK, then GETNEXT
    assert agent.count(ber.GETNEXT) == getnext and agent.count(ber.GETBULK) > getbulk  # the second: GETBULK


async def test_get_reply_with_oids_never_asked_for_is_not_trusted(serve: Serve, client: SnmpClient) -> None:
    asked = (1, 3, 6, 1, 2, 1, 1, 5, 0)
    _, target = await serve(lambda request: reply(request, [((1, 3, 6, 1, 2, 1, 1, 6, 0), b"elsewhere")]))
    result = await client.fetch(target, PollPlan(scalars=(asked,)))
    assert result.varbinds == {}


#: Two tables small enough to share requests (ops.batches): ifTable's two columns and the ip subtree.
SHARED_PLAN = PollPlan(
    scalars=((1, 3, 6, 1, 2, 1, 1, 5, 0),),
    tables=(WALK_PLAN.tables[0], TableSpec("ip", (1, 3, 6, 1, 2, 1, 4), (), 3)),
)


def _shared(request: ber.Message) -> bool:
    """Whether a walk request asks for columns of both tables of SHARED_PLAN."""
    return request.pdu_tag != ber.GET and len({name[:7] for name, _ in request.varbinds}) > 1


async def test_small_tables_share_requests_and_read_what_separate_walks_read(
    serve: Serve, client: SnmpClient
) -> None:
    agent, target = await serve(proper)
    shared = await client.fetch(target, SHARED_PLAN)
    assert sum(1 for r in agent.requests if _shared(r)) == 1
    separate: dict[Oid, object] = {}
    for table in SHARED_PLAN.tables:
        separate |= (await client.fetch(target, PollPlan(SHARED_PLAN.scalars, (table,)))).varbinds
    assert shared.varbinds == separate == MIB and shared.failed_tables == {}


@pytest.mark.parametrize("refusal", ["tooBig", "silence"])
async def test_agent_failing_shared_requests_has_its_tables_walked_one_by_one(
    serve: Serve, client: SnmpClient, refusal: str
) -> None:
    def no_sharing(request: ber.Message) -> bytes | None:
        if not _shared(request):
            return proper(request)
        if refusal == "silence":
            return None  # as an agent whose buffer cannot hold the reply
        return reply(request, [(n, None) for n, _ in request.varbinds], status=ops.TOO_BIG, index=0)

    agent, target = await serve(no_sharing)
    for _ in range(3):
        result = await client.fetch(target, SHARED_PLAN)
        assert result.varbinds == MIB and result.failed_tables == {}
    # tooBig is the agent's answer: remembered at once; silence the second time in a row (once could be
    # a lost datagram).
    refused = sum(1 for r in agent.requests if _shared(r))
    assert refused == (1 if refusal == "tooBig" else 2), "remembered"
    assert agent.count(ber.GETBULK) == len(agent.requests) - 3, "GETBULK still used for single tables"


async def test_getbulk_is_sized_to_the_rows_last_seen_and_a_grown_table_is_still_read_whole(
    serve: Serve, client: SnmpClient
) -> None:
    mib = dict(MIB)
    agent, target = await serve(lambda request: proper(request, mib))
    plan = PollPlan(tables=(TableSpec("ifTable", TABLE, (2, 8), max_repetitions=20),))

    async def fetch_asking() -> tuple[Varbinds, list[int]]:
        before = len(agent.requests)
        result = await client.fetch(target, plan)
        assert result.failed_tables == {}
        return result.varbinds, [r.error_index for r in agent.requests[before:]]  # max-repetitions

    table = {k: v for k, v in mib.items() if k[: len(TABLE)] == TABLE}
    assert await fetch_asking() == (table, [20]), "the plan's size, before anything was seen"
    assert await fetch_asking() == (table, [8]), "7 rows, and one more to see the end"
    mib |= {(*TABLE, col, i): 1 for col in (2, 8) for i in range(8, 13)}
    table = {k: v for k, v in mib.items() if k[: len(TABLE)] == TABLE}
    assert await fetch_asking() == (table, [8, 8]), "a grown table takes another request"
    assert await fetch_asking() == (table, [13])


async def test_a_table_that_hangs_the_agent_holds_up_no_other_table(serve: Serve, client: SnmpClient) -> None:
    ip = (1, 3, 6, 1, 2, 1, 4)

    def hangs_on_ip(request: ber.Message) -> bytes | None:
        return None if any(name[:7] == ip for name, _ in request.varbinds) else proper(request)

    _, target = await serve(hangs_on_ip)
    # ip (2 rows planned) is walked before ifTable (40: too big to share a request with it)
    plan = PollPlan(
        scalars=((1, 3, 6, 1, 2, 1, 1, 5, 0),),
        tables=(TableSpec("ifTable", TABLE, (2, 8), max_repetitions=40), TableSpec("ip", ip, (), 2)),
    )
    assert [len(group) for group in ops.batches(plan.tables)] == [1, 1]
    for _ in range(2):
        result = await client.fetch(target, plan)
        assert result.failed_tables == {"ip": "no SNMP answer"}
        assert result.varbinds == {k: v for k, v in MIB.items() if k[:7] != ip}


def test_getbulk_is_fitted_to_the_rows_seen_but_never_asks_more_than_the_plan() -> None:
    table = TableSpec("ifTable", TABLE, (2, 8), max_repetitions=20)
    assert ops.fitted(table, 7).max_repetitions == 8, "one more row than seen, to see the end"
    assert ops.fitted(table, 0).max_repetitions == 1
    assert ops.fitted(table, 50) is table, "a table grown past the plan keeps the plan's size"
