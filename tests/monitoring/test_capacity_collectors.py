"""Pool, tenant and department collectors: the registry's figures, in Prometheus base units."""

from __future__ import annotations

from fractions import Fraction

import prometheus_client
import pytest
from exporter_fixtures import Isolated

from citycloud import tenants
from citycloud.monitoring import pool_metrics
from citycloud.tenants import allocation

GIB, TIB = 2**30, 2**40


@pytest.mark.parametrize(("name", "labels", "expected"), [
    # platform.yaml: gov has 27000 cores, 90400Gi, 6054Ti; overcommit cpu 2, memory 1, storage 1
    pytest.param("citycloud_pool_physical_cpu_cores", {"pool": "gov"}, 27000, id="physical-cpu"),
    pytest.param("citycloud_pool_physical_memory_bytes", {"pool": "gov"}, 90400 * GIB,
                 id="physical-memory-bytes"),
    pytest.param("citycloud_pool_physical_storage_bytes", {"pool": "gov"}, 6054 * TIB,
                 id="physical-storage-bytes"),
    pytest.param("citycloud_pool_allocatable_cpu_cores", {"pool": "gov"}, 54000,
                 id="allocatable-is-physical-times-overcommit"),
    # industry: 79100Gi x 1.5 — exact, not 1.5 as a binary float
    pytest.param("citycloud_pool_allocatable_memory_bytes", {"pool": "industry"},
                 float(Fraction(79100 * GIB) * Fraction("1.5")), id="overcommit-1.5-exact"),
    # platform.yaml policies.capacity.poolWarning: 0.8 (the default would be 0.85)
    pytest.param("citycloud_pool_allocation_warning_ratio", {}, 0.8,
                 id="warning-threshold-from-platform-settings"),
])
def test_pool_figures_from_the_registry(platform: tenants.Platform, isolated: Isolated,
                                        name: str, labels: dict[str, str],
                                        expected: float) -> None:
    collected = isolated(pool_metrics.PoolCollector(lambda: platform))
    assert collected.get_sample_value(name, labels) == expected


def test_pool_figures_equal_tenants_capacity_for_every_pool_and_resource(
        platform: tenants.Platform, isolated: Isolated) -> None:
    collected = isolated(pool_metrics.PoolCollector(lambda: platform))
    units = {"cpu": "cpu_cores", "memory": "memory_bytes", "storage": "storage_bytes"}
    for pool in allocation.report(platform):
        labels = {"pool": pool.pool.name}
        assert collected.get_sample_value("citycloud_pool_tenants", labels) == pool.tenants
        assert collected.get_sample_value("citycloud_pool_departments", labels) == pool.departments
        for resource, usage in pool.usage.items():
            unit = units[resource]
            for measure in ("physical", "allocatable", "allocated", "headroom"):
                got = collected.get_sample_value(f"citycloud_pool_{measure}_{unit}", labels)
                assert got == float(getattr(usage, measure)), (pool.pool.name, resource, measure)
            ratio = collected.get_sample_value("citycloud_pool_allocation_ratio",
                                               {**labels, "resource": resource})
            assert ratio == usage.ratio
            assert 0 <= ratio <= 1


def test_wuhan_gov_pool_numbers_a_person_can_check(platform: tenants.Platform,
                                                   isolated: Isolated) -> None:
    collected = isolated(pool_metrics.PoolCollector(lambda: platform))
    # A disaster-recovery tenant holds its quota at both sites.
    allocated = sum(t.spec.quota.cpu.value * len(platform.placements(t))
                    for t in platform.tenants_in("gov"))
    assert collected.get_sample_value("citycloud_pool_allocated_cpu_cores",
                                      {"pool": "gov"}) == float(allocated)
    assert collected.get_sample_value("citycloud_pool_headroom_cpu_cores",
                                      {"pool": "gov"}) == 54000 - float(allocated)
    assert collected.get_sample_value("citycloud_pool_tenants", {"pool": "gov"}) == len(
        platform.tenants_in("gov"))


def test_tenant_quota_as_granted_in_its_file(platform: tenants.Platform,
                                             isolated: Isolated) -> None:
    collected = isolated(pool_metrics.TenantCollector(lambda: platform))
    labels = {"tenant": "wh-gongan-video", "department": "wh-gongan", "pool": "gov"}
    # tenants/wh-gongan/wh-gongan-video.yaml: quota {cpu: 256, memory: 1Ti, storage: 200Ti}
    assert collected.get_sample_value("citycloud_tenant_quota_cpu_cores", labels) == 256
    assert collected.get_sample_value("citycloud_tenant_quota_memory_bytes", labels) == TIB
    assert collected.get_sample_value("citycloud_tenant_quota_storage_bytes", labels) == 200 * TIB
    assert collected.get_sample_value("citycloud_tenant_info", {
        **labels, "classification": "3", "namespaces": "2"}) == 1


def test_every_tenant_has_one_series_per_resource(platform: tenants.Platform,
                                                  isolated: Isolated) -> None:
    collected = isolated(pool_metrics.TenantCollector(lambda: platform))
    families = {m.name: m for m in collected.collect()}
    for name in ("citycloud_tenant_quota_cpu_cores", "citycloud_tenant_quota_memory_bytes",
                 "citycloud_tenant_quota_storage_bytes", "citycloud_tenant_info"):
        tenants_seen = [s.labels["tenant"] for s in families[name].samples]
        assert sorted(tenants_seen) == sorted(platform.tenants), name


def test_department_totals_add_up_to_the_pool(platform: tenants.Platform,
                                              isolated: Isolated) -> None:
    collected = isolated(pool_metrics.DepartmentCollector(lambda: platform),
                         pool_metrics.PoolCollector(lambda: platform))
    for pool in platform.pools:
        total = sum(s.value for m in collected.collect()
                    if m.name == "citycloud_department_quota_cpu_cores"
                    for s in m.samples if s.labels["pool"] == pool)
        assert total == collected.get_sample_value("citycloud_pool_allocated_cpu_cores",
                                                   {"pool": pool})


def test_department_for_chargeback(platform: tenants.Platform, isolated: Isolated) -> None:
    collected = isolated(pool_metrics.DepartmentCollector(lambda: platform))
    gongan = [t for t in platform.tenants.values()
              if t.department == "wh-gongan" and t.spec.pool == "gov"]
    labels = {"department": "wh-gongan", "pool": "gov"}
    assert collected.get_sample_value("citycloud_department_tenants", labels) == len(gongan)
    assert collected.get_sample_value("citycloud_department_quota_storage_bytes", labels) == float(
        sum(t.spec.quota.storage.value for t in gongan))
    department = platform.departments["wh-gongan"]
    assert collected.get_sample_value("citycloud_department_info", {
        "department": "wh-gongan", "name": department.name, "level": department.level.value,
        "cost_centre": department.cost_centre}) == 1


def test_each_scrape_gets_new_metric_objects(platform: tenants.Platform) -> None:
    collector = pool_metrics.PoolCollector(lambda: platform)
    first, second = list(collector.collect()), list(collector.collect())
    assert [m.name for m in first] == [m.name for m in second]
    assert not {id(m) for m in first} & {id(m) for m in second}


def test_nothing_lands_in_prometheus_clients_global_registry(platform: tenants.Platform) -> None:
    pool_metrics.PoolCollector(lambda: platform).families()
    names = {m.name for m in prometheus_client.REGISTRY.collect()}
    assert not any(name.startswith("citycloud") for name in names)
