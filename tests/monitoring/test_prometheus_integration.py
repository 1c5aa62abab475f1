"""The real exporter, scraped by a real Prometheus, with the real rules.

Debian's prometheus (2.42) runs as a plain process — never its systemd service —
with a temporary config, data directory and a free port on 127.0.0.1; it scrapes
`citycloud exporter` running on the Wuhan example every second and evaluates
monitoring/rules every second. The exporter is given a kubeconfig with a context
for each of the example's four clusters: a stand-in API server (the recorded
cluster of exporter_fixtures) answers for wh-gov-guanggu, nothing for the three
others, so this also shows registry figures and the one readable cluster served
while the others are down. Both processes are stopped by PID, also when a test fails.

The alert checked is CitycloudPrivateNetworkConsolidationCandidate (`for: 0s`):
the Wuhan example plants one, two departments each asking for an iot-sensors
network, so it must fire on the unmodified example.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import apiserver
import exporter_fixtures
import pytest
import realparts

from citycloud import tenants
from citycloud.tenants import allocation

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[2]
RULES = ROOT / "monitoring" / "rules"
GUANGGU = "wh-gov-guanggu"
T = TypeVar("T")


def prometheus_binary() -> str:
    """Debian's /usr/bin/prometheus; installed with apt-get when missing and we are root."""
    found = shutil.which("prometheus")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        realparts.unavailable("prometheus is not installed and this user cannot apt-get "
                              "install it", how="apt-get install prometheus (.ci/run does)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "prometheus"],
                   check=True, env=env, capture_output=True)
    return shutil.which("prometheus") or pytest.fail("apt-get installed no prometheus binary")


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def eventually(probe: Callable[[], T | None], *, what: str, timeout: float = 60.0,
               logs: list[pathlib.Path] | None = None) -> T:
    """Poll until `probe` returns something; fail with the processes' logs otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = probe()
        except (urllib.error.URLError, ConnectionError, OSError):
            found = None
        if found is not None:
            return found
        time.sleep(0.5)
    tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs or [])
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{tails}")


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM by PID, then SIGKILL if it does not exit within 10 seconds."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            return process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
    return process.wait()


class Running:
    def __init__(self, process: subprocess.Popen[bytes], url: str, log: pathlib.Path) -> None:
        self.process, self.url, self.log = process, url, log


@pytest.fixture
def guanggu() -> Iterator[exporter_fixtures.StandIn]:
    server = exporter_fixtures.StandIn()
    with apiserver.serving(server):
        yield server


@pytest.fixture
def exporter_process(wuhan: pathlib.Path, tmp_path: pathlib.Path,
                     guanggu: exporter_fixtures.StandIn) -> Iterator[Running]:
    port = exporter_fixtures.free_port()
    dead = f"http://127.0.0.1:{exporter_fixtures.free_port()}"  # nothing listens: "down"
    kubeconfig = exporter_fixtures.write_kubeconfig(tmp_path / "kubeconfig", {
        "wh-gov-hankou": dead, GUANGGU: guanggu.url, "wh-industry": dead,
        "wh-xinchuang": dead})
    log = tmp_path / "exporter.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", "from cli.app import main; main()", "--registry", str(wuhan),
             "exporter", "--port", str(port), "--address", "127.0.0.1",
             "--kubeconfig", str(kubeconfig), "--cluster-timeout", "1"],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    running = Running(process, f"http://127.0.0.1:{port}", log)
    try:
        eventually(lambda: urllib.request.urlopen(f"{running.url}/-/healthy", timeout=2).status
                   == 200 or None, what="the exporter to listen", logs=[log])
        yield running
    finally:
        stop(process)


@pytest.fixture
def prometheus_process(exporter_process: Running, tmp_path: pathlib.Path) -> Iterator[Running]:
    binary = prometheus_binary()
    port = exporter_fixtures.free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({  # JSON is YAML
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES / "*.yaml")],
        "scrape_configs": [{
            "job_name": "citycloud",  # the name monitoring/rules/exporter.yaml expects
            "static_configs": [{"targets": [exporter_process.url.removeprefix("http://")]}],
        }],
    }))
    log = tmp_path / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    running = Running(process, f"http://127.0.0.1:{port}", log)
    try:
        eventually(lambda: urllib.request.urlopen(f"{running.url}/-/ready", timeout=2).status
                   == 200 or None, what="prometheus to be ready",
                   logs=[log, exporter_process.log])
        yield running
    finally:
        stop(process)


def query(prometheus: Running, expr: str) -> list[dict[str, Any]] | None:
    body = get_json(f"{prometheus.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
    result: list[dict[str, Any]] = body["data"]["result"]
    return result or None


def test_prometheus_scrapes_the_registrys_figures_and_fires_an_alert(
        prometheus_process: Running, exporter_process: Running, wuhan: pathlib.Path) -> None:
    logs = [prometheus_process.log, exporter_process.log]
    gov = next(p for p in allocation.report(tenants.load(wuhan)) if p.pool.name == "gov")

    found = eventually(lambda: query(prometheus_process,
                                     'citycloud_pool_allocated_cpu_cores{pool="gov"}'),
                       what="a scrape of the exporter", logs=logs)
    assert float(found[0]["value"][1]) == float(gov.usage["cpu"].allocated)
    assert found[0]["metric"]["job"] == "citycloud"
    headroom = 'citycloud_pool_headroom_storage_bytes{pool="gov"}'
    (storage,) = query(prometheus_process, headroom) or []
    assert float(storage["value"][1]) == float(gov.usage["storage"].headroom)
    # Three clusters cannot be read, and the exporter says so instead of failing the scrape;
    # the one that can be read is served, its site joined in from citycloud_cluster_info.
    def by_site() -> set[tuple[str, str, str]] | None:
        found = query(prometheus_process, "max by (cluster, site) (citycloud_cluster_up * on "
                      "(job, instance, cluster) group_left (site) citycloud_cluster_info)")
        readable = {(r["metric"]["cluster"], r["metric"]["site"], r["value"][1])
                    for r in found or []}
        return readable if (GUANGGU, "guanggu-dc", "1") in readable else None

    assert eventually(by_site, what="the readable cluster", logs=logs) == {
        ("wh-gov-hankou", "hankou-dc", "0"), (GUANGGU, "guanggu-dc", "1"),
        ("wh-industry", "guanggu-dc", "0"), ("wh-xinchuang", "hankou-dc", "0")}
    ratio = eventually(lambda: query(
        prometheus_process, 'citycloud:tenant_quota_usage:ratio{tenant="wh-chengguan-iot",'
        'resource="cpu"}'), what="the recorded quota usage ratio", logs=logs)
    assert [(r["metric"]["cluster"], float(r["value"][1])) for r in ratio] == [
        (GUANGGU, 32.5 / 64)]
    (up,) = query(prometheus_process, 'up{job="citycloud"}') or []
    assert up["value"][1] == "1"

    def firing() -> dict[str, Any] | None:
        alerts = get_json(f"{prometheus_process.url}/api/v1/alerts")["data"]["alerts"]
        return next((a for a in alerts
                     if a["labels"]["alertname"] == "CitycloudPrivateNetworkConsolidationCandidate"
                     and a["state"] == "firing"), None)

    alert = eventually(firing, what="the consolidation alert to fire", logs=logs)
    assert alert["labels"]["purpose"] == "iot-sensors"
    assert alert["labels"]["severity"] == "info"
    assert alert["annotations"]["summary"] == "2 departments each run their own iot-sensors network"

    # Stopped by PID, the exporter exits cleanly.
    assert stop(exporter_process.process) == 0
