"""Every alert of configs/prometheus/alerts.yml goes the whole way: a real Prometheus evaluates it over a
collector fed by the simulated fleet, a real Alertmanager with configs/alertmanager.yml routes it, and
the collector's ``POST /api/v1/alertmanager`` turns it into a problem of the school the alert names.

Only what a test cannot wait for is changed: the rules' ``for`` (minutes to an hour) is dropped, the
Alertmanager groups for a second instead of half a minute, and the webhook points at this collector.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from campuswatch.collector.model import ProblemRecord
from sim.collector import IMMEDIATE_RULES, running_collector
from sim.fleet import Fleet, FleetPlan, school_id
from sim.process import wait_for
from sim.prometheus import REPO, AlertmanagerServer, PrometheusServer, repo_prometheus_config

pytestmark = pytest.mark.integration

CONFIGS = REPO / "configs"
ALERTS = CONFIGS / "prometheus" / "alerts.yml"


def alerts_without_for(tmp: Path) -> Path:
    """The shipped alerting rules, firing as soon as they are true."""
    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("for", None)
    path = tmp / "alerts.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    return path


def alertmanager_config(collector_url: str, token_file: Path) -> dict[str, Any]:
    """configs/alertmanager.yml with its webhook at this collector (its token in ``token_file``) and
    one-second grouping."""
    config: dict[str, Any] = yaml.safe_load((CONFIGS / "alertmanager.yml").read_text(encoding="utf-8"))
    config["route"].update(group_wait="1s", group_interval="1s")
    receiver = next(r for r in config["receivers"] if r["name"] == "campuswatch-collector")
    (webhook,) = receiver["webhook_configs"]
    webhook["url"] = webhook["url"].replace("http://127.0.0.1:8750", collector_url)
    webhook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    return config


async def test_every_alert_becomes_a_problem_of_its_school_in_the_collector(tmp_path: Path) -> None:
    # Every alert of a school (the collector's own alert is of none).
    alert_names = [
        rule["alert"]
        for group in yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
        if rule["alert"] != "CampuswatchCollectorDown"
    ]
    fleet = Fleet(FleetPlan(schools=3))
    async with (
        running_collector(tmp_path, fleet.schools(), rules_file=IMMEDIATE_RULES) as collector,
        aiohttp.ClientSession() as http,
    ):
        await fleet.send_history(http, collector.url, collector.tokens, now=time.time(), school_days=8)
        await fleet.send_round(http, collector.url, collector.tokens, now=time.time())
        rule_files = [CONFIGS / "prometheus" / "recording.yml", alerts_without_for(tmp_path)]
        token_file = tmp_path / "alertmanager-token"
        token_file.write_text(await collector.token("alertmanager"))
        scraper = await collector.token("metrics")
        async with AlertmanagerServer(
            alertmanager_config(collector.url, token_file), tmp_path / "alertmanager"
        ) as am:
            config = await asyncio.to_thread(
                repo_prometheus_config, collector.url, scraper, rule_files=rule_files, alertmanager_url=am.url
            )
            async with PrometheusServer(config, tmp_path / "prometheus"):

                def alert_problems() -> dict[str, list[ProblemRecord]]:
                    problems = asyncio.run_coroutine_threadsafe(
                        collector.store.problems.open_now(), loop
                    ).result(timeout=10)
                    found: dict[str, list[ProblemRecord]] = {}
                    for p in problems:
                        if p.key.code.startswith("alert:"):
                            found.setdefault(p.key.code.removeprefix("alert:"), []).append(p)
                    return found if set(found) >= set(alert_names) else {}

                loop = asyncio.get_running_loop()
                found = await asyncio.to_thread(wait_for, alert_problems, 90, "every alert as a problem")
    assert {p.key.school for p in found["CampuswatchSupplyRunningOut"]} == {school_id(0)}
    (running_out,) = found["CampuswatchSupplyRunningOut"]
    assert running_out.key.device == "drucker-1"
    assert running_out.summary == "Black Toner: about 3 school days left"
    assert {p.key.school for p in found["CampuswatchManyDevicesDown"]} == {school_id(2)}
    assert {p.key.school for p in found["CampuswatchAgentBacklog"]} == {school_id(0)}
    assert {p.key.school for p in found["CampuswatchGatewayDiskFull"]} == {school_id(0)}
    # The collector's own alert names no school: Alertmanager sends it to people, not to the collector.
    assert "CampuswatchCollectorDown" not in found
