"""The "Done when" of issue 15, on real parts: a test school in network namespaces (tests/support/netns),
its gateway running the real agent beside a real DHCP server (dnsmasq), a real resolver (dnsmasq) and an
HTTPS service beyond the router, an AirPlay receiver (avahi) in a classroom, the real collector at the
city. Four faults, one after the other:

1. the DHCP pool filled by iPads (a raw DHCP client) until ``dhcp_pool_full``; fixed: they give their
   addresses back;
2. the resolver stopped until ``dns_failing``; fixed: started again;
3. 20 % packet loss on the uplink until ``uplink_loss``; fixed: the loss is gone;
4. the room's AirPlay receiver killed (no goodbye) until ``airplay_receiver_gone`` for its room; fixed:
   it comes back.

Each gives exactly one ticket (no other opens meanwhile: the path's other symptoms are explained by
the root), which is resolved when fixed. The time from each fault to its ticket is printed (run with
``-s``) and kept in ``fault-to-ticket.json`` in the test's folder.

And the uplink cut altogether: one ``school_offline``, not a ticket for each of the path's checks that
the gateway recorded meanwhile and delivers when the school is back.
"""

from __future__ import annotations

import datetime
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.process import stop_process, wait_for
from tests.support import school_services as services
from tests.support.e2e import Collector, write_token_file
from tests.support.netns import INTERNET, ROUTER, SchoolNet, relay, school_net
from tests.support.paths import REPO
from tests.support.pki import Pki

pytestmark = pytest.mark.integration

SCHOOL = "bert-brecht-gymnasium"
RULES = Path(__file__).with_name("ipads-rules.yaml")
RECEIVER = "Apple TV Raum 101"
POOL = ("10.20.2.100", "10.20.2.109")  # ten addresses
FIRST_MAC = "02:00:00:00:0a:00"


@dataclass
class School:
    net: SchoolNet
    collector: Collector
    workdir: Path
    resolver: subprocess.Popen[bytes]
    receiver: services.Receiver
    times: dict[str, float]


def agent_config(workdir: Path, collector: Collector, pki: Pki, dhcp: services.DhcpServer) -> dict[str, Any]:
    token = workdir / "token"
    write_token_file(token, collector.token(SCHOOL))
    return {
        "school": SCHOOL,
        "agent_id": "gw-bbg",
        # The city's collector, reached over the school's uplink through the router.
        "collector": {"url": f"http://{ROUTER}:8750", "token_file": str(token), "retry_max_s": 2},
        "data_dir": str(workdir / "agent-state"),
        "metrics_listen": None,
        "heartbeat_s": 2,
        "network": {
            "interval_s": 2,
            "timeout_s": 1.5,
            "pings": 20,
            "targets": [{"name": "internet", "address": INTERNET}],
            "names": ["mdm.schule.test", "lernen.schule.test"],
            "services": [{"name": "MDM", "url": "https://mdm.schule.test/", "ca_file": str(pki.ca)}],
        },
        "dhcp": {"interval_s": 2, "dnsmasq_leases": str(dhcp.leases), "dnsmasq_config": [str(dhcp.config)]},
        "airplay": {"interval_s": 2, "timeout_s": 1, "receivers": [{"name": RECEIVER, "room": "Raum 101"}]},
    }


@pytest.fixture
def school(tmp_path: Path, pki: Pki) -> Iterator[School]:
    with school_net("cwdw") as net, services.resolv_conf(net):
        resolver = services.resolver(net, tmp_path)
        far = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=90)
        services.https_service(net, tmp_path, *pki.issue_server(tmp_path, "mdm.schule.test", far, stem="mdm"))
        dhcp = services.dnsmasq_dhcp(net, tmp_path, *POOL)
        receiver_dir = tmp_path / "receiver"
        receiver_dir.mkdir()
        receiver = services.Receiver(
            services.announcer(net, receiver_dir, RECEIVER), services.airplay_port(net, receiver_dir)
        )
        collector = Collector(tmp_path, {SCHOOL: "Bert-Brecht-Gymnasium"}, rules_file=RULES)
        # Heartbeats every 2 s (the agent's heartbeat_s below): a school cut off is offline after 6 s.
        settings = yaml.safe_load(collector.config.read_text())
        collector.config.write_text(yaml.safe_dump({**settings, "heartbeat_s": 2, "offline_after_missed": 3}))
        collector.start()
        config = tmp_path / "agent.yaml"
        config.write_text(yaml.safe_dump(agent_config(tmp_path, collector, pki, dhcp)))
        try:
            with relay(net.up, ROUTER, 8750, ("127.0.0.1", collector.port)):
                agent = net.start(
                    net.gw,
                    [
                        sys.executable,
                        "-m",
                        "campuswatch.agent",
                        "--log-format",
                        "json",
                        "run",
                        "--config",
                        str(config),
                    ],
                    tmp_path / "agent.log",
                    cwd=REPO,
                )
                yield School(net, collector, tmp_path, resolver, receiver, {})
                stop_process(agent, timeout_s=20)
        finally:
            collector.stop()


