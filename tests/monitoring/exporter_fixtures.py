"""Helpers the exporter's tests share: the recorded cluster, today, a free port.

The recorded cluster (data/cluster/*.json) is what a kube-apiserver answers to
the exporter's four list calls, for two Wuhan tenants plus objects the exporter
must ignore (kube-system's own plumbing, a quota in a namespace no tenant owns).
Reading a real API server is proven by the control-plane end-to-end tests;
here the collectors get the parsed snapshot.
"""

from __future__ import annotations

import datetime
import json
import pathlib
import socket
from collections.abc import Callable
from typing import Any

from prometheus_client import registry

from citycloud.monitoring import cluster

DATA = pathlib.Path(__file__).parent / "data"
CLUSTER = DATA / "cluster"
TODAY = datetime.date(2026, 11, 23)

Isolated = Callable[..., registry.CollectorRegistry]  # the `isolated` fixture


def recorded_body(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CLUSTER / f"{name}.json").read_text())
    return data


def recorded_snapshot(*, attachments: bool = True, read_at: float = 1_790_000_000.0,
                      ) -> cluster.Snapshot:
    return cluster.parse(
        quotas=recorded_body("resourcequotas"), services=recorded_body("services"),
        pods=recorded_body("pods"),
        attachments=recorded_body("networkattachmentdefinitions") if attachments else None,
        read_at=read_at)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
