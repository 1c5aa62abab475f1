"""Prometheus rules: `promtool check rules` and `promtool test rules`, run by pytest.

promtool is Debian's (package prometheus, 2.42); `.ci/run` installs it. Only
outside CI, on a machine without it, are these tests skipped — and they say why.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
from typing import Any

import pytest
import realparts
import yaml

RULES = pathlib.Path(__file__).resolve().parents[2] / "monitoring" / "rules"
RULE_FILES = sorted(RULES.glob("*.yaml"))
TEST_FILES = sorted((RULES / "tests").glob("*.yaml"))
PROMTOOL = shutil.which("promtool")
SEVERITIES = {"critical", "warning", "info"}

def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if PROMTOOL is None:
        realparts.unavailable("promtool is not installed",
                              how="apt-get install prometheus (.ci/run does)")
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=300,
                          cwd=RULES, check=False)


def rules_in(path: pathlib.Path) -> list[dict[str, Any]]:
    document = yaml.safe_load(path.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.name for p in RULE_FILES])
def test_promtool_check_rules(path: pathlib.Path) -> None:
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("path", TEST_FILES, ids=[p.name for p in TEST_FILES])
def test_promtool_test_rules(path: pathlib.Path) -> None:
    result = promtool("test", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_test_where_it_fires() -> None:
    alerts = {rule["alert"] for path in RULE_FILES for rule in rules_in(path) if "alert" in rule}
    firing: set[str] = set()
    for path in TEST_FILES:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                if check.get("exp_alerts"):
                    firing.add(check["alertname"])
    assert alerts, "no alerts found"
    assert alerts - firing == set()


def test_every_recording_rule_is_tested_or_used_by_an_alert() -> None:
    rules = [rule for path in RULE_FILES for rule in rules_in(path)]
    recorded = {rule["record"] for rule in rules if "record" in rule}
    tested = "\n".join(path.read_text() for path in TEST_FILES)
    alert_exprs = "\n".join(rule["expr"] for rule in rules if "alert" in rule)
    untested = {name for name in recorded if name not in tested and name not in alert_exprs}
    assert untested == set()


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.name for p in RULE_FILES])
def test_alerts_say_how_bad_and_what_to_do(path: pathlib.Path) -> None:
    for rule in rules_in(path):
        if "alert" not in rule:
            assert rule["record"].startswith("citycloud:"), rule["record"]  # level:metric:ops
            continue
        assert rule["alert"].startswith("Citycloud"), rule["alert"]
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]
