"""Network and findings collectors: registered networks, policy findings, waivers."""

from __future__ import annotations

import datetime
import pathlib

import pytest
import registries
from exporter_fixtures import TODAY, Isolated

from citycloud import policies, tenants
from citycloud.monitoring import findings, network_metrics


def network_collector(platform: tenants.Platform) -> network_metrics.NetworkCollector:
    return network_metrics.NetworkCollector(
        lambda: platform, report=lambda: policies.evaluate(platform, today=TODAY))


@pytest.mark.parametrize(("labels", "expected"), [
    # The Wuhan example's planted consolidation candidate: two departments, one purpose each.
    pytest.param({"department": "wh-shengtai", "purpose": "iot-sensors"}, 1, id="shengtai-iot"),
    pytest.param({"department": "wh-chengguan", "purpose": "iot-sensors"}, 1, id="chengguan-iot"),
    pytest.param({"department": "wh-gongan", "purpose": "video-surveillance"}, 1,
                 id="gongan-cameras"),
    pytest.param({"department": "wh-gongan", "purpose": "iot-sensors"}, None,
                 id="no-row-for-a-network-nobody-has"),
])
def test_private_networks_by_department_and_purpose(platform: tenants.Platform,
                                                    isolated: Isolated,
                                                    labels: dict[str, str],
                                                    expected: float | None) -> None:
    collected = isolated(network_collector(platform))
    assert collected.get_sample_value("citycloud_private_networks", labels) == expected


def test_addresses_and_info_of_a_registered_network(platform: tenants.Platform,
                                                    isolated: Isolated) -> None:
    collected = isolated(network_collector(platform))
    # wh-gongan-video asks for cameras 10.64.0.0/16
    assert collected.get_sample_value("citycloud_private_network_addresses", {
        "department": "wh-gongan", "purpose": "video-surveillance"}) == 65536
    assert collected.get_sample_value("citycloud_private_network_info", {
        "tenant": "wh-gongan-video", "department": "wh-gongan", "network": "cameras",
        "cidr": "10.64.0.0/16", "purpose": "video-surveillance",
        "sites": "hankou-hq,wuchang-branch,hanyang-branch"}) == 1
    assert collected.get_sample_value("citycloud_shared_network_info", {
        "network": "e-gov-extranet", "display_name": "电子政务外网", "cidrs": "10.0.0.0/12",
        "purposes": "e-government,office-automation"}) == 1


def test_network_findings_by_kind_on_the_wuhan_example(platform: tenants.Platform,
                                                       isolated: Isolated) -> None:
    collected = isolated(network_collector(platform))
    consolidation = collected.get_sample_value(
        "citycloud_network_findings", {"kind": "consolidation", "severity": "warning"})
    assert consolidation == 2  # one finding per iot-sensors network
    # Kinds that ran clean are there, as zero: "no duplicates" is a value, not a gap.
    assert collected.get_sample_value(
        "citycloud_network_findings", {"kind": "overlap-private", "severity": "error"}) == 0


def test_an_overlapping_network_shows_as_a_finding(registry_copy: pathlib.Path,
                                                   isolated: Isolated) -> None:
    registries.put(registry_copy, registries.tenant(
        "wh-shuiwu-rogue", description=None, cpu=4, memory="8Gi", storage="100Gi",
        networks=[{"name": "copy", "cidr": "10.64.8.0/24", "purpose": "river-cameras"}],
        clusters=["wh-gov-hankou"]))
    platform = tenants.load(registry_copy)
    collected = isolated(network_collector(platform))
    assert collected.get_sample_value(
        "citycloud_network_findings", {"kind": "overlap-private", "severity": "error"}) >= 1


@pytest.fixture
def waived(registry_copy: pathlib.Path) -> tenants.Platform:
    day = datetime.timedelta(days=1)
    registries.put(registry_copy, registries.waiver_list(
        registries.waiver("network.consolidation", tenant="wh-chengguan-iot",
                          expires=TODAY + 10 * day,
                          reason="sensors move to the shared IoT network in the 2027 budget",
                          approver="wh-zwfw-architecture-board"),
        registries.waiver("network.consolidation", tenant="wh-shengtai-monitor",
                          expires=TODAY - 3 * day,
                          reason="monitoring stations migrate after the pilot ends",
                          approver="wh-zwfw-architecture-board"),
        registries.waiver("security.image-registries", tenant="wh-zwfw-portal",
                          expires=TODAY + 90 * day,
                          reason="vendor images are mirrored by the end of next quarter",
                          approver="wh-zwfw-security-office")))
    return tenants.load(registry_copy)


def test_waivers_by_state_and_expiring_within_30_days(waived: tenants.Platform,
                                                      isolated: Isolated) -> None:
    collected = isolated(findings.FindingsCollector(
        findings.Evaluator(lambda: waived, today=lambda: TODAY)))
    assert collected.get_sample_value("citycloud_waivers", {"state": "active"}) == 2
    assert collected.get_sample_value("citycloud_waivers", {"state": "expired"}) == 1
    assert collected.get_sample_value("citycloud_waivers_expiring") == 1
    end = datetime.datetime.combine(TODAY + datetime.timedelta(days=11), datetime.time())
    assert collected.get_sample_value("citycloud_waiver_expiry_timestamp_seconds", {
        "policy": "network.consolidation", "tenant": "wh-chengguan-iot"}) == end.timestamp()


def test_findings_by_policy_and_severity_with_waivers_applied(waived: tenants.Platform,
                                                              isolated: Isolated) -> None:
    collected = isolated(findings.FindingsCollector(
        findings.Evaluator(lambda: waived, today=lambda: TODAY)))
    consolidation = {"policy": "network.consolidation", "set": "network"}
    # chengguan's finding is waived; shengtai's waiver expired, so its finding stands.
    assert collected.get_sample_value("citycloud_policy_findings_waived", consolidation) == 1
    assert collected.get_sample_value("citycloud_policy_findings",
                                      {**consolidation, "severity": "warning"}) == 1
    assert collected.get_sample_value("citycloud_policy_findings", {
        "policy": "engine.waiver-expired", "set": "engine", "severity": "warning"}) == 1
    assert collected.get_sample_value("citycloud_policy_findings", {
        "policy": "security.pod-security", "set": "security", "severity": "error"}) == 0


def test_a_waiver_expires_when_the_day_passes_without_a_reload(waived: tenants.Platform,
                                                               isolated: Isolated) -> None:
    day = [TODAY]
    collected = isolated(findings.FindingsCollector(
        findings.Evaluator(lambda: waived, today=lambda: day[0])))
    assert collected.get_sample_value("citycloud_waivers", {"state": "expired"}) == 1
    day[0] = TODAY + datetime.timedelta(days=11)
    assert collected.get_sample_value("citycloud_waivers", {"state": "expired"}) == 2
    assert collected.get_sample_value("citycloud_policy_findings_waived", {
        "policy": "network.consolidation", "set": "network"}) is None


def test_policies_run_once_per_registry_version(platform: tenants.Platform) -> None:
    evaluator = findings.Evaluator(lambda: platform, today=lambda: TODAY)
    assert evaluator.report() is evaluator.report()
