"""Offboarding's volume check reads the cluster through the one Kubernetes boundary.

A missing or broken kubeconfig is the user's to fix (exit 2, tenants.kubeapi's
ClusterConfigError); a cluster that does not answer is an outage (exit 3). A stand-in
API server (tests/apiserver.py) answers the claim lists; the real client does the HTTP.
"""

from __future__ import annotations

import http.server
import pathlib
import socket
from collections.abc import Iterator

import apiserver
import pytest

from citycloud.stacks import offboarding, programs
from citycloud.tenants import errors, kubeapi

CLAIMS = {"wh-video": ["recordings", "index"], "wh-empty": []}  # any other namespace: 404


class _Claims(apiserver.JsonHandler):
    def do_GET(self) -> None:
        namespace = self.path.split("/namespaces/")[1].split("/")[0]
        if namespace not in CLAIMS:
            return self.send_json(404, {"kind": "Status", "reason": "NotFound", "code": 404})
        return self.send_json(200, {"kind": "PersistentVolumeClaimList", "metadata": {},
                                    "items": [{"metadata": {"name": n}}
                                              for n in CLAIMS[namespace]]})


@pytest.fixture
def cluster(tmp_path: pathlib.Path) -> Iterator[programs.Cluster]:
    with apiserver.serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Claims)) as url:
        kubeconfig = apiserver.write_kubeconfig(tmp_path / "kubeconfig", url)
        yield programs.Cluster(kubeconfig=str(kubeconfig))


def test_claims_are_listed_and_a_namespace_already_gone_has_none(
        cluster: programs.Cluster) -> None:
    found = offboarding.volume_claims(["wh-video", "wh-empty", "wh-gone"], cluster=cluster)
    assert found == ["wh-video/index", "wh-video/recordings"]


def test_no_kubeconfig_is_a_usage_error_that_says_what_to_pass(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(kubeapi.ClusterConfigError, match="--kubeconfig") as raised:
        offboarding.volume_claims(["wh-video"], cluster=programs.Cluster())
    assert raised.value.exit_code == errors.INVALID


def test_a_broken_kubeconfig_is_a_usage_error(tmp_path: pathlib.Path) -> None:
    broken = tmp_path / "kubeconfig"
    broken.write_text("apiVersion: v1\nkind: Config\nclusters: []\n")
    with pytest.raises(kubeapi.ClusterConfigError) as raised:
        offboarding.volume_claims(["wh-video"], cluster=programs.Cluster(kubeconfig=str(broken)))
    assert raised.value.exit_code == errors.INVALID


def test_a_cluster_that_does_not_answer_is_an_outage(tmp_path: pathlib.Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    nowhere = programs.Cluster(
        kubeconfig=str(apiserver.write_kubeconfig(tmp_path / "kubeconfig", url)))
    with pytest.raises(kubeapi.ClusterError, match="cannot reach the API server") as raised:
        offboarding.volume_claims(["wh-video"], cluster=nowhere)
    assert raised.value.exit_code == errors.APPLY_FAILED
    assert "PersistentVolumeClaims in wh-video" in str(raised.value)
