"""The network checks against real servers in a test school of network namespaces (tests.support.netns):
``campuswatch-agent check`` runs on the gateway as it would at a school, and reads dnsmasq's and Kea's
pools as clients fill them, resolves through a real resolver that is then stopped, measures the loss
``tc netem`` puts on the uplink, and finds AirPlay receivers that avahi announces, and misses them when
they go (withdrawn, or killed without a goodbye)."""

from __future__ import annotations

import datetime
import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import school_services as services
from tests.support.e2e import write_token_file
from tests.support.netns import INTERNET, ROUTER, SchoolNet, school_net
from tests.support.pki import Pki

pytestmark = pytest.mark.integration


@pytest.fixture
def net() -> Iterator[SchoolNet]:
    with school_net("cwck") as school:
        yield school


def check(net: SchoolNet, workdir: Path, sections: dict[str, Any], only: str) -> list[dict[str, Any]]:
    """``campuswatch-agent check --only ONLY --json`` on the gateway with these config sections."""
    write_token_file(workdir / "token", "not-used-by-a-check-run")
    config = workdir / f"agent-{only}.yaml"
    config.write_text(
        yaml.safe_dump(
            {"school": "bbg", "collector": {"url": "http://127.0.0.1:1", "token_file": "token"}, **sections}
        )
    )
    done = net.run(
        net.gw,
        sys.executable,
        "-m",
        "campuswatch.agent",
        "check",
        "--config",
        str(config),
        "--only",
        only,
        "--json",
    )
    assert done.returncode in (0, 1), done.stderr
    polls: list[dict[str, Any]] = json.loads(done.stdout)
    return polls


def pools(poll: dict[str, Any]) -> list[tuple[str, int, int]]:
    return [(p["name"], p["size"], p["leased"]) for p in poll["reading"]["dhcp"]["pools"]]


def test_dnsmasq_pool_filled_by_clients(net: SchoolNet, tmp_path: Path) -> None:
    server = services.dnsmasq_dhcp(net, tmp_path, "10.20.2.100", "10.20.2.105")
    section = {"dhcp": {"dnsmasq_leases": str(server.leases), "dnsmasq_config": [str(server.config)]}}
    (poll,) = check(net, tmp_path, section, "dhcp")
    assert (poll["device"], poll["status"], poll["reading"]["kind"]) == ("dhcp", "ok", "dhcp")
    assert poll["reading"]["dhcp"]["server"] == "dnsmasq"  # found by itself: no Kea here
    assert pools(poll) == [("10.20.2.100-10.20.2.105", 6, 0)]
    assert all(services.fill_pool(net, 4, "02:00:00:00:01:00"))
    assert pools(check(net, tmp_path, section, "dhcp")[0]) == [("10.20.2.100-10.20.2.105", 6, 4)]
    more = services.fill_pool(net, 3, "02:00:00:00:02:00")
    assert more[:2] != [None, None] and more[2] is None  # the seventh iPad gets no address
    assert pools(check(net, tmp_path, section, "dhcp")[0]) == [("10.20.2.100-10.20.2.105", 6, 6)]


def test_kea_pool_through_its_control_socket_and_its_lease_file(net: SchoolNet, tmp_path: Path) -> None:
    server = services.kea_dhcp(net, tmp_path, "10.20.2.100", "10.20.2.103")
    assert server.socket is not None
    assert all(services.fill_pool(net, 3, "02:00:00:00:03:00"))
    by_socket = {"dhcp": {"kea_socket": str(server.socket), "kea_config": str(server.config)}}
    (poll,) = check(net, tmp_path, by_socket, "dhcp")
    assert (poll["status"], poll["reading"]["dhcp"]["server"]) == ("ok", "kea")
    assert poll["reading"]["dhcp"]["source"] == str(server.socket)
    assert pools(poll) == [("10.20.2.0/24", 4, 3)]
    by_file = {
        "dhcp": {"server": "kea", "kea_socket": str(tmp_path / "none"), "kea_config": str(server.config)}
    }
    (poll,) = check(net, tmp_path, by_file, "dhcp")
    assert poll["reading"]["dhcp"]["source"] == str(server.leases)
    assert pools(poll) == [("10.20.2.0/24", 4, 3)]
    services.fill_pool(net, 2, "02:00:00:00:04:00")
    assert pools(check(net, tmp_path, by_socket, "dhcp")[0]) == [("10.20.2.0/24", 4, 4)]


