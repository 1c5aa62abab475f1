"""The `exporter` command: serve Prometheus metrics of the registry and the live cluster."""

from __future__ import annotations

import functools
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
        dir_okay=False, help="Kubeconfig of the cluster to read quota usage and network "
        "plumbing from. Default: $KUBECONFIG, ~/.kube/config, or the pod's service "
        "account.")] = None,
    context: Annotated[str | None, typer.Option(
        help="Kubeconfig context to use. Default: the current one.")] = None,
    no_cluster: Annotated[bool, typer.Option(
        "--no-cluster", help="Serve registry metrics only; never read a cluster.")] = False,
    cluster_interval: Annotated[float, typer.Option(
        min=0.0, help="Read the cluster at most this often, in seconds; scrapes in between "
        "reuse the last read.")] = 5.0,
    cluster_timeout: Annotated[float, typer.Option(
        min=0.1, help="Give up on a cluster read after this many seconds per request; "
        "the scrape then reports citycloud_cluster_up 0.")] = 5.0,
) -> None:
    """Serve Prometheus metrics of the registry and the live cluster on /metrics.

    Registry: pool capacity, tenant quotas, departments, private networks, findings, waivers.

    Cluster: quota in use, and network plumbing nobody registered (cluster down: still serves).

    A merged pull request shows at the next scrape: files are checked at most once a second.

    Stop with Ctrl-C or SIGTERM. Rules and dashboards ship with citycloud: 'citycloud doctor'
    shows where.
    """
    current = state.get(ctx)
    logging.basicConfig(level=logging.DEBUG if current.debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    reader = None
    if not no_cluster:
        extras.require("exporter", command="exporter")
        try:
            api = kubeapi.api_client(kubeconfig=kubeconfig, context=context)
        except kubeapi.ClusterConfigError as err:
            raise typer.BadParameter(str(err), param_hint="--kubeconfig/--context") from None
        if api is None:
            output.stderr.print("no kubeconfig found: serving registry metrics only "
                                "(citycloud_cluster_configured 0)", highlight=False)
        else:
            reader = functools.partial(monitoring.cluster.read, api, timeout=cluster_timeout)
    built = monitoring.exporter.build(current.registry, reader=reader,
                                      cluster_interval=cluster_interval)
    try:
        monitoring.server.serve(built.render, port=port, address=address, ready=_ready)
    except monitoring.server.ServeError as err:
        raise typer.BadParameter(str(err), param_hint="--port/--address") from None


def _ready(url: str) -> None:
    output.stdout.print(f"serving {url} (Ctrl-C to stop)", highlight=False)
