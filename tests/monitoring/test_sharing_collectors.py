"""Shared-service collector: grants, requests by standing, the catalogue and its duplicates,
on the small city of tests/sharing_city.py (and served by the exporter on the Wuhan example)."""

from __future__ import annotations

import pathlib

import pytest
import registries
import sharing_city
from exporter_fixtures import Isolated
from prometheus_client import registry

from citycloud import tenants
from citycloud.monitoring import exporter, sharing_metrics


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tenants.Platform:
    return sharing_city.make(tmp_path_factory.mktemp("sharing") / "city")


@pytest.fixture
def collected(city: tenants.Platform, isolated: Isolated) -> registry.CollectorRegistry:
    return isolated(sharing_metrics.SharingCollector(lambda: city))


@pytest.mark.parametrize(("tenant", "department", "service", "kind", "expected"), [
    pytest.param("wh-dsj-auth", "wh-dsj", "sso", "identity", 1, id="catalogue-identity"),
    pytest.param("wh-dsj-exchange", "wh-dsj", "exchange", "data-exchange", 1, id="by-pool"),
    pytest.param("wh-gongan-idp", "wh-gongan", "login", "identity", 1,
                 id="refused-requests-do-not-count"),
    pytest.param("wh-jiaotong-sso", "wh-jiaotong", "sso", "identity", 0, id="nobody-yet"),
    pytest.param("wh-zwfw-oa", "wh-zwfw", "oa", "office-automation", 0, id="zero-not-a-gap"),
])
def test_grants_per_published_service(collected: registry.CollectorRegistry, tenant: str,
                                      department: str, service: str, kind: str,
                                      expected: int) -> None:
    assert collected.get_sample_value("citycloud_service_grants", {
        "tenant": tenant, "department": department, "service": service, "kind": kind,
    }) == expected


@pytest.mark.parametrize(("status", "expected"), [
    ("granted", sharing_city.GRANTED), ("not-in-audience", 1), ("unknown-service", 1),
    ("unknown-tenant", 1)])
def test_requests_by_status(collected: registry.CollectorRegistry, status: str,
                            expected: int) -> None:
    assert collected.get_sample_value("citycloud_service_requests",
                                      {"status": status}) == expected


def test_catalogue_and_its_duplicates(collected: registry.CollectorRegistry) -> None:
    value = collected.get_sample_value
    assert value("citycloud_shared_service_info", {
        "kind": "identity", "display_name": "统一身份认证", "tenant": "wh-dsj-auth",
        "service": "sso"}) == 1
    assert value("citycloud_shared_service_info", {
        "kind": "office-automation", "display_name": "", "tenant": "wh-zwfw-oa",
        "service": "oa"}) == 1
    assert [value("citycloud_shared_service_consumers", {"kind": k})
            for k in ("identity", "data-exchange", "office-automation")] == [1, 1, 0]
    # wh-gongan-idp and wh-jiaotong-sso run identity systems of their own; nobody else does.
    assert [value("citycloud_duplicate_systems", {"kind": k})
            for k in ("identity", "data-exchange", "office-automation")] == [2, 0, 0]
    assert value("citycloud_duplicate_system_departments", {"kind": "identity"}) == 2
    assert value("citycloud_duplicate_system_quota_cpu_cores", {"kind": "identity"}) == 16 + 8
    assert value("citycloud_duplicate_system_quota_memory_bytes",
                 {"kind": "identity"}) == (64 + 16) * 2**30
    assert value("citycloud_duplicate_system_quota_storage_bytes",
                 {"kind": "identity"}) == 2**40 + 100 * 2**30
    assert value("citycloud_duplicate_system_quota_cpu_cores", {"kind": "gis"}) is None


def test_a_registry_without_sharing_serves_the_families_empty(
        tmp_path: pathlib.Path, isolated: Isolated) -> None:
    plain = registries.make(tmp_path / "plain", registries.tenant("wh-a-app"))
    collected = isolated(sharing_metrics.SharingCollector(lambda: plain))
    assert collected.get_sample_value("citycloud_service_requests", {"status": "granted"}) == 0
    assert collected.get_sample_value("citycloud_duplicate_systems", {"kind": "identity"}) is None


def test_the_exporter_serves_them(city: tenants.Platform) -> None:
    built = exporter.build(city.root, connect=None)
    text = built.render().decode()
    assert 'citycloud_scrape_collector_success{collector="sharing"} 1.0' in text
    assert ('citycloud_service_grants{department="wh-dsj",kind="identity",service="sso",'
            'tenant="wh-dsj-auth"} 1.0') in text
    assert 'citycloud_duplicate_systems{kind="identity"} 2.0' in text
    assert "# HELP citycloud_service_requests Requests for other tenants' services" in text
