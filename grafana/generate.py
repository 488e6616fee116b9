"""Write campuswatch's Grafana dashboards as JSON from one description, so that they stay consistent.

    .venv/bin/python grafana/generate.py            # rewrites grafana/dashboards/*.json

Every panel reads from the ``$datasource`` variable (any Prometheus that scrapes the collector), every
dashboard has a fixed uid (links and provisioning keep working after a re-import), and every query is
PromQL over the collector's ``/metrics`` (see README.md, "Metrics") or the recording rules in
``configs/prometheus/``. The JSON is committed; ``tests/test_grafana_dashboards.py`` checks that it is
what this script writes and runs every query against a real Prometheus.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DASHBOARDS_DIR = Path(__file__).parent / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
#: Grafana's dashboard grid is 24 columns wide.
GRID_WIDTH = 24


@dataclass(frozen=True)
class Panel:
    """One panel: a title, its PromQL queries (legend per query) and how to draw them."""

    title: str
    exprs: tuple[tuple[str, str], ...]
    kind: str = "timeseries"
    unit: str = "short"
    width: int = 8
    height: int = 7
    description: str = ""
    #: Table and bar panels show the latest value per series, not a history.
    instant: bool = False
    thresholds: tuple[tuple[float, str], ...] = ()


@dataclass(frozen=True)
class Dashboard:
    """A dashboard: uid, title, whether it has a ``$school`` variable, and its rows of panels."""

    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    #: "single": one school to pick; "multi": any number, "All" by default; None: no school variable.
    school: str | None = None
    tags: tuple[str, ...] = field(default=("campuswatch",))


def q(expr: str, legend: str = "") -> tuple[str, str]:
    """A query and its legend (``{{label}}`` placeholders as Grafana reads them)."""
    return (expr, legend)


S = 'school="$school"'
SM = 'school=~"$school"'

FLEET = Dashboard(
    uid="campuswatch-fleet",
    title="campuswatch / Fleet overview",
    description="Every school at a glance: who is offline, what is down, what is waiting for the helpdesk.",
    panels=(
        Panel("Schools up", (q("sum(campuswatch_school_up)"),), "stat", width=4, instant=True),
        Panel(
            "Schools offline",
            (q("sum(campuswatch_school_up == bool 0)"),),
            "stat",
            width=4,
            instant=True,
            thresholds=((0, "green"), (1, "red")),
        ),
        Panel("Agents up", (q("sum(campuswatch_agent_up)"),), "stat", width=4, instant=True),
        Panel(
            "Devices up",
            (q("sum(campuswatch_device_up) / count(campuswatch_device_up)"),),
            "stat",
            unit="percentunit",
            width=4,
            instant=True,
            thresholds=((0, "red"), (0.9, "orange"), (0.97, "green")),
        ),
        Panel(
            "Open problems",
            (q("sum by (severity) (campuswatch_problems_open)", "{{severity}}"),),
            "stat",
            width=4,
            instant=True,
        ),
        Panel("Open tickets", (q("sum(campuswatch_tickets_open)"),), "stat", width=4, instant=True),
        Panel(
            "Devices down by kind",
            (q("sum by (kind) (campuswatch_device_up == bool 0)", "{{kind}}"),),
            width=12,
        ),
        Panel(
            "Devices up by school (share)",
            (q("bottomk(10, campuswatch:devices_up:ratio_by_school)", "{{school}}"),),
            "bargauge",
            unit="percentunit",
            width=12,
            instant=True,
            description="The ten schools with the smallest share of devices up.",
        ),
        Panel(
            "Devices up by vendor and model",
            (q("sum by (kind, vendor, model) (campuswatch:devices_up:sum_by_kind_vendor_model)"),),
            "table",
            width=12,
            instant=True,
        ),
        Panel(
            "Schools with the most open tickets",
            (q("topk(10, sum by (school) (campuswatch_tickets_open))", "{{school}}"),),
            "bargauge",
            width=12,
            instant=True,
        ),
    ),
)

SCHOOL = Dashboard(
    uid="campuswatch-school",
    title="campuswatch / School",
    description="One school: its devices, supplies, network, tickets and agent.",
    school="single",
    panels=(
        Panel("School up", (q(f"campuswatch_school_up{{{S}}}"),), "stat", width=4, instant=True),
        Panel(
            "Devices up",
            (q(f"sum(campuswatch_device_up{{{S}}})", "up"), q(f"count(campuswatch_device_up{{{S}}})", "all")),
            "stat",
            width=4,
            instant=True,
        ),
        Panel(
            "Open problems",
            (q(f"sum by (severity) (campuswatch_problems_open{{{S}}})", "{{severity}}"),),
            "stat",
            width=4,
            instant=True,
        ),
        Panel("Open tickets", (q(f"sum(campuswatch_tickets_open{{{S}}})"),), "stat", width=4, instant=True),
        Panel(
            "Seconds since the agent's last report",
            (q(f"time() - campuswatch_agent_last_report_timestamp_seconds{{{S}}}", "{{agent}}"),),
            "stat",
            unit="s",
            width=8,
            instant=True,
        ),
        Panel(
            "Devices",
            (
                q(
                    f"campuswatch_device_up{{{S}}} * on (school, device) group_left (label, vendor, model) "
                    f"campuswatch_device_info{{{S}}}"
                ),
            ),
            "table",
            width=24,
            height=9,
            instant=True,
            description="1 = the last poll succeeded.",
        ),
        Panel(
            "Printer supply levels",
            (q(f"campuswatch_printer_supply_level_ratio{{{S}}}", "{{device}} {{supply}}"),),
            unit="percentunit",
            width=12,
        ),
        Panel(
            "School days of supply left",
            (q(f"campuswatch_printer_supply_school_day_runway{{{S}}}", "{{device}} {{supply}}"),),
            "bargauge",
            unit="suffix: school days",
            width=12,
            instant=True,
            thresholds=((0, "red"), (5, "orange"), (15, "green")),
        ),
        Panel(
            "UPS battery charge",
            (q(f"campuswatch_ups_battery_charge_ratio{{{S}}}", "{{device}}"),),
            unit="percentunit",
            width=6,
        ),
        Panel(
            "Wi-Fi clients",
            (q(f"sum by (device) (campuswatch_wifi_clients{{{S}}})", "{{device}}"),),
            width=6,
        ),
        Panel(
            "Projector lamp hours",
            (q(f"campuswatch_projector_lamp_usage_seconds_total{{{S}}} / 3600", "{{device}} lamp {{lamp}}"),),
            "bargauge",
            unit="h",
            width=6,
            instant=True,
        ),
        Panel(
            "School days of lamp left",
            (q(f"campuswatch_projector_lamp_school_day_runway{{{S}}}", "{{device}} lamp {{lamp}}"),),
            "bargauge",
            unit="suffix: school days",
            width=6,
            instant=True,
            thresholds=((0, "red"), (5, "orange"), (15, "green")),
            description="Until each lamp reaches its rated life, at the hours it burns on a school day.",
        ),
        Panel(
            "Uplink packet loss",
            (q(f"campuswatch_uplink_packet_loss_ratio{{{S}}}", "{{target}}"),),
            unit="percentunit",
            width=6,
        ),
        Panel(
            "DHCP pools in use",
            (q(f"campuswatch:dhcp_pool_used:ratio{{{S}}}", "{{pool}}"),),
            "bargauge",
            unit="percentunit",
            width=6,
            instant=True,
            thresholds=((0, "green"), (0.8, "orange"), (0.9, "red")),
        ),
        Panel(
            "AirPlay receivers by room",
            (q(f"campuswatch_airplay_receiver_up{{{S}}}", "{{room}}"),),
            "stat",
            width=6,
            instant=True,
            thresholds=((0, "red"), (1, "green")),
            description="1 = the room's receiver answered; 0 = gone ('Kein Bild' with an iPad).",
        ),
        Panel(
            "iPads",
            (q(f"campuswatch_ipads{{{S}}}", "{{state}}"),),
            "bargauge",
            width=6,
            instant=True,
            description="From the city's MDM.",
        ),
    ),
)

PRINTERS = Dashboard(
    uid="campuswatch-printers",
    title="campuswatch / Printers and supplies",
    description="Toner, drums and lamps: what runs out next, and how much the schools print.",
    school="multi",
    panels=(
        Panel(
            "Supplies below 10 %",
            (q(f"sum(campuswatch_printer_supply_level_ratio{{{SM}}} < bool 0.1)"),),
            "stat",
            width=6,
            instant=True,
            thresholds=((0, "green"), (1, "orange")),
        ),
        Panel(
            "Printers down",
            (q(f'sum(campuswatch_device_up{{kind="printer", {SM}}} == bool 0)'),),
            "stat",
            width=6,
            instant=True,
            thresholds=((0, "green"), (1, "red")),
        ),
        Panel(
            "Pages printed per hour",
            (
                q(
                    f"sum by (school) (rate(campuswatch_printer_pages_total{{{SM}}}[$__rate_interval])) * 3600",
                    "{{school}}",
                ),
            ),
            width=12,
        ),
        Panel(
            "Runs out first (school days left)",
            (q(f"bottomk(20, campuswatch_printer_supply_school_day_runway{{{SM}}})"),),
            "table",
            unit="suffix: school days",
            width=12,
            height=9,
            instant=True,
            description="Least-squares forecast over each supply's level on past school days; refills excluded.",
        ),
        Panel(
            "Lowest supply levels",
            (q(f"bottomk(20, campuswatch_printer_supply_level_ratio{{{SM}}})"),),
            "table",
            unit="percentunit",
            width=12,
            height=9,
            instant=True,
        ),
        Panel(
            "Supply levels by school (lowest)",
            (q(f"min by (school) (campuswatch_printer_supply_level_ratio{{{SM}}})", "{{school}}"),),
            unit="percentunit",
            width=24,
        ),
        Panel(
            "Lamps due first (school days left)",
            (q(f"bottomk(20, campuswatch_projector_lamp_school_day_runway{{{SM}}})"),),
            "table",
            unit="suffix: school days",
            width=12,
            instant=True,
            description="Least-squares forecast over each lamp's hours on past school days, to its rated "
            "life; a new lamp starts afresh.",
        ),
        Panel(
            "Projector lamp hours (highest)",
            (q(f"topk(20, campuswatch_projector_lamp_usage_seconds_total{{{SM}}} / 3600)"),),
            "table",
            unit="h",
            width=12,
            instant=True,
        ),
    ),
)

NETWORK = Dashboard(
    uid="campuswatch-network",
    title="campuswatch / Network and Wi-Fi",
    description="Switch ports, PoE, access points and Wi-Fi clients.",
    school="multi",
    panels=(
        Panel(
            "Switch ports by status",
            (q(f"sum by (status) (campuswatch_switch_ports{{{SM}}})", "{{status}}"),),
            width=8,
        ),
        Panel(
            "PoE ports by status",
            (q(f"sum by (status) (campuswatch_switch_poe_ports{{{SM}}})", "{{status}}"),),
            width=8,
        ),
        Panel(
            "Switch port errors per second (highest)",
            (
                q(
                    f"topk(10, rate(campuswatch_switch_port_errors_total{{{SM}}}[$__rate_interval]))",
                    "{{school}} {{device}}",
                ),
            ),
            width=8,
        ),
        Panel(
            "Wi-Fi clients by school",
            (q(f"sum by (school) (campuswatch_wifi_clients{{{SM}}})", "{{school}}"),),
            width=12,
        ),
        Panel(
            "Wi-Fi radios down",
            (q(f'sum by (school) (campuswatch_wifi_radios{{status="down", {SM}}})', "{{school}}"),),
            "bargauge",
            width=12,
            instant=True,
        ),
        Panel(
            "Switches and access points down",
            (
                q(
                    f'sum by (school, kind) (campuswatch_device_up{{kind=~"switch|access_point", {SM}}} == bool 0)'
                ),
            ),
            "table",
            width=12,
            instant=True,
        ),
        Panel(
            "UPS battery charge (lowest)",
            (q(f"bottomk(10, campuswatch_ups_battery_charge_ratio{{{SM}}})", "{{school}} {{device}}"),),
            "bargauge",
            unit="percentunit",
            width=12,
            instant=True,
        ),
    ),
)

TICKETS = Dashboard(
    uid="campuswatch-tickets",
    title="campuswatch / Tickets",
    description="What the helpdesk has open, for how long, and how fast a fault becomes a ticket.",
    panels=(
        Panel(
            "Open tickets by priority",
            (q("sum by (priority) (campuswatch_tickets_open)", "{{priority}}"),),
            "stat",
            width=8,
            instant=True,
        ),
        Panel(
            "Time from fault to ticket (median over the range)",
            (
                q(
                    "histogram_quantile(0.5, sum by (le) "
                    "(increase(campuswatch_fault_to_ticket_seconds_bucket[$__range])))"
                ),
            ),
            "stat",
            unit="s",
            width=8,
            instant=True,
        ),
        Panel(
            "Time from fault to ticket (90th percentile over the range)",
            (
                q(
                    "histogram_quantile(0.9, sum by (le) "
                    "(increase(campuswatch_fault_to_ticket_seconds_bucket[$__range])))"
                ),
            ),
            "stat",
            unit="s",
            width=8,
            instant=True,
        ),
        Panel(
            "Open tickets over time",
            (q("sum by (priority) (campuswatch_tickets_open)", "{{priority}}"),),
            width=12,
        ),
        Panel(
            "Tickets opened per hour",
            (q("sum(rate(campuswatch_fault_to_ticket_seconds_count[$__rate_interval])) * 3600", "tickets"),),
            width=12,
        ),
        Panel(
            "Age of the oldest open ticket by school",
            (q("topk(15, time() - min by (school) (campuswatch_tickets_oldest_open_timestamp_seconds))"),),
            "table",
            unit="s",
            width=12,
            height=9,
            instant=True,
        ),
        Panel(
            "Open tickets by school",
            (q("topk(15, sum by (school) (campuswatch_tickets_open))"),),
            "table",
            width=12,
            height=9,
            instant=True,
        ),
    ),
)

AGENTS = Dashboard(
    uid="campuswatch-agents",
    title="campuswatch / Agents' health",
    description="The schools' agents and gateways, and the collector that hears them.",
    panels=(
        Panel("Agents up", (q("sum(campuswatch_agent_up)"),), "stat", width=6, instant=True),
        Panel(
            "Agents silent",
            (q("sum(campuswatch_agent_up == bool 0)"),),
            "stat",
            width=6,
            instant=True,
            thresholds=((0, "green"), (1, "red")),
        ),
        Panel(
            "Agent versions",
            (q("count by (version) (campuswatch_agent_info)", "{{version}}"),),
            "bargauge",
            width=12,
            instant=True,
        ),
        Panel(
            "Seconds since last report (longest)",
            (q("topk(15, time() - campuswatch_agent_last_report_timestamp_seconds)"),),
            "table",
            unit="s",
            width=12,
            instant=True,
        ),
        Panel(
            "Outbox backlog (largest)",
            (q("topk(10, campuswatch_agent_outbox_events)", "{{school}} {{agent}}"),),
            width=12,
        ),
        Panel(
            "Gateway CPU (busiest)",
            (q("topk(10, campuswatch_gateway_cpu_usage_ratio)", "{{school}}"),),
            unit="percentunit",
            width=8,
        ),
        Panel(
            "Gateway memory (fullest)",
            (q("topk(10, campuswatch_gateway_memory_usage_ratio)", "{{school}}"),),
            unit="percentunit",
            width=8,
        ),
        Panel(
            "Gateway disk (fullest)",
            (q("topk(10, campuswatch_gateway_disk_usage_ratio)", "{{school}}"),),
            unit="percentunit",
            width=8,
        ),
        Panel(
            "Reports answered per second",
            (q("sum by (code) (rate(campuswatch_collector_reports_total[$__rate_interval]))", "{{code}}"),),
            unit="reqps",
            width=8,
        ),
        Panel(
            "Events per second",
            (
                q(
                    "sum by (outcome) (rate(campuswatch_collector_events_total[$__rate_interval]))",
                    "{{outcome}}",
                ),
            ),
            width=8,
        ),
        Panel(
            "Collector scrape",
            (
                q('scrape_duration_seconds{job="campuswatch-collector"}', "duration {{instance}}"),
                q('scrape_samples_scraped{job="campuswatch-collector"} / 1e6', "million samples"),
            ),
            width=8,
        ),
    ),
)

IPADS = Dashboard(
    uid="campuswatch-ipads",
    title="campuswatch / iPads: uplink, DNS, DHCP, Wi-Fi, AirPlay",
    description="The school's network as the pupils' iPads see it, checked from each gateway, and the "
    "iPads themselves as the city's MDM knows them.",
    school="multi",
    panels=(
        Panel(
            "Uplink packet loss",
            (
                q(
                    f"max by (school, target) (campuswatch_uplink_packet_loss_ratio{{{SM}}})",
                    "{{school}} {{target}}",
                ),
            ),
            unit="percentunit",
            width=12,
            description="Echo requests lost on the way to the upstream gateway and a target beyond it.",
        ),
        Panel(
            "Uplink round trip",
            (q(f"campuswatch_uplink_rtt_seconds{{{SM}}}", "{{school}} {{target}}"),),
            unit="s",
            width=12,
        ),
        Panel(
            "DNS names answered",
            (q(f"min by (school) (campuswatch_dns_lookup_success_ratio{{{SM}}})", "{{school}}"),),
            "bargauge",
            unit="percentunit",
            width=8,
            instant=True,
            thresholds=((0, "red"), (0.99, "green")),
        ),
        Panel(
            "Services not answering",
            (q(f"campuswatch_service_up{{{SM}}} == 0"),),
            "table",
            width=8,
            instant=True,
            description="MDM, learning platform, content filter: no good HTTPS answer from the school.",
        ),
        Panel(
            "Certificates ending first (days)",
            (
                q(
                    f"bottomk(10, (campuswatch_service_certificate_expiry_timestamp_seconds{{{SM}}} - time()) / 86400)",
                    "{{school}} {{service}}",
                ),
            ),
            "bargauge",
            unit="suffix: days",
            width=8,
            instant=True,
            thresholds=((0, "red"), (7, "orange"), (21, "green")),
        ),
        Panel(
            "DHCP pools in use",
            (q(f"campuswatch:dhcp_pool_used:ratio{{{SM}}}", "{{school}} {{pool}}"),),
            "bargauge",
            unit="percentunit",
            width=12,
            instant=True,
            thresholds=((0, "green"), (0.8, "orange"), (0.9, "red")),
            description="Leased and declined addresses of each pool: at 100 % the next iPad gets none.",
        ),
        Panel(
            "Busiest Wi-Fi radios (clients)",
            (
                q(
                    f"topk(10, campuswatch_wifi_radio_clients{{{SM}}})",
                    "{{school}} {{device}} {{ap}} {{band}}",
                ),
            ),
            width=12,
        ),
        Panel(
            "Busiest Wi-Fi channels",
            (
                q(
                    f"topk(10, campuswatch_wifi_radio_channel_utilization_ratio{{{SM}}})",
                    "{{school}} {{device}} {{ap}} {{band}}",
                ),
            ),
            "bargauge",
            unit="percentunit",
            width=12,
            instant=True,
            thresholds=((0, "green"), (0.6, "orange"), (0.8, "red")),
        ),
        Panel(
            "Wi-Fi radios down",
            (q(f"campuswatch_wifi_radio_up{{{SM}}} == 0"),),
            "table",
            width=12,
            instant=True,
        ),
        Panel(
            "AirPlay receivers gone",
            (q(f"campuswatch_airplay_receiver_up{{{SM}}} == 0"),),
            "table",
            width=12,
            instant=True,
            description="Rooms whose receiver did not answer this round: 'Kein Bild' with an iPad.",
        ),
        Panel(
            "AirPlay receivers present",
            (q(f"sum by (school) (campuswatch_airplay_receiver_up{{{SM}}})", "{{school}}"),),
            width=12,
        ),
        Panel(
            "iPads by state",
            (q(f"campuswatch_ipads{{{SM}}}", "{{school}} {{state}}"),),
            "table",
            width=12,
            instant=True,
            description="From the city's MDM: not checked in for days, storage nearly full, iOS behind.",
        ),
        Panel(
            "iPads not checked in (share)",
            (q(f"campuswatch:ipads_not_checked_in:ratio{{{SM}}}", "{{school}}"),),
            "bargauge",
            unit="percentunit",
            width=12,
            instant=True,
            thresholds=((0, "green"), (0.1, "orange"), (0.25, "red")),
        ),
    ),
)

DASHBOARDS = (FLEET, SCHOOL, PRINTERS, NETWORK, TICKETS, AGENTS, IPADS)


def _layout(panels: tuple[Panel, ...]) -> Iterator[tuple[Panel, dict[str, int]]]:
    """Place panels left to right, wrapping at the grid's width."""
    x = y = row_height = 0
    for panel in panels:
        if x + panel.width > GRID_WIDTH:
            x, y, row_height = 0, y + row_height, 0
        yield panel, {"x": x, "y": y, "w": panel.width, "h": panel.height}
        x += panel.width
        row_height = max(row_height, panel.height)


