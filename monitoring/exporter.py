"""The exporter put together: sources, collectors, and the exporter's own health.

`build` wires one registry's collectors into a fresh CollectorRegistry (never
prometheus_client's global one), each wrapped in `Timed` the way
node_exporter reports `node_scrape_collector_duration_seconds`: a collector
that raises is logged and reported with `citycloud_scrape_collector_success 0`
while every other collector's figures are still served — a scrape never fails
because one source did.

`citycloud_up` follows the exporter convention (`mysql_up`, `redis_up`): 1 when
the exporter's source, the registry, loads cleanly. Whether Prometheus can
reach the exporter at all is Prometheus' own `up`.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import logging
import pathlib
import threading
import time
from collections.abc import Callable

from prometheus_client import registry

from citycloud import tenants
from citycloud.monitoring import (
    _families,
    cluster,
    findings,
    live,
    network_metrics,
    pool_metrics,
    sharing_metrics,
    sources,
)

log = logging.getLogger(__name__)


class Stats:
    """What the last scrape of each collector took; read by ExporterCollector."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.durations: dict[str, float] = {}
        self.success: dict[str, bool] = {}
        self.scrapes = 0

    def record(self, name: str, *, duration: float, ok: bool) -> None:
        with self._lock:
            self.durations[name] = duration
            self.success[name] = ok

    def scraped(self) -> tuple[dict[str, float], dict[str, bool], int]:
        with self._lock:
            self.scrapes += 1
            return dict(self.durations), dict(self.success), self.scrapes


class Timed(_families.Collector):
    """A collector, timed, whose failure costs its own figures and nothing else."""

    def __init__(self, name: str, collector: _families.Collector, *, stats: Stats) -> None:
        self.name = name
        self._collector = collector
        self._stats = stats

    def families(self) -> list[_families.Family]:
        started = time.perf_counter()
        try:
            found = self._collector.families()
            ok = True
        except Exception:
            log.exception("collector %s failed; its metrics are left out of this scrape",
                          self.name)
            found, ok = [], False
        self._stats.record(self.name, duration=time.perf_counter() - started, ok=ok)
        return found


class RefreshCollector(_families.Collector):
    """First in every scrape: looks for registry changes once, before any figure is read."""

    def __init__(self, source: sources.RegistrySource) -> None:
        self._source = source

    def families(self) -> list[_families.Family]:
        self._source.refresh()
        return []


class ExporterCollector(_families.Collector):
    """citycloud_up, registry reloads, and how long this scrape's collectors took."""

    def __init__(self, state: Callable[[], sources.RegistryState], *, stats: Stats) -> None:
        self._state = state
        self._stats = stats

    def families(self) -> list[_families.Family]:
        state = self._state()
        durations, success, scrapes = self._stats.scraped()
        return [
            _families.single("citycloud_up", "1 if the registry on disk loads cleanly; 0 if it "
                             "does not and the last valid one is served", float(state.up)),
            _families.single("citycloud_registry_problems",
                             "Problems that keep the registry on disk from loading (0 when up)",
                             float(state.problems)),
            _families.single("citycloud_registry_last_load_timestamp_seconds",
                             "Unix time the registry being served was loaded", state.loaded_at),
            _families.single("citycloud_registry_loads",
                             "Successful loads of the registry since the exporter started",
                             float(state.reloads), counter=True),
            _families.single("citycloud_scrapes", "Scrapes served since the exporter started",
                             float(scrapes), counter=True),
            _families.single("citycloud_scrape_duration_seconds",
                             "Time this scrape spent in citycloud's collectors",
                             sum(durations.values())),
            _families.Family("citycloud_scrape_collector_duration_seconds",
                             "Time the collector took in this scrape", ("collector",),
                             [((name,), seconds) for name, seconds in sorted(durations.items())]),
            _families.Family("citycloud_scrape_collector_success",
                             "1 if the collector succeeded in this scrape", ("collector",),
                             [((name,), float(ok)) for name, ok in sorted(success.items())]),
        ]


@dataclasses.dataclass(frozen=True)
class Exporter:
    collectors: tuple[_families.Collector, ...]  # in scrape order, the exporter's own last
    registry_source: sources.RegistrySource
    cluster_sources: sources.ClusterSources

    @functools.cached_property
    def registry(self) -> registry.CollectorRegistry:
        """The same collectors in a CollectorRegistry of their own, for prometheus_client tools."""
        collector_registry = registry.CollectorRegistry()
        for collector in self.collectors:
            collector_registry.register(collector)
        return collector_registry

    def render(self) -> bytes:
        """One scrape in the Prometheus text format: what /metrics serves."""
        return "".join(family.text for collector in self.collectors
                       for family in collector.families()).encode()


def build(root: pathlib.Path, *, connect: cluster.Connect | None,
          today: Callable[[], datetime.date] = datetime.date.today,
          cluster_interval: float = 5.0, cluster_timeout: float = 5.0,
          recheck: float = 1.0) -> Exporter:
    """An exporter of the registry at `root`, reading its clusters through `connect` if given.

    Each cluster of the registry is read at most every `cluster_interval` seconds, all at
    once, and a scrape waits at most `cluster_timeout` seconds for them. Raises
    tenants.RegistryError if the registry is invalid now: an exporter that starts on a
    broken registry would have nothing true to serve.
    """
    registry_source = sources.RegistrySource(root, recheck=recheck)
    cluster_sources = sources.ClusterSources(connect, min_interval=cluster_interval,
                                             timeout=cluster_timeout)

    def platform() -> tenants.Platform:
        return registry_source.get().platform

    evaluator = findings.Evaluator(platform, today=today)
    stats = Stats()
    collectors: dict[str, _families.Collector] = {
        "pools": pool_metrics.PoolCollector(platform),
        "tenants": pool_metrics.TenantCollector(platform),
        "departments": pool_metrics.DepartmentCollector(platform),
        "networks": network_metrics.NetworkCollector(platform, report=evaluator.report),
        "sharing": sharing_metrics.SharingCollector(platform),
        "findings": findings.FindingsCollector(evaluator),
        "cluster": live.LiveCollector(platform, clusters=cluster_sources.get),
    }
    timed = tuple(Timed(name, collector, stats=stats) for name, collector in collectors.items())
    own = ExporterCollector(registry_source.get, stats=stats)
    refresh = Timed("registry", RefreshCollector(registry_source), stats=stats)
    return Exporter((refresh, *timed, own), registry_source, cluster_sources)
