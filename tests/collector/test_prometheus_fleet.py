"""A real Prometheus scrapes a real collector fed by a simulated fleet through the reports endpoint:
every dashboard panel's query, every recording rule and every alert returns data, and promtool finds
nothing wrong with the exposition.

Prometheus runs the repository's own ``configs/prometheus.yml`` and rule files, with only the target
(this test's collector, plus a closed port that stands for a collector that is down), the intervals
(seconds) and the Alertmanager (none) changed.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import yaml

from campuswatch.collector.config import JamfProSection, MdmSection
from campuswatch.config import Secret
from sim.collector import IMMEDIATE_RULES, RunningCollector, running_collector
from sim.fleet import DUE_LAMP_HOURS, DUE_LAMP_HOURS_A_DAY, DUE_LAMP_LIFE_H, Fleet, FleetPlan, school_id
from sim.process import wait_for
from sim.prometheus import REPO, PrometheusServer, repo_prometheus_config
from tests.support.standins.jamf import CLIENT_ID, CLIENT_SECRET, JamfStandIn

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

CONFIGS = REPO / "configs"
DASHBOARDS = sorted((REPO / "grafana" / "dashboards").glob("*.json"))
RULE_FILES = sorted((CONFIGS / "prometheus").glob("*.yml"))
#: The school every single-school query is asked about: the first one, which has every kind of fault.
SCHOOL = school_id(0)
#: What Grafana puts for its own variables: a rate window of several scrapes, a dashboard range.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "1h", "$school": SCHOOL}


@dataclass(frozen=True)
class PanelQuery:
    """One query of one dashboard panel."""

    dashboard: str
    panel: str
    expr: str
    instant: bool

    def promql(self) -> str:
        """The query with Grafana's variables replaced as Grafana would."""
        expr = self.expr
        for name, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(name, value)
        assert "$" not in expr, f"unknown variable in {self.expr!r}"
        return expr


def panel_queries() -> Iterator[PanelQuery]:
    """Every target of every panel of every committed dashboard."""
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                yield PanelQuery(dashboard["uid"], panel["title"], target["expr"], target["instant"])


def rules(kind: str) -> Iterator[dict[str, Any]]:
    """Every rule of the given kind ("record" or "alert") in configs/prometheus/."""
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            yield from (rule for rule in group["rules"] if kind in rule)


@dataclass
class Stack:
    """The running collector, the Prometheus scraping it, and the collector's exposition."""

    collector: RunningCollector
    prometheus: PrometheusServer
    exposition: str


async def scrapes(prom: PrometheusServer, count: int) -> None:
    """Wait until Prometheus has scraped the collector successfully ``count`` more times."""
    query = 'sum_over_time(up{job="campuswatch-collector"}[5m])'

    def scraped() -> float:
        result = prom.query(f"max({query})")
        return float(result[0]["value"][1]) if result else 0.0

    target = scraped() + count
    await asyncio.to_thread(wait_for, lambda: scraped() >= target, 60, f"{count} more scrapes")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """Eight school days of printer and projector history, a round of polls, Prometheus scraping, a second round (tickets for
    what failed twice), a few more scrapes."""
    tmp = tmp_path_factory.mktemp("prometheus-fleet")
    fleet = Fleet(FleetPlan(schools=3))
    jamf = await ipads_of(fleet)
    mdm = MdmSection(
        jamf_pro=JamfProSection(url=jamf.url, client_id=CLIENT_ID, client_secret=Secret(CLIENT_SECRET)),
        schools={name: school for school, name in fleet.schools().items()},
    )
    async with (
        running_collector(tmp, fleet.schools(), rules_file=IMMEDIATE_RULES, mdm=mdm) as collector,
        aiohttp.ClientSession() as http,
    ):
        await fleet.send_history(http, collector.url, collector.tokens, now=time.time(), school_days=8)
        await fleet.send_round(http, collector.url, collector.tokens, now=time.time())
        scraper = await collector.token("metrics")
        config = await asyncio.to_thread(repo_prometheus_config, collector.url, scraper)
        async with PrometheusServer(config, tmp / "prometheus") as prom:
            await scrapes(prom, 3)
            await fleet.send_round(http, collector.url, collector.tokens, now=time.time())
            await scrapes(prom, 3)
            async with http.get(f"{collector.url}/metrics", headers=collector.scraper) as response:
                exposition = await response.text()
            yield Stack(collector, prom, exposition)
    await jamf.server.stop()