#: What a series of one school links to: its dashboard, and its page on the collector (``$collector``).
SCHOOL_LINKS = [
    {"title": "School dashboard", "url": "/d/campuswatch-school?var-school=${__field.labels.school}"},
    {"title": "Collector page", "url": "${collector}/schools/${__field.labels.school}", "targetBlank": True},
]


def named(expr: str, legend: str) -> tuple[str, str]:
    """A query whose series are schools, joined with the school's name for a legend people read."""
    if "{{school}}" not in legend:
        return expr, legend
    return (
        f"({expr}) * on (school) group_left (name) campuswatch_school_info",
        legend.replace("{{school}}", "{{name}}"),
    )


def _panel_json(panel_id: int, panel: Panel, grid: dict[str, int]) -> dict[str, Any]:
    exprs = [named(expr, legend) for expr, legend in panel.exprs]
    per_school = any(legend != shown for (_, legend), (_, shown) in zip(panel.exprs, exprs, strict=True))
    targets = [
        {
            "datasource": DATASOURCE,
            "expr": expr,
            "legendFormat": legend or "__auto",
            "refId": chr(ord("A") + i),
            "instant": panel.instant,
            "range": not panel.instant,
            **({"format": "table"} if panel.kind == "table" else {}),
        }
        for i, (expr, legend) in enumerate(exprs)
    ]
    steps = [
        {"color": color, "value": None if i == 0 else value}
        for i, (value, color) in enumerate(panel.thresholds)
    ]
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": grid,
        "targets": targets,
        "fieldConfig": {
            "defaults": {
                "unit": panel.unit,
                **({"thresholds": {"mode": "absolute", "steps": steps}} if steps else {}),
                **({"links": SCHOOL_LINKS} if per_school else {}),
            },
            "overrides": [],
        },
        "options": {"reduceOptions": {"calcs": ["lastNotNull"]}}
        if panel.kind in ("stat", "bargauge")
        else {},
    }