def test_a_dhcp_server_that_cannot_be_read_is_an_error_poll(net: SchoolNet, tmp_path: Path) -> None:
    missing = {"dhcp": {"server": "dnsmasq", "dnsmasq_leases": str(tmp_path / "none.leases")}}
    (poll,) = check(net, tmp_path, missing, "dhcp")
    assert poll["status"] == "error" and "cannot read the DHCP server's pools" in poll["error"]


def test_path_to_the_internet_dns_services_and_loss(net: SchoolNet, tmp_path: Path, pki: Pki) -> None:
    services.resolver(net, tmp_path)
    far = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=90)
    cert, key = pki.issue_server(tmp_path, "mdm.schule.test", far, stem="mdm")
    https = services.https_service(net, tmp_path, cert, key)
    section = {
        "network": {
            "targets": [{"name": "internet", "address": INTERNET}],
            "names": ["mdm.schule.test", "lernen.schule.test"],
            "services": [{"name": "MDM", "url": "https://mdm.schule.test/healthz", "ca_file": str(pki.ca)}],
            "pings": 50,
            "timeout_s": 2,
        }
    }
    with services.resolv_conf(net):
        (poll,) = check(net, tmp_path, section, "network")
        path = poll["reading"]["path"]
        assert (poll["device"], poll["reading"]["kind"], path["upstream"]) == ("uplink", "uplink", ROUTER)
        assert [(p["target"], p["address"], p["loss_percent"]) for p in path["probes"]] == [
            ("upstream", ROUTER, 0.0),
            ("internet", INTERNET, 0.0),
        ]
        assert path["dns"][0]["resolver"] == ROUTER  # auto: the gateway's resolv.conf
        assert [(x["name"], x["rcode"], x["addresses"]) for x in path["dns"][0]["lookups"]] == [
            ("mdm.schule.test", "NOERROR", [INTERNET]),
            ("lernen.schule.test", "NOERROR", [INTERNET]),
        ]
        (mdm,) = path["services"]
        assert (mdm["ok"], mdm["status"], mdm["tls_verified"]) == (True, 200, True)
        assert mdm["cert_not_after"] == pytest.approx(far.timestamp(), abs=2)

        net.loss(20)
        probes = check(net, tmp_path, section, "network")[0]["reading"]["path"]["probes"]
        for probe in probes:  # 50 echoes at 20 % loss: none lost has a chance of 1 in 70,000
            assert 2 <= probe["loss_percent"] <= 60, probe
        net.loss(None)

        net.kill(net.procs[0])  # the resolver stops
        SchoolNet.kill(https, signal.SIGKILL)
        path = check(net, tmp_path, section, "network")[0]["reading"]["path"]
        assert [(x["rcode"], x["error"]) for x in path["dns"][0]["lookups"]] == [
            (None, f"no answer from {ROUTER} within 2 s")
        ] * 2
        assert path["services"][0]["ok"] is False and path["services"][0]["status"] is None


def receivers(polls: list[dict[str, Any]]) -> dict[str, tuple[bool, bool | None]]:
    return {
        p["device"]: (p["reading"]["airplay"]["announced"], p["reading"]["airplay"]["reachable"])
        for p in polls
    }


def test_airplay_receiver_present_withdrawn_and_killed(net: SchoolNet, tmp_path: Path) -> None:
    port = services.airplay_port(net, tmp_path)
    avahi = services.announcer(net, tmp_path, "Apple TV Raum 101")
    section = {
        "airplay": {
            "receivers": [
                {"name": "Apple TV Raum 101", "room": "Raum 101"},
                {"name": "Board R102", "room": "Raum 102"},
            ],
            "timeout_s": 1.5,
        }
    }
    polls = check(net, tmp_path, section, "airplay")
    found = polls[0]["reading"]["airplay"]
    assert (found["address"], found["port"], found["model"], found["room"]) == (
        "10.20.2.2",
        7000,
        "AppleTV11,1",
        "Raum 101",
    )
    assert sorted(found["services"]) == ["_airplay._tcp.local.", "_raop._tcp.local."]
    assert receivers(polls) == {
        "airplay-apple-tv-raum-101": (True, True),
        "airplay-board-r102": (False, None),
    }

    SchoolNet.kill(port)  # the receiver's app is gone, its announcement still there
    assert receivers(check(net, tmp_path, section, "airplay"))["airplay-apple-tv-raum-101"] == (True, False)

    SchoolNet.kill(avahi, signal.SIGKILL)  # the power is cut: no goodbye
    assert receivers(check(net, tmp_path, section, "airplay"))["airplay-apple-tv-raum-101"] == (False, None)
