"""Helpers the exporter's tests share: the recorded cluster, stand-in API servers serving
it, a kubeconfig naming several, today, a free port.

The recorded cluster (data/cluster/*.json) is what a kube-apiserver answers to
the exporter's four list calls, for two Wuhan tenants plus objects the exporter
must ignore (kube-system's own plumbing, a quota in a namespace no tenant owns).
Reading a real API server is proven by the control-plane end-to-end tests;
here the collectors get the parsed snapshot, or a `StandIn` serves it over HTTP.
"""

from __future__ import annotations

import datetime
import http.server
import json
import pathlib
import socket
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import apiserver
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


# The list calls of cluster.read, and the recorded body answering each.
PATHS = {
    "/api/v1/resourcequotas": "resourcequotas",
    "/api/v1/services": "services",
    "/api/v1/pods": "pods",
    "/apis/k8s.cni.cncf.io/v1/network-attachment-definitions": "networkattachmentdefinitions",
}


class StandIn(http.server.ThreadingHTTPServer):
    """A stand-in API server answering the four list calls: the recorded bodies, or those
    given (by the names of PATHS), two items a page."""

    def __init__(self, bodies: Mapping[str, dict[str, Any]] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies = dict(bodies or {})
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.missing: set[str] = set()  # list paths answered 404
        self.forbidden: set[str] = set()  # list paths answered 403

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(apiserver.JsonHandler):
    server: StandIn

    def do_GET(self) -> None:
        parsed = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(parsed.query)
        self.server.requests.append((parsed.path, query))
        if parsed.path in self.server.forbidden:
            return self.send_json(403, {"kind": "Status", "reason": "Forbidden", "code": 403})
        if parsed.path in self.server.missing or parsed.path not in PATHS:
            return self.send_json(404, {"kind": "Status", "reason": "NotFound", "code": 404})
        name = PATHS[parsed.path]
        body = self.server.bodies.get(name) or recorded_body(name)
        # Serve two items a page, as an API server does when asked for `limit`.
        start = int(query.get("continue", ["0"])[0])
        items = body["items"][start:start + 2]
        more = start + 2 < len(body["items"])
        page = {**body, "items": items,
                "metadata": {"continue": str(start + 2)} if more else {}}
        return self.send_json(200, page)


def write_kubeconfig(path: pathlib.Path, servers: Mapping[str, str], *,
                     current: str | None = None) -> pathlib.Path:
    """A kubeconfig at `path` with a context per entry of `servers` (name -> URL), named
    after it, as a city's platform team keeps one file for all its clusters."""
    config: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": url}} for name, url in servers.items()],
        "users": [{"name": "exporter", "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": "exporter"}}
                     for name in servers]}
    if current is not None:
        config["current-context"] = current
    path.write_text(json.dumps(config))
    return path


def every_cluster(reader: cluster.Reader) -> cluster.Connect:
    """The exporter's way to the clusters, every one of them read by `reader`."""
    return lambda _context: reader


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