def _templating(dashboard: Dashboard) -> list[dict[str, Any]]:
    variables: list[dict[str, Any]] = [
        {
            "name": "datasource",
            "label": "Prometheus",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
        }
    ]
    variables.append(
        {
            "name": "collector",
            "label": "Collector",
            "type": "textbox",
            "description": "The collector's address, for the links to its pages",
            "query": "http://127.0.0.1:8750",
            "current": {"text": "http://127.0.0.1:8750", "value": "http://127.0.0.1:8750"},
            "hide": 2,
        }
    )
    if dashboard.school is not None:
        multi = dashboard.school == "multi"
        managers = "query_result(campuswatch_school_info)"
        variables.append(
            {
                "name": "manager",
                "label": "Campus manager",
                "type": "query",
                "datasource": DATASOURCE,
                "definition": managers,
                "query": managers,
                # The series' labels are sorted: campus_manager (the id) comes before its name.
                "regex": '/campus_manager="(?<value>[^"]+)",\\s*campus_manager_name="(?<text>[^"]+)"/',
                "refresh": 2,
                "sort": 1,
                "multi": True,
                "includeAll": True,
                "allValue": ".*",
                "current": {"text": "All", "value": "$__all"},
                "hide": 0,
            }
        )
        definition = 'query_result(campuswatch_school_info{campus_manager=~"$manager"})'
        variables.append(
            {
                "name": "school",
                "label": "School",
                "type": "query",
                "datasource": DATASOURCE,
                "definition": definition,
                "query": definition,
                # Shown by name, chosen by id: `name` sorts before `school` in the series' labels (and is
                # not the end of `campus_manager_name`).
                "regex": '/[{,]\\s*name="(?<text>[^"]+)".*[{,]\\s*school="(?<value>[^"]+)"/',
                "refresh": 2,
                "sort": 1,
                "multi": multi,
                "includeAll": multi,
                # "All" becomes one regex over every school, not a list of thousands of alternatives.
                **({"allValue": ".*", "current": {"text": "All", "value": "$__all"}} if multi else {}),
                "hide": 0,
            }
        )
    return variables


