"""The shipped rules over the facts of the gateway's checks, the Wi-Fi radios, AirPlay receivers and the
MDM's iPads: each fault one problem, critical where it is total, held by hysteresis, a radio's capacity
by its model and band or a device's own; judged by the real judge_school (tests/support/judge.py)."""

from __future__ import annotations

from typing import Literal

import msgspec

from campuswatch.collector.alerting.ipads import ipad_problems
from campuswatch.collector.alerting.rules import RulesFile
from campuswatch.collector.alerting.thresholds import DeviceLimits
from campuswatch.collector.model import ProblemKey, ProblemRecord
from campuswatch.report import (
    AirplayReceiver,
    DeviceReading,
    DhcpPool,
    DhcpStatus,
    DnsCheck,
    DnsLookup,
    IpadFleet,
    PathProbe,
    PathStatus,
    ServiceCheck,
    SystemInfo,
    WifiBand,
    WifiRadio,
    WifiStatus,
)
from tests.support.judge import judged, shipped

AT = 1_780_000_000.0


def probe(target: str, loss: float) -> PathProbe:
    role: Literal["upstream", "target"] = "upstream" if target == "upstream" else "target"
    return PathProbe(target=target, address="10.20.1.1", role=role, sent=20, received=round(20 * (1 - loss / 100)),
                     loss_percent=loss)  # fmt: skip


def lookup(name: str, ok: bool) -> DnsLookup:
    return (
        DnsLookup(name=name, rcode="NOERROR", addresses=["10.1.1.1"])
        if ok
        else DnsLookup(name=name, error="timeout")
    )


def path(
    losses: tuple[float, float] = (0, 0),
    answered: tuple[bool, bool] = (True, True),
    services: list[ServiceCheck] | None = None,
) -> DeviceReading:
    return DeviceReading(
        address="10.20.1.1",
        kind="uplink",
        path=PathStatus(
            upstream="10.20.1.1",
            probes=[probe("upstream", losses[0]), probe("internet", losses[1])],
            dns=[
                DnsCheck(
                    resolver="10.20.1.1",
                    lookups=[lookup("mdm.de", answered[0]), lookup("lernen.de", answered[1])],
                )
            ],
            services=services or [],
        ),
    )


def codes(found: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str]]:
    return [(code, severity, subject) for code, severity, _, subject in found]


def test_a_healthy_path_has_no_problem() -> None:
    assert judged(path()) == []


def test_loss_on_the_uplink_is_one_problem_and_total_loss_critical() -> None:
    found = judged(path(losses=(20, 20)))
    assert found == [("uplink_loss", "warning", "20 % packet loss to upstream (10.20.1.1)", "upstream")]
    assert codes(judged(path(losses=(100, 100), answered=(False, False)))) == [
        ("uplink_loss", "critical", "upstream")
    ]
    assert codes(judged(path(losses=(0, 10)))) == [("uplink_loss", "warning", "internet")]


def test_loss_hovering_near_the_threshold_keeps_its_problem_until_it_is_gone() -> None:
    open_loss = ProblemRecord(
        1, ProblemKey("s", "d", "uplink_loss", "upstream"), "open", "warning", "loss", AT - 60
    )
    assert codes(judged(path(losses=(3, 0)), open_now=[open_loss])) == [
        ("uplink_loss", "warning", "upstream")
    ]
    assert judged(path(losses=(0, 0)), open_now=[open_loss]) == []
    assert judged(path(losses=(3, 0))) == []  # not open: 3 % is no problem yet


def test_dns_failing_when_half_the_names_fail_critical_when_all_do() -> None:
    assert codes(judged(path(answered=(True, False)))) == [("dns_failing", "warning", "10.20.1.1")]
    (problem,) = judged(path(answered=(False, False)))
    assert problem == (
        "dns_failing",
        "critical",
        "resolver 10.20.1.1 fails 2 of 2 names (mdm.de, lernen.de)",
        "10.20.1.1",
    )


def test_a_service_that_fails_and_a_certificate_that_ends() -> None:
    down = ServiceCheck(name="MDM", url="https://mdm.de/", status=503, latency_s=0.1)
    ending = ServiceCheck(
        name="Filter", url="https://f.de/", status=200, ok=True, cert_not_after=AT + 10 * 86400
    )
    found = judged(path(services=[down, ending]), at=AT)
    assert found == [
        ("certificate_expiring", "warning", "the certificate of Filter ends in 10 days", "Filter"),
        ("service_unreachable", "warning", "MDM does not answer as it should: HTTP 503", "MDM"),
    ]
    soon = msgspec.structs.replace(ending, cert_not_after=AT + 2 * 86400)
    assert codes(judged(path(services=[soon]), at=AT)) == [("certificate_expiring", "critical", "Filter")]


def test_failing_dns_takes_the_services_asked_by_name_with_it() -> None:
    down = ServiceCheck(
        name="MDM", url="https://mdm.de/", error="cannot connect to mdm.de:443: Name or service not known"
    )
    assert codes(judged(path(answered=(False, False), services=[down]))) == [
        ("dns_failing", "critical", "10.20.1.1")
    ]


def test_loss_at_the_upstream_gateway_is_the_one_problem_of_the_path() -> None:
    down = ServiceCheck(name="MDM", url="https://mdm.de/", error="no answer within 3 s")
    found = codes(judged(path(losses=(20, 20), answered=(True, False), services=[down])))
    assert found == [("uplink_loss", "warning", "upstream")]


