"""The SNMP benchmark's harness still works: both pollers get every OID from every device.

No speed is asserted here (that lives in bench/); this keeps `python -m bench.snmp_poll` from rotting.
"""

from __future__ import annotations

import pytest

from bench.printer_set import EXPECTED_VARBINDS, PLAN, v3_user
from bench.snmp_poll import check_exporter_config, responders, run_agent, run_exporter
from bench.snmpv3_poll import measure


def test_plan_holds_the_documented_sixty_oids() -> None:
    assert EXPECTED_VARBINDS == 60
    check_exporter_config()  # raises SystemExit if snmp.yml and the plan drift apart
    assert len(PLAN.scalars) == 12


@pytest.mark.integration
def test_agent_and_exporter_both_fetch_every_device_completely() -> None:
    with responders(3) as endpoints:
        assert len({host for host, _ in endpoints}) == 3
        agent = run_agent(endpoints, rounds=2, profile=None)
        exporter = run_exporter(endpoints, rounds=1)
    assert (len(agent.walls), len(exporter.walls)) == (2, 1)
    assert agent.incomplete == 0 and exporter.incomplete == 0
    assert agent.peak_rss_mb > 0 and exporter.peak_rss_mb > 0


@pytest.mark.integration
def test_v3_over_the_fast_path_over_pysnmp_and_v2c_all_fetch_every_device_completely() -> None:
    with responders(3, v3_users=[v3_user("sha512", "aes256")]) as endpoints:
        fast, pysnmp, v2c = measure(endpoints, 2, "sha512:aes256", profile=False)
    assert [m.incomplete for m in (fast, pysnmp, v2c)] == [0, 0, 0]
    assert [len(m.cpus) for m in (fast, pysnmp, v2c)] == [2, 2, 2]
    # What each column claims to measure: pysnmp only where it is the reference.
    assert (fast.pysnmp, pysnmp.pysnmp, v2c.pysnmp) == (False, True, False)