def dashboard_json(dashboard: Dashboard) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model (schema 39, Grafana 10/11)."""
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": list(dashboard.tags),
        "editable": True,
        "schemaVersion": 39,
        "time": {"from": "now-24h", "to": "now"},
        "refresh": "1m",
        "timezone": "browser",
        "templating": {"list": _templating(dashboard)},
        "links": [
            {"type": "dashboards", "tags": ["campuswatch"], "asDropdown": True, "title": "campuswatch"},
            {
                "type": "link",
                "title": "Collector page",
                "url": "${collector}/schools/${school}" if dashboard.school == "single" else "${collector}/",
                "targetBlank": True,
            },
        ],
        "panels": [
            _panel_json(i, panel, grid) for i, (panel, grid) in enumerate(_layout(dashboard.panels), start=1)
        ],
    }


def render(dashboard: Dashboard) -> str:
    """The file's text: stable key order, so that a regenerated dashboard diffs cleanly."""
    return json.dumps(dashboard_json(dashboard), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Write every dashboard to ``grafana/dashboards/<uid>.json``."""
    DASHBOARDS_DIR.mkdir(exist_ok=True)
    for dashboard in DASHBOARDS:
        (DASHBOARDS_DIR / f"{dashboard.uid}.json").write_text(render(dashboard), encoding="utf-8")


if __name__ == "__main__":
    main()
