"""The `exporter` command: serve Prometheus metrics of the registry and the live clusters."""

from __future__ import annotations

import logging
import pathlib
from typing import Annotated

import typer

from citycloud import monitoring
from citycloud.cli import extras, output, state
from citycloud.tenants import kubeapi


def register(app: typer.Typer) -> None:
    app.command()(exporter)


def exporter(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(
        min=0, max=65535, help="TCP port for /metrics (0 picks a free one).")] = 9400,
    address: Annotated[str, typer.Option(
        help="Address to bind. Loopback by default: put a proxy or a NetworkPolicy in front "
        "before exposing it.")] = "127.0.0.1",
    kubeconfig: Annotated[pathlib.Path | None, typer.Option(
        dir_okay=False, help="Kubeconfig to read quota usage and network plumbing with; where "
        "platform.yaml declares clusters, one file with a context per cluster (the cluster's "
        "'context', default its name). Default: $KUBECONFIG, ~/.kube/config, or the pod's "
        "service account.")] = None,
    context: Annotated[str | None, typer.Option(
        help="Kubeconfig context of the pools that declare no clusters. Default: the current "
        "one.")] = None,
    no_cluster: Annotated[bool, typer.Option(
        "--no-cluster", help="Serve registry metrics only; never read a cluster.")] = False,
    cluster_interval: Annotated[float, typer.Option(
        min=0.0, help="Read each cluster at most this often, in seconds; scrapes in between "
        "reuse the last read.")] = 5.0,
    cluster_timeout: Annotated[float, typer.Option(
        min=0.1, help="Give up on a cluster's read after this many seconds (keep it below "
        "Prometheus' scrape_timeout); that cluster then reports citycloud_cluster_up 0 and "
        "the others are served as usual. Clusters are read at the same time.")] = 5.0,
) -> None:
    """Serve Prometheus metrics of the registry and the live clusters on /metrics.

    Registry: pool capacity, tenant quotas, departments, private networks, findings, waivers.

    Clusters (each one platform.yaml declares, read at the same time): quota in use, and
    network plumbing nobody registered (a cluster down: the others and the registry are still
    served).

    A merged pull request shows at the next scrape: files are checked at most once a second.

    Stop with Ctrl-C or SIGTERM. Rules and dashboards ship with citycloud: 'citycloud doctor'
    shows where.
    """
    current = state.get(ctx)
    logging.basicConfig(level=logging.DEBUG if current.debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    connect = None
    if not no_cluster:
        extras.require("exporter", command="exporter")
        try:
            connect = monitoring.cluster.connector(kubeconfig=kubeconfig, context=context,
                                                   timeout=cluster_timeout)
        except kubeapi.ClusterConfigError as err:
            raise typer.BadParameter(str(err), param_hint="--kubeconfig/--context") from None
        if connect is None:
            output.stderr.print("no kubeconfig found: serving registry metrics only "
                                "(citycloud_cluster_configured 0)", highlight=False)
    built = monitoring.exporter.build(current.registry, connect=connect,
                                      cluster_interval=cluster_interval,
                                      cluster_timeout=cluster_timeout)
    try:
        monitoring.server.serve(built.render, port=port, address=address, ready=_ready)
    except monitoring.server.ServeError as err:
        raise typer.BadParameter(str(err), param_hint="--port/--address") from None


def _ready(url: str) -> None:
    output.stdout.print(f"serving {url} (Ctrl-C to stop)", highlight=False)
