"""Fixtures of the end-to-end tests: a real control plane, the real Pulumi engine, a city on it.

`control_plane` (session) starts etcd, kube-apiserver and kube-controller-manager
(tests/e2e/controlplane.py) from the binaries `make controlplane` builds, and
stops them by PID at the end, also when tests fail. `city` is a trimmed copy
of the Wuhan registry with its own state directory, driven through the real
`citycloud` CLI; `onboarded` has onboarded its tenants (two per pool) with
`citycloud onboard`, once per session.

Without the binaries the tests are skipped locally (run `make controlplane`),
and FAIL in CI (CI=true): an end-to-end suite that silently skips proves nothing.
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Iterator
from typing import Any

import controlplane
import e2ecity
import kubeops
import pytest
import realparts

TIMINGS: dict[str, float] = {}


def _unavailable(reason: str) -> None:
    realparts.unavailable(reason, how="run `make controlplane` to build the binaries")


@pytest.fixture(scope="session")
def bin_dir() -> pathlib.Path:
    """Where the control-plane binaries are (skipped locally, failed in CI, when missing)."""
    try:
        found, missing = controlplane.find_bin_dir()
    except controlplane.ControlPlaneError as err:
        _unavailable(f"no control-plane binaries: {err}")
        raise  # unreachable: skip and fail raise
    if missing:
        _unavailable(f"control-plane binaries missing from {found}: {', '.join(missing)}")
    return found


@pytest.fixture(scope="session")
def control_plane(bin_dir: pathlib.Path,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[controlplane.ControlPlane]:
    cluster = controlplane.ControlPlane(bin_dir, tmp_path_factory.mktemp("controlplane"))
    started = time.monotonic()
    cluster.start()
    TIMINGS["control plane startup (etcd, kube-apiserver, kube-controller-manager)"] = (
        time.monotonic() - started)
    try:
        yield cluster
    finally:
        stopping = time.monotonic()
        left = cluster.stop()
        TIMINGS["control plane stop (" + ", ".join(
            f"{k.removeprefix('stop ')} {v:.1f}s" for k, v in cluster.timings.items()
            if k.startswith("stop ")) + ")"] = time.monotonic() - stopping
        if left:
            raise controlplane.ControlPlaneError(f"still running after stop: {', '.join(left)}")


@pytest.fixture(scope="session")
def kube(control_plane: controlplane.ControlPlane) -> Iterator[kubeops.Kube]:
    api = control_plane.api_client()
    try:
        yield kubeops.Kube(api)
    finally:
        api.close()


@pytest.fixture(scope="session")
def city(control_plane: controlplane.ControlPlane,
         tmp_path_factory: pytest.TempPathFactory) -> e2ecity.City:
    return e2ecity.City(tmp_path_factory.mktemp("city"), bin_dir=control_plane.bin_dir,
                        kubeconfig=control_plane.kubeconfig)


@pytest.fixture(scope="session")
def onboarded(city: e2ecity.City) -> e2ecity.City:
    """The BASE tenants onboarded with `citycloud onboard`, one process per tenant.

    First one tenant of each pool at once (each also applies its pool's stack:
    three pools, three processes, no stack shared), then the others at once
    (their pool stacks are unchanged, so they do not even take its lock).
    """
    started = time.monotonic()
    for round_ in zip(*e2ecity.BASE.values(), strict=True):
        runs = city.parallel([("onboard", name, "--yes", "--output", "json")
                              for name in round_])
        for run in runs:
            assert run.code == 0, str(run)
    TIMINGS[f"onboarding {len(e2ecity.BASE_TENANTS)} tenants in 3 pools "
            "(2 rounds of 3 parallel `citycloud onboard`)"] = time.monotonic() - started
    return city


@pytest.fixture(scope="session")
def attachment_crd(kube: kubeops.Kube) -> str:
    """Multus' NetworkAttachmentDefinition CRD (a trimmed copy): the kind tenants may not use."""
    name = "network-attachment-definitions.k8s.cni.cncf.io"
    kube.extensions.create_custom_resource_definition({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {
            "group": "k8s.cni.cncf.io", "scope": "Namespaced",
            "names": {"plural": "network-attachment-definitions", "singular":
                      "network-attachment-definition", "kind": "NetworkAttachmentDefinition",
                      "shortNames": ["net-attach-def"]},
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields":
                                    True}}}],
        }})

    def established() -> bool:
        crd = kube.extensions.read_custom_resource_definition(name)
        return any(c.type == "Established" and c.status == "True"
                   for c in (crd.status.conditions or []))

    kubeops.eventually(established, timeout=60, what=f"CRD {name} established")
    return name


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TIMINGS:
        return
    terminalreporter.section("end-to-end timings")
    for what, seconds in TIMINGS.items():
        terminalreporter.write_line(f"{seconds:8.1f}s  {what}")
