"""The exporter put together: reloads, a failing cluster or collector, the text it serves."""

from __future__ import annotations

import os
import pathlib
import re

import pytest
from exporter_fixtures import TODAY, every_cluster, recorded_snapshot
from prometheus_client import exposition, parser

from citycloud.monitoring import _families, cluster, exporter, sources
from citycloud.tenants import kubeapi

TENANT = pathlib.Path("tenants") / "wh-gongan" / "wh-gongan-video.yaml"
VIDEO = {"tenant": "wh-gongan-video", "department": "wh-gongan", "pool": "gov"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def edit(path: pathlib.Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    stat = path.stat()  # a new mtime even on filesystems with coarse timestamps
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_a_merged_change_shows_without_a_restart(registry_copy: pathlib.Path) -> None:
    clock = Clock()
    source = sources.RegistrySource(registry_copy, recheck=1.0, clock=clock)
    before = source.refresh().platform
    edit(registry_copy / TENANT, "cpu: 256", "cpu: 300")
    assert source.refresh().platform is before  # checked at most once a second
    assert source.get().platform is before  # get() never checks: one version per scrape
    clock.now += 1.5
    state = source.refresh()
    assert state.up and state.reloads == 2 and state.loaded_at == clock.now
    assert state.platform.tenants["wh-gongan-video"].spec.quota.cpu.value == 300
    clock.now += 1.5
    assert source.refresh().platform is state.platform  # unchanged files: no reload


def test_an_invalid_change_keeps_serving_the_last_valid_registry(
        registry_copy: pathlib.Path) -> None:
    clock = Clock()
    source = sources.RegistrySource(registry_copy, clock=clock)
    valid = source.refresh().platform
    edit(registry_copy / TENANT, "cpu: 256", "cpu: lots")
    clock.now += 2
    state = source.refresh()
    assert not state.up and state.problems == 1 and state.platform is valid
    edit(registry_copy / TENANT, "cpu: lots", "cpu: 128")
    clock.now += 2
    state = source.refresh()
    assert state.up and state.problems == 0
    assert state.platform.tenants["wh-gongan-video"].spec.quota.cpu.value == 128


def test_a_new_tenant_file_counts_as_a_change(registry_copy: pathlib.Path) -> None:
    clock = Clock()
    source = sources.RegistrySource(registry_copy, clock=clock)
    copy = registry_copy / "tenants" / "wh-gongan" / "wh-gongan-video2.yaml"
    copy.write_text((registry_copy / TENANT).read_text()
                    .replace("name: wh-gongan-video", "name: wh-gongan-video2")
                    .replace("10.64.0.0/16", "10.66.0.0/16")
                    .replace("video.gongan.wuhan.gov.cn", "video2.gongan.wuhan.gov.cn"))
    (registry_copy / ".git").mkdir()
    (registry_copy / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    clock.now += 2
    assert "wh-gongan-video2" in source.refresh().platform.tenants


class Reader:
    def __init__(self) -> None:
        self.calls = 0
        self.fail: Exception | None = None

    def __call__(self) -> cluster.Snapshot:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        return recorded_snapshot(read_at=float(self.calls))


def test_cluster_reads_are_shared_within_the_interval() -> None:
    reader, clock = Reader(), Clock()
    source = sources.ClusterSource(reader, min_interval=5.0, clock=clock)
    first = source.get()
    clock.now += 4
    assert source.get() is first and reader.calls == 1
    clock.now += 1
    assert source.get().snapshot is not None and reader.calls == 2


@pytest.mark.parametrize("failure", [
    pytest.param(kubeapi.ClusterError("cannot reach the API server: refused"), id="cluster-error"),
    pytest.param(RuntimeError("a bug in the client"), id="anything-else"),
])
def test_a_failed_read_is_state_not_an_exception(failure: Exception) -> None:
    reader, clock = Reader(), Clock()
    source = sources.ClusterSource(reader, min_interval=0, clock=clock)
    assert source.get().up
    reader.fail = failure
    state = source.get()
    assert not state.up and state.snapshot is None and state.errors == 1
    assert state.last_success == 1.0
    assert str(failure) in state.error


def build(root: pathlib.Path, reader: cluster.Reader | None, *,
          cluster_interval: float = 0) -> exporter.Exporter:
    """An exporter of `root` whose every cluster `reader` reads."""
    return exporter.build(root, connect=None if reader is None else every_cluster(reader),
                          today=lambda: TODAY, cluster_interval=cluster_interval)


def test_unreachable_cluster_still_serves_the_registry(one_cluster: pathlib.Path) -> None:
    reader = Reader()
    reader.fail = kubeapi.ClusterError("cannot reach the API server: connection refused")
    built = build(one_cluster, reader)
    collected = built.registry
    assert collected.get_sample_value("citycloud_cluster_up") == 0
    assert collected.get_sample_value("citycloud_up") == 1
    assert collected.get_sample_value("citycloud_pool_physical_cpu_cores", {"pool": "gov"}) == 27000
    assert collected.get_sample_value("citycloud_tenant_quota_used_cpu_cores", VIDEO) is None


def test_a_registry_broken_on_disk_says_so_and_serves_the_last_valid_figures(
        registry_copy: pathlib.Path) -> None:
    built = exporter.build(registry_copy, connect=None, today=lambda: TODAY, recheck=0)
    edit(registry_copy / TENANT, "cpu: 256", "cpu: -1")
    collected = built.registry
    assert collected.get_sample_value("citycloud_up") == 0
    assert collected.get_sample_value("citycloud_registry_problems") == 1
    assert collected.get_sample_value("citycloud_tenant_quota_cpu_cores", VIDEO) == 256
    assert collected.get_sample_value("citycloud_registry_loads_total") == 1


def test_a_loader_crash_is_reported_like_an_invalid_registry(
        registry_copy: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    source = sources.RegistrySource(registry_copy, clock=clock)
    edit(registry_copy / TENANT, "cpu: 256", "cpu: 300")

    def crash(root: pathlib.Path) -> None:
        raise RuntimeError("loader bug")

    monkeypatch.setattr(sources.tenants, "load", crash)
    clock.now += 2
    state = source.refresh()
    assert not state.up and state.platform.tenants["wh-gongan-video"].spec.quota.cpu.value == 256


def test_a_failing_collector_costs_only_its_own_figures(wuhan: pathlib.Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    built = build(wuhan, Reader())
    timed = next(c for c in built.collectors
                 if isinstance(c, exporter.Timed) and c.name == "networks")

    class Broken(_families.Collector):
        def families(self) -> list[_families.Family]:
            raise ValueError("boom")

    timed._collector = Broken()
    text = built.render().decode()
    assert 'citycloud_scrape_collector_success{collector="networks"} 0.0' in text
    assert 'citycloud_scrape_collector_success{collector="pools"} 1.0' in text
    assert "citycloud_private_networks" not in text
    assert "citycloud_pool_physical_cpu_cores" in text
    assert "collector networks failed" in caplog.text


def test_served_text_is_what_prometheus_clients_generate_latest_writes(
        wuhan: pathlib.Path) -> None:
    built = build(wuhan, Reader(), cluster_interval=3600)  # both scrapes share one read
    served = built.render()
    reference = exposition.generate_latest(built.registry)

    def steady(text: bytes) -> bytes:  # leave out the figures that change every scrape
        return re.sub(rb"citycloud_scrape[^\n]*\n", b"", text)

    assert steady(served) == steady(reference)
    assert len(served) > 50_000


def test_names_follow_prometheus_conventions(wuhan: pathlib.Path) -> None:
    built = build(wuhan, Reader())
    families = list(parser.text_string_to_metric_families(built.render().decode()))
    assert len(families) > 40
    for family in families:
        assert family.name.startswith("citycloud_"), family.name
        assert family.documentation, family.name
        if family.type == "counter":
            assert all(s.name.endswith("_total") for s in family.samples), family.name
        if family.name.endswith("_ratio"):
            assert all(0 <= s.value <= 1 for s in family.samples), family.name
        assert not re.search(r"_(gib|tib|gb|mb|kb|millicores|milliseconds)(_|$)", family.name)
        if re.search(r"_(cpu|memory|storage)$", family.name):
            pytest.fail(f"{family.name} has no unit suffix")


@pytest.mark.parametrize("value", [
    0.0, -0.0, 1.0, 27000.0, 999999.0, 1e6, 1234567.0, 9.70662608896e13, 0.0755555, -1234567.0,
    1e21, 5e-324, float("inf"), float("-inf"), float("nan"), 2.0**63,
])
def test_floats_are_written_as_prometheus_client_writes_them(value: float) -> None:
    family = _families.single("citycloud_x", "x", value)
    reference = exposition.generate_latest(_Single(family))
    assert family.text.encode() == reference


class _Single:
    def __init__(self, family: _families.Family) -> None:
        self.family = family

    def collect(self) -> list[object]:
        return [self.family.build()]
