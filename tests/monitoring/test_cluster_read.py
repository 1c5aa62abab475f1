"""cluster.read through the real kubernetes client, against a stand-in API server.

The stand-in is a fake: a small HTTP server answering the four list calls with
the recorded responses of data/cluster/, because no kube-apiserver runs in unit
tests. It is enough to prove what the real one cannot show cheaply — pagination
with `continue`, the label selector sent, a 404 for a missing CRD, a 403 — and the
real client does all the HTTP. The read against a real kube-apiserver is the
control-plane end-to-end suite's job (it calls `cluster.read(api_client)`).
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import apiserver
import exporter_fixtures
import kubernetes
import pytest
from exporter_fixtures import StandIn

from citycloud.monitoring import cluster
from citycloud.tenants import kubeapi


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    with apiserver.serving(server):
        yield server


def client_for(url: str) -> Any:
    configuration = kubernetes.client.Configuration()
    configuration.host = url
    configuration.retries = 0
    return kubernetes.client.ApiClient(configuration=configuration)


def test_reads_every_page_and_only_managed_quotas(stand_in: StandIn) -> None:
    snapshot = cluster.read(client_for(stand_in.url), clock=lambda: 42.0)
    assert snapshot == exporter_fixtures.recorded_snapshot(read_at=42.0)
    quota_calls = [q for path, q in stand_in.requests if path == "/api/v1/resourcequotas"]
    assert len(quota_calls) == 3  # 5 quotas, 2 a page
    assert all(q["labelSelector"] == ["app.kubernetes.io/managed-by=citycloud"]
               for q in quota_calls)


def test_a_cluster_without_multus_has_no_attachments(stand_in: StandIn) -> None:
    stand_in.missing.add("/apis/k8s.cni.cncf.io/v1/network-attachment-definitions")
    snapshot = cluster.read(client_for(stand_in.url))
    assert snapshot.attachments_crd is False
    assert cluster.NETWORK_ATTACHMENT not in {p.kind for p in snapshot.plumbing}


def test_forbidden_is_a_cluster_error_that_says_why(stand_in: StandIn) -> None:
    stand_in.forbidden.add("/api/v1/pods")
    with pytest.raises(kubeapi.ClusterError, match="403"):
        cluster.read(client_for(stand_in.url))


def test_nobody_listening_is_a_cluster_error() -> None:
    url = f"http://127.0.0.1:{exporter_fixtures.free_port()}"
    with pytest.raises(kubeapi.ClusterError, match="cannot reach the API server"):
        cluster.read(client_for(url), timeout=2)


def test_api_client_from_a_kubeconfig(stand_in: StandIn, tmp_path: pathlib.Path) -> None:
    kubeconfig = apiserver.write_kubeconfig(tmp_path / "kubeconfig", stand_in.url)
    api = kubeapi.api_client(kubeconfig=kubeconfig)
    assert api.configuration.retries == 0
    assert cluster.read(api).quotas


def test_no_kubeconfig_anywhere_means_no_cluster(tmp_path: pathlib.Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert kubeapi.api_client() is None


def test_a_broken_kubeconfig_is_a_config_error(tmp_path: pathlib.Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\n")
    with pytest.raises(kubeapi.ClusterConfigError):
        kubeapi.api_client(kubeconfig=kubeconfig)
