"""The network checks' pure parts: loss and jitter from echoes, the default route's next hop, DHCP pools
and leases from Kea's and dnsmasq's own formats."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from campuswatch.agent.checks.dhcp import dnsmasq, kea
from campuswatch.agent.checks.dhcp.pools import Lease, Range, parse_range, read_text, usage
from campuswatch.agent.checks.icmp import path_probe
from campuswatch.agent.gateway import default_gateway, default_route_interface

ROUTES = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth1\t00000000\t0100140A\t0003\t0\t0\t200\t00000000\t0\t0\t0\n"
    "eth0\t00000000\t01FEA8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
    "eth0\t00FEA8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
)


def test_default_gateway_is_the_lowest_metric_routes_next_hop() -> None:
    assert default_route_interface(ROUTES) == "eth0"
    assert default_gateway(ROUTES) == "192.168.254.1"
    assert default_gateway(ROUTES.splitlines()[0]) is None


def test_loss_latency_and_jitter_of_a_burst() -> None:
    probe = path_probe("upstream", "10.0.0.1", "upstream", 10, [0.010, 0.012, 0.011, 0.015])
    assert (probe.sent, probe.received, probe.loss_percent) == (10, 4, 60.0)
    assert probe.rtt_avg_s == pytest.approx(0.012) and probe.rtt_max_s == 0.015
    assert probe.jitter_s == pytest.approx((0.002 + 0.001 + 0.004) / 3)
    silent = path_probe("internet", "9.9.9.9", "target", 10, [])
    assert (silent.loss_percent, silent.rtt_avg_s, silent.jitter_s) == (100.0, None, None)


def test_pool_ranges_in_keas_two_spellings() -> None:
    assert str(parse_range("10.20.0.10 - 10.20.3.250")) == "10.20.0.10-10.20.3.250"
    assert parse_range("10.20.0.10 - 10.20.3.250").size == 3 * 256 + 241  # type: ignore[union-attr]
    assert parse_range("10.20.4.0/26") == Range(
        ipaddress.IPv4Address("10.20.4.0"), ipaddress.IPv4Address("10.20.4.63")
    )
    for bad in ("10.20.0.50 - 10.20.0.10", "garbage", "10.20.0.1"):
        assert parse_range(bad) is None


def test_usage_counts_leases_inside_the_pool_and_declined_apart() -> None:
    span = parse_range("10.0.0.10 - 10.0.0.19")
    assert span is not None
    leases = [Lease(ipaddress.IPv4Address(a)) for a in ("10.0.0.10", "10.0.0.19", "10.0.0.20", "10.0.0.9")]
    leases.append(Lease(ipaddress.IPv4Address("10.0.0.11"), declined=True))
    pool = usage("pool", [span], leases)
    assert (pool.size, pool.leased, pool.declined) == (10, 2, 1)


DNSMASQ_LEASES = """\
1700000100 02:00:00:00:00:01 10.20.0.100 ipad-01 01:02:00:00:00:00:01
0 02:00:00:00:00:02 10.20.0.101 * *
1600000000 02:00:00:00:00:03 10.20.0.102 ipad-03 *
duid 00:01:00:01:2c:aa
1700000100 1234 2001:db8::5 * 00:01
"""


def test_dnsmasq_leases_that_hold_now() -> None:
    active = dnsmasq.parse_leases(DNSMASQ_LEASES, now=1_700_000_000)
    assert [str(lease.address) for lease in active] == ["10.20.0.100", "10.20.0.101"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.20.0.100,10.20.0.199,255.255.255.0,12h", "10.20.0.100-10.20.0.199"),
        ("set:ipads,10.20.1.10,10.20.1.250,4h", "10.20.1.10-10.20.1.250"),
        ("tag:lan,interface:eth1,10.20.2.1,10.20.2.9", "10.20.2.1-10.20.2.9"),
        ("10.20.3.0,static", None),
        ("10.20.3.50,10.20.3.10", None),
        ("::1,::400,constructor:eth0", None),
    ],
)
def test_dnsmasq_dhcp_ranges(value: str, expected: str | None) -> None:
    found = dnsmasq.parse_range(value)
    assert (str(found) if found else None) == expected


KEA_CONFIG = """\
# the school's pools
{
  "Dhcp4": {
    // every pupil's iPad
    "lease-database": { "type": "memfile", "name": "/var/lib/kea/leases.csv" },
    "subnet4": [
      { "id": 1, "subnet": "10.20.0.0/22", "pools": [ { "pool": "10.20.0.100 - 10.20.3.250" } ] },
      { "id": 2, "subnet": "10.30.0.0/24", "pools": [] }
    ],
    /* the staff network, shared */
    "shared-networks": [ { "name": "staff", "subnet4": [
      { "id": 3, "subnet": "10.40.0.0/24", "pools": [ { "pool": "10.40.0.0/25" }, { "pool": "10.40.0.200-10.40.0.209" } ] }
    ] } ],
    "option-data": [ { "name": "domain-name", "data": "schule.de // not a comment # nor this" } ]
  }
}
"""


def test_kea_config_with_comments_names_subnets_pools_and_lease_file() -> None:
    config = json.loads(kea.strip_comments(KEA_CONFIG))
    dhcp4 = config["Dhcp4"]
    assert dhcp4["option-data"][0]["data"] == "schule.de // not a comment # nor this"
    found = kea.subnets(dhcp4)
    assert [(s.id, s.prefix, [str(p) for p in s.pools]) for s in found] == [
        (1, "10.20.0.0/22", ["10.20.0.100-10.20.3.250"]),
        (2, "10.30.0.0/24", []),
        (3, "10.40.0.0/24", ["10.40.0.0-10.40.0.127", "10.40.0.200-10.40.0.209"]),
    ]
    assert str(kea.lease_file(dhcp4)) == "/var/lib/kea/leases.csv"


def test_kea_statistics_per_subnet() -> None:
    found = kea.subnets(json.loads(kea.strip_comments(KEA_CONFIG))["Dhcp4"])
    stats = {
        "subnet[1].total-addresses": [[919, "2026-05-04 10:00:00"], [919, "2026-05-04 09:00:00"]],
        "subnet[1].assigned-addresses": [[890, "2026-05-04 10:00:00"], [400, "2026-05-04 09:00:00"]],
        "subnet[1].declined-addresses": [[3, "2026-05-04 10:00:00"]],
        "subnet[3].assigned-addresses": [[7, "2026-05-04 10:00:00"]],
    }
    pools = kea.from_statistics(found, stats)
    assert [(p.name, p.size, p.leased, p.declined) for p in pools] == [
        ("10.20.0.0/22", 919, 890, 3),
        ("10.40.0.0/24", 138, 7, 0),  # no total counter: the pools' sizes
    ]


KEA_LEASES = """\
address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context
10.20.0.100,02:00:00:00:00:01,,3600,1700003600,1,0,0,ipad-01,0,
10.20.0.101,02:00:00:00:00:02,,3600,1700003600,1,0,0,ipad-02,0,
10.20.0.101,02:00:00:00:00:02,,0,1700000500,1,0,0,ipad-02,0,
10.20.0.102,02:00:00:00:00:03,,3600,1699990000,1,0,0,ipad-03,0,
10.20.0.103,,,86400,1700086400,1,0,0,,1,
10.20.0.104,02:00:00:00:00:05,,3600,1700003600,1,0,0,,2,
"""


def test_kea_memfile_leases_last_row_wins() -> None:
    leases = kea.parse_leases(KEA_LEASES, now=1_700_000_000)
    assert [(str(lease.address), lease.declined) for lease in leases] == [
        ("10.20.0.100", False),  # 101 released (lifetime 0), 102 expired, 104 reclaimed
        ("10.20.0.103", True),
    ]


def test_a_lease_file_too_large_to_read_whole_is_refused_not_half_counted(tmp_path: Path) -> None:
    leases = tmp_path / "dnsmasq.leases"
    leases.write_text("1700000100 02:00:00:00:00:01 10.20.0.100 ipad *\n" * 10)
    assert len(dnsmasq.parse_leases(read_text(leases), now=1_700_000_000)) == 1  # one address, one lease
    with pytest.raises(ValueError, match="larger than"):
        read_text(leases, limit=100)