def tickets(school: School, **filters: str) -> list[dict[str, Any]]:
    return school.collector.tickets(school=SCHOOL, **filters)


def one_ticket(school: School, code: str, fault_at: float, timeout_s: float = 120) -> dict[str, Any]:
    """Wait for the fault's ticket; it must be the only open one, and the time from fault to ticket is
    noted."""
    found = wait_for(
        lambda: [t for t in tickets(school, state="open") if t["problem_code"] == code],
        timeout_s,
        f"a {code} ticket",
    )
    (ticket,) = found
    school.times[code] = ticket["opened_at"] - fault_at
    print(f"{code}: ticket {ticket['opened_at'] - fault_at:.1f} s after the fault: {ticket['title']}")
    return ticket


def resolved(school: School, ticket: dict[str, Any], timeout_s: float = 120) -> None:
    wait_for(
        lambda: any(t["id"] == ticket["id"] for t in tickets(school, state="resolved")),
        timeout_s,
        f"ticket {ticket['id']} ({ticket['problem_code']}) resolved",
    )


def quiet(school: School, seconds: float) -> None:
    """No ticket opens for ``seconds`` (the school at rest, or a fault's other symptoms explained)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert tickets(school, state="open") == [], tickets(school, state="open")
        time.sleep(1)


def devices(school: School) -> set[str]:
    return {d["device"] for d in school.collector.items(f"/api/v1/devices?school={SCHOOL}")}


def checked(school: School) -> None:
    """The agent's checks have reached the collector, and the school is at rest."""
    checks = {"uplink", "dhcp", "airplay-apple-tv-raum-101"}
    wait_for(lambda: checks <= devices(school), 60, "the agent's checks at the collector")
    quiet(school, 10)


def test_four_faults_of_a_school_network_each_one_ticket_resolved_when_fixed(school: School) -> None:
    checked(school)

    # 1. iPads fill the pool: 9 of 10 addresses (90 %) is full enough for a ticket.
    leased = services.fill_pool(school.net, 9, FIRST_MAC)
    assert all(leased), leased
    fault = time.time()
    ticket = one_ticket(school, "dhcp_pool_full", fault)
    assert "10.20.2.100-10.20.2.109" in ticket["title"]
    services.release_pool(school.net, FIRST_MAC, [a for a in leased if a])
    resolved(school, ticket)

    # 2. The resolver stops: every name fails; the MDM, asked by name, fails with it (one ticket).
    SchoolNet.kill(school.resolver)
    fault = time.time()
    ticket = one_ticket(school, "dns_failing", fault)
    restarted = school.workdir / "resolver-2"
    restarted.mkdir()
    school.resolver = services.resolver(school.net, restarted)
    resolved(school, ticket)
    quiet(school, 5)

    # 3. A fifth of the school's packets to the city are lost on the uplink.
    school.net.loss(20)
    fault = time.time()
    ticket = one_ticket(school, "uplink_loss", fault)
    assert "upstream" in ticket["title"] or "internet" in ticket["title"]
    school.net.loss(None)
    resolved(school, ticket)

    # 4. The receiver in Raum 101 loses its power: no goodbye, its records stay in caches.
    SchoolNet.kill(school.receiver.announcer, signal.SIGKILL)
    SchoolNet.kill(school.receiver.port, signal.SIGKILL)
    fault = time.time()
    ticket = one_ticket(school, "airplay_receiver_gone", fault)
    assert "Raum 101" in ticket["title"]
    back = school.workdir / "receiver-2"
    back.mkdir()
    school.receiver = services.Receiver(
        services.announcer(school.net, back, RECEIVER), services.airplay_port(school.net, back)
    )
    resolved(school, ticket)

    # Exactly the four tickets, each once, all resolved.
    assert sorted(t["problem_code"] for t in tickets(school)) == [
        "airplay_receiver_gone",
        "dhcp_pool_full",
        "dns_failing",
        "uplink_loss",
    ]
    assert tickets(school, state="open") == []
    (school.workdir / "fault-to-ticket.json").write_text(json.dumps(school.times, indent=2))


def test_a_school_cut_off_from_the_city_is_one_school_offline_ticket(school: School) -> None:
    checked(school)
    school.net.loss(100)
    fault = time.time()
    ticket = one_ticket(school, "school_offline", fault)
    # Offline for longer than uplink_loss must last: still the one ticket.
    time.sleep(20)
    assert [t["problem_code"] for t in tickets(school, state="open")] == ["school_offline"]
    school.net.loss(None)
    resolved(school, ticket)
    # The backlog (100 % loss, every name and service failing) arrives and is the outage's: no ticket.
    quiet(school, 20)
    assert [t["problem_code"] for t in tickets(school)] == ["school_offline"]