def pool(leased: int, declined: int = 0) -> DeviceReading:
    pools = [DhcpPool(name="10.20.0.100-10.20.0.199", size=100, leased=leased, declined=declined)]
    return DeviceReading(address="localhost", kind="dhcp", dhcp=DhcpStatus(server="dnsmasq", pools=pools))


def test_a_dhcp_pool_full_before_it_runs_dry() -> None:
    assert judged(pool(89)) == []
    assert judged(pool(88, declined=2)) == [
        (
            "dhcp_pool_full",
            "warning",
            "pool 10.20.0.100-10.20.0.199: 90 % in use (90 of 100 addresses)",
            "10.20.0.100-10.20.0.199",
        )
    ]
    assert codes(judged(pool(98))) == [("dhcp_pool_full", "critical", "10.20.0.100-10.20.0.199")]
    open_pool = ProblemRecord(
        1, ProblemKey("s", "d", "dhcp_pool_full", "10.20.0.100-10.20.0.199"), "open", "warning", "x", AT
    )
    assert judged(pool(87), open_now=[open_pool]) != []  # hysteresis: clears at 85 %
    assert judged(pool(85), open_now=[open_pool]) == []


def radio(
    clients: int | None,
    *,
    band: WifiBand = "5GHz",
    utilization: float = 20,
    state: Literal["up", "down"] | None = "up",
) -> WifiRadio:
    return WifiRadio(
        ap="ap-raum-204", radio="1", band=band, clients=clients, utilization_percent=utilization, state=state
    )


def access_point(*radios: WifiRadio, model: str = "UAP-nanoHD") -> DeviceReading:
    system = SystemInfo(vendor="Ubiquiti", model=model)
    return DeviceReading(
        address="10.20.1.30", kind="access_point", system=system, wifi=WifiStatus(radios=list(radios))
    )


def test_a_radio_full_for_its_model() -> None:
    # A UAP-nanoHD is Wi-Fi 5 (its datasheet): 35 clients on a 5 GHz radio, 15 on 2.4 GHz; a radio is
    # full when it carries as many as it serves well.
    assert judged(access_point(radio(34))) == []
    assert judged(access_point(radio(35))) == [
        (
            "wifi_overloaded",
            "warning",
            "ap-raum-204 5GHz radio 1: 35 clients, it serves 35 well",
            "ap-raum-204/1",
        )
    ]
    assert codes(judged(access_point(radio(15, band="2.4GHz")))) == [
        ("wifi_overloaded", "warning", "ap-raum-204/1")
    ]
    # A Wi-Fi 6 model serves more.
    assert judged(access_point(radio(45), model="U6-Pro")) == []


def test_one_devices_own_capacity_over_its_models() -> None:
    rules, _, _ = shipped()
    aula = msgspec.structs.replace(rules, devices=[DeviceLimits(device="ap-aula", wifi_capacity=60)])
    assert judged(access_point(radio(50)), rules=aula, device="ap-aula") == []
    assert judged(access_point(radio(60)), rules=aula, device="ap-aula") != []


def test_a_busy_channel_and_a_radio_the_ap_says_is_down() -> None:
    found = codes(
        judged(
            access_point(radio(5, utilization=85), msgspec.structs.replace(radio(0, state="down"), radio="0"))
        )
    )
    assert found == [
        ("wifi_channel_busy", "warning", "ap-raum-204/1"),
        ("wifi_radio_down", "warning", "ap-raum-204/0"),
    ]
    assert judged(access_point(radio(0, state=None))) == []  # a radio switched off is no fault


def receiver(present: bool) -> DeviceReading:
    found = AirplayReceiver(
        name="Apple TV Raum 101", room="Raum 101", announced=present, reachable=True if present else None
    )
    return DeviceReading(address="", kind="display", airplay=found)


def test_an_airplay_receiver_gone_is_a_problem_of_its_room() -> None:
    assert judged(receiver(True)) == []
    assert judged(receiver(False)) == [
        (
            "airplay_receiver_gone",
            "warning",
            "AirPlay receiver Apple TV Raum 101 gone (room Raum 101)",
            "Raum 101",
        )
    ]


def test_a_schools_ipads_judged_as_shares_never_one_problem_an_ipad() -> None:
    rules, lamps, wifi = shipped()
    limits = rules.limits(lamps, wifi)
    fleet = IpadFleet(total=240, not_checked_in=30, storage_full=12, os_behind=60, os_minimum="17.6")
    found = {
        (w.key.device, w.key.code, w.severity, w.summary)
        for w in ipad_problems("bbg", fleet, limits, AT, set())
    }
    assert found == {
        ("", "ipads_not_checked_in", "warning", "30 of 240 iPads have not checked in for days"),
        ("", "ipads_os_behind", "warning", "60 of 240 iPads run an iOS older than 17.6"),
    }
    assert ipad_problems("bbg", IpadFleet(), limits, AT, set()) == []  # a school without iPads


def test_rules_file_ipads_section_is_checked() -> None:
    try:
        msgspec.convert({"ipads": {"storage_full_percent": 150}}, RulesFile)
    except msgspec.ValidationError as err:
        assert "percentage" in str(err)
    else:
        raise AssertionError("a storage share of 150 % was accepted")
