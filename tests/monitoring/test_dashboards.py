"""Grafana dashboards and rules ask only for metrics that exist.

Metric names are read out of every PromQL expression with a small scanner
(strings, label matchers, ranges, grouping lists and Grafana variables removed;
function names and keywords dropped) and must be ones the exporter serves on
the Wuhan example or the rules record. A renamed metric fails here, not on a
blank panel in production.
"""

from __future__ import annotations

import itertools
import json
import pathlib
import re
from typing import Any

import pytest
import yaml
from exporter_fixtures import TODAY, every_cluster, recorded_snapshot

from citycloud.monitoring import exporter

MONITORING = pathlib.Path(__file__).resolve().parents[2] / "monitoring"
DASHBOARDS = sorted((MONITORING / "dashboards").glob("*.json"))
RULE_FILES = sorted((MONITORING / "rules").glob("*.yaml"))
PROVISIONING = MONITORING / "dashboards" / "provisioning"
PROMETHEUS_OWN = {"up", "ALERTS"}  # series Prometheus itself makes
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan", "Inf", "NaN"}

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_VARIABLES = re.compile(r"\$\{[^}]*\}|\$\w+")
_IDENTIFIER = re.compile(r"(?<![\w.:])[a-zA-Z_:][a-zA-Z0-9_:]*(?![\w:])(\s*\()?")


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects."""
    text = _VARIABLES.sub(" ", expr)
    text = _STRINGS.sub('""', text)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        if match.group(1):  # followed by "(": a function or an aggregation
            continue
        name = match.group(0).strip()
        if name not in KEYWORDS and not re.fullmatch(r"\d", name):
            names.add(name)
    return names


@pytest.mark.parametrize(("expr", "expected"), [
    pytest.param('sum by (department) (citycloud_department_quota_cpu_cores{pool=~"$pool"})',
                 {"citycloud_department_quota_cpu_cores"}, id="grouping-and-variable"),
    pytest.param('predict_linear(citycloud_pool_allocation_ratio[7d], 30 * 86400) > 1',
                 {"citycloud_pool_allocation_ratio"}, id="range-and-numbers"),
    pytest.param('a > ignoring(pool, resource) group_left() b_ratio or absent(up{job="x"})',
                 {"a", "b_ratio", "up"}, id="vector-matching"),
    pytest.param('label_replace(x:y:z / (c > 0), "resource", "cpu", "", "")',
                 {"x:y:z", "c"}, id="recorded-name-and-strings"),
    pytest.param('count(ALERTS{alertname=~"Citycloud.*"}) or vector(0)', {"ALERTS"},
                 id="alerts-series"),
    pytest.param("topk(20, citycloud:tenant_quota_usage:ratio > 0.9 < 1e3)",
                 {"citycloud:tenant_quota_usage:ratio"}, id="scientific-number"),
])
def test_the_scanner(expr: str, expected: set[str]) -> None:
    assert metric_names(expr) == expected


@pytest.fixture(scope="module")
def known_names(wuhan: pathlib.Path) -> set[str]:
    """What the exporter serves on the Wuhan example, with a cluster, plus recorded rules."""
    built = exporter.build(wuhan, connect=every_cluster(recorded_snapshot), today=lambda: TODAY)
    served = set(re.findall(r"^# TYPE (\S+) ", built.render().decode(), re.M))
    recorded = {rule["record"] for path in RULE_FILES
                for group in yaml.safe_load(path.read_text())["groups"]
                for rule in group["rules"] if "record" in rule}
    return served | recorded | PROMETHEUS_OWN


def load(path: pathlib.Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))  # collapsed rows keep their panels inside
    return found


def expressions(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in panels(dashboard) for t in p.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"]
            # Grafana's label_values(metric, label): the label is not a metric.
            match = re.fullmatch(r"label_values\((.*),\s*\w+\)", query)
            exprs.append(match.group(1) if match else query)
    return exprs


def test_three_dashboards_with_distinct_uids() -> None:
    uids = [load(path)["uid"] for path in DASHBOARDS]
    assert {p.stem for p in DASHBOARDS} == {"pool-capacity", "tenant-quotas", "private-networks"}
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.stem for p in DASHBOARDS])
def test_dashboard_structure(path: pathlib.Path) -> None:
    dashboard = load(path)
    assert re.fullmatch(r"[a-z0-9-]{1,40}", dashboard["uid"])
    assert dashboard["title"].startswith("citycloud / ")
    assert isinstance(dashboard["schemaVersion"], int)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in panels(dashboard)]
    assert len(set(ids)) == len(ids)
    boxes = []
    for panel in panels(dashboard):
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["w"] > 0 and grid["h"] > 0, panel["title"]
        boxes.append((grid["x"], grid["y"], grid["w"], grid["h"], panel["title"]))
        if panel["type"] == "row":
            continue
        assert panel["title"] and panel["targets"], panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(set(ref_ids)) == len(ref_ids), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"] == panel["datasource"], panel["title"]
    for a, b in itertools.combinations(boxes, 2):
        overlap = (a[0] < b[0] + b[2] and b[0] < a[0] + a[2]
                   and a[1] < b[1] + b[3] and b[1] < a[1] + a[3])
        assert not overlap, f"panels {a[4]!r} and {b[4]!r} overlap"


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.stem for p in DASHBOARDS])
def test_dashboard_queries_use_only_metrics_that_exist(path: pathlib.Path,
                                                       known_names: set[str]) -> None:
    exprs = expressions(load(path))
    assert exprs
    for expr in exprs:
        names = metric_names(expr)
        assert names, f"no metric in {expr!r}"
        assert names <= known_names, f"{sorted(names - known_names)} in {expr!r}"


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.name for p in RULE_FILES])
def test_rules_use_only_metrics_that_exist(path: pathlib.Path, known_names: set[str]) -> None:
    for group in yaml.safe_load(path.read_text())["groups"]:
        for rule in group["rules"]:
            names = metric_names(rule["expr"])
            assert names <= known_names, f"{sorted(names - known_names)} in {rule['expr']!r}"


def test_provisioning_points_at_the_dashboards_data_source() -> None:
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "citycloud.yaml").read_text())
    sources = yaml.safe_load((PROVISIONING / "datasources" / "citycloud.yaml").read_text())
    assert providers["apiVersion"] == 1 and sources["apiVersion"] == 1
    assert [p["type"] for p in providers["providers"]] == ["file"]
    assert providers["providers"][0]["options"]["path"]
    (source,) = sources["datasources"]
    assert source["type"] == "prometheus"
    for path in DASHBOARDS:
        variable = next(v for v in load(path)["templating"]["list"] if v["name"] == "datasource")
        assert variable["current"]["value"] == source["uid"], path.name
