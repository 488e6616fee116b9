"""The committed dashboards are what grafana/generate.py writes, and a Grafana can provision them as
they are: unique uids and panel ids, every panel and query on the datasource variable, every file named
by its uid under the provisioned path. (That each query returns data: tests/test_prometheus_fleet.py.)"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from sim.prometheus import REPO

GRAFANA = REPO / "grafana"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("grafana_generate", GRAFANA / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up while the class is being built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def dashboards() -> dict[Path, dict[str, Any]]:
    return {
        p: json.loads(p.read_text(encoding="utf-8")) for p in sorted((GRAFANA / "dashboards").glob("*.json"))
    }


def test_the_committed_json_is_what_the_generator_writes() -> None:
    gen = generator()
    expected = {f"{d.uid}.json": gen.render(d) for d in gen.DASHBOARDS}
    committed = {p.name: p.read_text(encoding="utf-8") for p in (GRAFANA / "dashboards").glob("*.json")}
    assert committed == expected, "run .venv/bin/python grafana/generate.py and commit the result"


def test_the_dashboards_the_helpdesk_needs() -> None:
    titles = {d["uid"]: d["title"] for d in dashboards().values()}
    assert set(titles) == {
        "campuswatch-fleet",
        "campuswatch-school",
        "campuswatch-printers",
        "campuswatch-network",
        "campuswatch-tickets",
        "campuswatch-agents",
        "campuswatch-ipads",
    }


def test_uids_are_unique_and_name_the_files() -> None:
    found = dashboards()
    assert len({d["uid"] for d in found.values()}) == len(found)
    assert all(path.stem == d["uid"] and len(d["uid"]) <= 40 for path, d in found.items())


@pytest.mark.parametrize("path", sorted((GRAFANA / "dashboards").glob("*.json")), ids=lambda p: p.stem)
def test_every_panel_and_query_uses_the_datasource_variable(path: Path) -> None:
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert (
        variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    )
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(set(ids)) == len(ids)
    for panel in dashboard["panels"]:
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        assert all(t["datasource"] == DATASOURCE and t["expr"] for t in panel["targets"]), panel["title"]
        assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"])
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24
    uses_school = any("$school" in t["expr"] for p in dashboard["panels"] for t in p["targets"])
    assert uses_school == ("school" in variables), "a $school query needs the variable, and vice versa"
    if "school" in variables:
        assert variables["school"]["datasource"] == DATASOURCE


def test_the_school_dashboard_picks_one_school() -> None:
    school = dashboards()[GRAFANA / "dashboards" / "campuswatch-school.json"]
    (variable,) = [v for v in school["templating"]["list"] if v["name"] == "school"]
    assert variable["multi"] is False and variable["includeAll"] is False
    # Schools of the campus managers chosen, shown by name and chosen by id.
    assert variable["definition"] == 'query_result(campuswatch_school_info{campus_manager=~"$manager"})'
    series = 'campuswatch_school_info{campus_manager="cm-nord",campus_manager_name="Anna Schmidt",instance="c:8750",name="Bert-Brecht-Gymnasium",school="bbg"} 1 1700000000000'
    found = re.search(variable["regex"].strip("/").replace("?<", "?P<"), series)
    assert found and found["text"] == "Bert-Brecht-Gymnasium" and found["value"] == "bbg"
    (manager,) = [v for v in school["templating"]["list"] if v["name"] == "manager"]
    found = re.search(manager["regex"].strip("/").replace("?<", "?P<"), series.replace('",', '", '))
    assert found and found["text"] == "Anna Schmidt" and found["value"] == "cm-nord"
    assert manager["multi"] and manager["allValue"] == ".*"
    links = {link["title"]: link for link in school["links"]}
    assert links["Collector page"]["url"] == "${collector}/schools/${school}"


def test_series_of_schools_are_named_and_link_to_the_school() -> None:
    fleet = dashboards()[GRAFANA / "dashboards" / "campuswatch-fleet.json"]
    (tickets,) = [p for p in fleet["panels"] if p["title"] == "Schools with the most open tickets"]
    (target,) = tickets["targets"]
    assert target["legendFormat"] == "{{name}}"
    assert target["expr"].endswith("* on (school) group_left (name) campuswatch_school_info")
    urls = [link["url"] for link in tickets["fieldConfig"]["defaults"]["links"]]
    assert urls == [
        "/d/campuswatch-school?var-school=${__field.labels.school}",
        "${collector}/schools/${__field.labels.school}",
    ]


def test_provisioning_points_grafana_at_prometheus_and_the_dashboards() -> None:
    datasources = yaml.safe_load(
        (GRAFANA / "provisioning/datasources/campuswatch.yaml").read_text(encoding="utf-8")
    )
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus" and source["isDefault"] is True
    prometheus = yaml.safe_load((REPO / "configs/prometheus.yml").read_text(encoding="utf-8"))
    assert source["jsonData"]["timeInterval"] == prometheus["global"]["scrape_interval"]
    providers = yaml.safe_load(
        (GRAFANA / "provisioning/dashboards/campuswatch.yaml").read_text(encoding="utf-8")
    )
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"].startswith("/")
    assert datasources["apiVersion"] == providers["apiVersion"] == 1