async def ipads_of(fleet: Fleet) -> JamfStandIn:
    """The city's MDM (a stand-in of Jamf Pro) with a site per school and its iPads: in the first school
    a third have not checked in for weeks."""
    jamf = JamfStandIn()
    for index, name in enumerate(fleet.schools().values()):
        site = jamf.site(name)
        for n in range(30):
            stale = index == 0 and n % 3 == 0
            last = (
                "2026-01-05T07:00:00.000Z" if stale else datetime.now(UTC).isoformat().replace("+00:00", "Z")
            )
            jamf.ipad(
                site, last_inventory=last, os_version="17.6.1" if n % 5 else "16.7.8", used_percent=50 + n
            )
    await jamf.server.start()
    return jamf


async def test_there_is_something_to_check() -> None:  # async only because the module runs in one loop
    assert len(DASHBOARDS) == 7
    assert len(list(panel_queries())) > 40
    assert len(list(rules("record"))) >= 5 and len(list(rules("alert"))) >= 5


async def test_promtool_finds_nothing_in_the_exposition(stack: Stack) -> None:
    assert "campuswatch_device_up{" in stack.exposition
    checked = subprocess.run(
        ["promtool", "check", "metrics"], input=stack.exposition.encode(), capture_output=True, timeout=60
    )
    assert checked.returncode == 0 and not checked.stdout and not checked.stderr, (
        checked.stdout.decode() + checked.stderr.decode()
    )


async def test_prometheus_reads_the_exposition_whole(stack: Stack) -> None:
    samples = await asyncio.to_thread(
        stack.prometheus.query, 'scrape_samples_scraped{job="campuswatch-collector"} > 0'
    )
    assert len(samples) == 1
    lines = [line for line in stack.exposition.splitlines() if line and not line.startswith("#")]
    # The two exposition reads are a scrape apart; a fleet at rest keeps its series count.
    assert float(samples[0]["value"][1]) == len(lines)


@pytest.mark.parametrize(
    "query", list(panel_queries()), ids=lambda q: f"{q.dashboard}:{q.panel}:{q.expr[:40]}"
)
async def test_every_panel_query_returns_data(stack: Stack, query: PanelQuery) -> None:
    prom = stack.prometheus
    if query.instant:
        result = await asyncio.to_thread(prom.query, query.promql())
        values = [float(r["value"][1]) for r in result]
    else:
        result = await asyncio.to_thread(prom.query_range, query.promql(), seconds=30, step_s=1)
        values = [float(v) for r in result for _, v in r["values"]]
    assert result, f"{query.dashboard} / {query.panel}: no data for {query.promql()}"
    assert any(v == v for v in values), f"{query.dashboard} / {query.panel}: only NaN for {query.promql()}"


@pytest.mark.parametrize("rule", list(rules("record")), ids=lambda r: r["record"])
async def test_every_recording_rule_is_recorded_by_prometheus(stack: Stack, rule: dict[str, Any]) -> None:
    prom = stack.prometheus
    recorded = await asyncio.to_thread(wait_for, lambda: prom.query(rule["record"]), 20, rule["record"])
    assert all(r["metric"]["__name__"] == rule["record"] for r in recorded)
    assert await asyncio.to_thread(prom.query, rule["expr"]), (
        f"{rule['record']}: its expression returns nothing"
    )


@pytest.mark.parametrize("rule", list(rules("alert")), ids=lambda r: r["alert"])
async def test_every_alert_fires_on_the_simulated_fleet(stack: Stack, rule: dict[str, Any]) -> None:
    prom = stack.prometheus
    assert await asyncio.to_thread(prom.query, rule["expr"]), (
        f"{rule['alert']}: its expression returns nothing"
    )

    def active() -> list[dict[str, Any]]:
        return [a for a in prom.api("alerts")["alerts"] if a["labels"]["alertname"] == rule["alert"]]

    alerts = await asyncio.to_thread(wait_for, active, 20, f"alert {rule['alert']}")
    # Pending until its `for` has passed; the collector files it under the school it names.
    assert {a["state"] for a in alerts} <= {"pending", "firing"}
    if rule["alert"] != "CampuswatchCollectorDown":
        assert all(a["labels"].get("school") for a in alerts), alerts


async def test_every_rule_evaluates_without_error(stack: Stack) -> None:
    groups = (await asyncio.to_thread(stack.prometheus.api, "rules"))["groups"]
    evaluated = [rule for group in groups for rule in group["rules"]]
    assert len(evaluated) == len(list(rules("record"))) + len(list(rules("alert")))
    assert all(rule["health"] == "ok" for rule in evaluated), [r for r in evaluated if r["health"] != "ok"]


async def test_the_school_variable_lists_every_school(stack: Stack) -> None:
    values = await asyncio.to_thread(
        stack.prometheus.api, "label/school/values", **{"match[]": "campuswatch_school_info"}
    )
    assert values == [school_id(i) for i in range(3)]


async def test_the_forecast_reaches_prometheus(stack: Stack) -> None:
    result = await asyncio.to_thread(
        stack.prometheus.query,
        f'campuswatch_printer_supply_school_day_runway{{school="{SCHOOL}", device="drucker-1", supply="Black Toner"}}',
    )
    assert len(result) == 1
    # The simulated black toner loses 2 points a school day and has 6 % left.
    assert float(result[0]["value"][1]) == pytest.approx(3.0, abs=0.01)


async def open_ticket_body(stack: Stack, problem_code: str) -> str:
    """The body of the first school's one open ticket of a problem code, through the tickets API."""
    tickets = await stack.collector.items("/api/v1/tickets", school=SCHOOL, state="open")
    (found,) = [t for t in tickets if t["problem_code"] == problem_code]
    body: str = (await stack.collector.get(f"/api/v1/tickets/{found['id']}"))["body"]
    return body


async def test_a_supply_ticket_says_how_long_the_supply_lasts(stack: Stack) -> None:
    body = await open_ticket_body(stack, "supply_low")
    forecast = re.search(r"^Forecast: Black Toner: about (\d+) school days left$", body, re.M)
    assert forecast is not None, body
    # The ticket opened (when the rules let it) with 8 or 6 % left, at 2 points a school day.
    assert int(forecast.group(1)) in (3, 4)


async def test_the_lamp_forecast_reaches_prometheus(stack: Stack) -> None:
    result = await asyncio.to_thread(
        stack.prometheus.query,
        f'campuswatch_projector_lamp_school_day_runway{{school="{SCHOOL}", device="beamer-1", lamp="1"}}',
    )
    assert len(result) == 1
    # 60 h left of its rated life, at 6 h a school day.
    days = (DUE_LAMP_LIFE_H - DUE_LAMP_HOURS) / DUE_LAMP_HOURS_A_DAY
    assert days == 10
    assert float(result[0]["value"][1]) == pytest.approx(days, abs=0.01)
    # Every lit projector lamp of the fleet's schools that answer has a forecast.
    assert (
        len(await asyncio.to_thread(stack.prometheus.query, "campuswatch_projector_lamp_school_day_runway"))
        == 2
    )


async def test_a_lamp_ticket_says_how_long_the_lamp_lasts(stack: Stack) -> None:
    # The projector warns of its lamp from the last school day on, when the whole history is known.
    body = await open_ticket_body(stack, "projector_lamp")
    assert re.search(r"^Forecast: Lamp 1: about 10 school days left$", body, re.M), body
