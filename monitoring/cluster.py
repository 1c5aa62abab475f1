"""What the exporter reads from a live cluster, behind one small interface.

The collectors never talk to Kubernetes: they take a `Snapshot`, plain data
made by `parse` from the list responses the API server returns. `read` is the
only function that touches a cluster — it takes a kubernetes `ApiClient`
(tenants.kubeapi.api_client), so the end-to-end tests can hand it a client for the
real kube-apiserver and the unit tests can feed `parse` recorded responses instead.

`connector` is how the exporter reaches every cluster of the registry: one kubeconfig,
a context per cluster (credentials never enter the registry), a `Connection` each.

Everything that can go wrong while reading (refused connections, timeouts,
403s, garbage) becomes a `kubeapi.ClusterError` (tenants.kubeapi, the one
Kubernetes boundary); the exporter then says `citycloud_cluster_up 0` and keeps
serving the registry's figures.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction
from typing import Any

from citycloud.tenants import kubeapi, quantities, render

# The quota keys that measure what a tenant's quota grants (render.resource_quota writes them).
QUOTA_KEYS = {"cpu": "requests.cpu", "memory": "requests.memory", "storage": "requests.storage"}

# Kinds of network plumbing a tenant may not build itself (DESIGN.md, "Security baseline").
NODEPORT_SERVICE = "nodeport_service"
LOADBALANCER_SERVICE = "loadbalancer_service"
EXTERNAL_IPS_SERVICE = "external_ips_service"
HOST_NETWORK_POD = "host_network_pod"
NETWORK_ATTACHMENT = "network_attachment_definition"
PLUMBING_KINDS = (NODEPORT_SERVICE, LOADBALANCER_SERVICE, EXTERNAL_IPS_SERVICE,
                  HOST_NETWORK_POD, NETWORK_ATTACHMENT)

# Multus' CRD; most clusters do not have it, and a 404 then means "none".
NAD_GROUP, NAD_VERSION, NAD_PLURAL = "k8s.cni.cncf.io", "v1", "network-attachment-definitions"


@dataclasses.dataclass(frozen=True)
class QuotaStatus:
    namespace: str
    name: str
    hard: Mapping[str, Fraction]  # status.hard, what the API server enforces
    used: Mapping[str, Fraction]  # status.used, kept up to date by kube-controller-manager


@dataclasses.dataclass(frozen=True)
class Plumbing:
    kind: str  # one of PLUMBING_KINDS
    namespace: str
    name: str


@dataclasses.dataclass(frozen=True)
class Snapshot:
    quotas: tuple[QuotaStatus, ...]
    plumbing: tuple[Plumbing, ...]
    attachments_crd: bool  # whether the cluster knows NetworkAttachmentDefinitions at all
    read_at: float  # Unix time the read finished


Reader = Callable[[], Snapshot]  # what the exporter calls each time it wants fresh cluster data
# A kubeconfig context (None: the one the command line names) -> a Reader of its cluster.
Connect = Callable[[str | None], Reader]


def parse(*, quotas: Mapping[str, Any], services: Mapping[str, Any], pods: Mapping[str, Any],
          attachments: Mapping[str, Any] | None, read_at: float) -> Snapshot:
    """A Snapshot from the JSON bodies of the four list calls (attachments None: no CRD)."""
    return Snapshot(
        quotas=tuple(_quota(item) for item in _items(quotas)),
        plumbing=tuple(_plumbing(services, pods, attachments)),
        attachments_crd=attachments is not None,
        read_at=read_at,
    )


def _items(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = body.get("items") or []
    if not isinstance(items, list):
        raise kubeapi.ClusterError(
            "the API server answered a list call without a list of items; check that the "
            "kubeconfig's server is a Kubernetes API server")
    return [item for item in items if isinstance(item, dict)]  # JSON objects; dict, not the
    # Mapping ABC, because isinstance against an ABC costs microseconds per object


def _quota(item: Mapping[str, Any]) -> QuotaStatus:
    metadata = item.get("metadata") or {}
    status = item.get("status") or {}
    return QuotaStatus(str(metadata.get("namespace", "")), str(metadata.get("name", "")),
                       _quantities(status.get("hard")), _quantities(status.get("used")))


def _quantities(raw: Any) -> dict[str, Fraction]:
    """The quota keys the exporter reads (QUOTA_KEYS), parsed; others are left out."""
    parsed = {}
    if isinstance(raw, dict):
        for key in _READ_KEYS:
            text = raw.get(key)
            value = None if text is None else _quantity(text)
            if value is not None:  # one unreadable quantity is one figure missing, no more
                parsed[key] = value
    return parsed


_READ_KEYS = tuple(QUOTA_KEYS.values())


@functools.lru_cache(maxsize=16384)
def _quantity(text: Any) -> Fraction | None:
    """Parsed once per distinct text: thousands of quotas repeat a few dozen values, and
    parsing into an exact Fraction is the slowest step of reading a cluster."""
    try:
        return quantities.parse(text).value
    except (quantities.QuantityError, TypeError):
        return None


def _plumbing(services: Mapping[str, Any], pods: Mapping[str, Any],
              attachments: Mapping[str, Any] | None) -> Iterator[Plumbing]:
    for item in _items(services):
        spec = item.get("spec") or {}
        where = _where(item)
        kind = spec.get("type")
        if kind == "LoadBalancer":  # also opens node ports; count it once, as what it is
            yield Plumbing(LOADBALANCER_SERVICE, *where)
        elif kind == "NodePort":
            yield Plumbing(NODEPORT_SERVICE, *where)
        if spec.get("externalIPs"):
            yield Plumbing(EXTERNAL_IPS_SERVICE, *where)
    for item in _items(pods):
        if (item.get("spec") or {}).get("hostNetwork"):
            yield Plumbing(HOST_NETWORK_POD, *_where(item))
    for item in _items(attachments or {}):
        yield Plumbing(NETWORK_ATTACHMENT, *_where(item))


def _where(item: Mapping[str, Any]) -> tuple[str, str]:
    metadata = item.get("metadata") or {}
    return str(metadata.get("namespace", "")), str(metadata.get("name", ""))


# ---- the live read ------------------------------------------------------------------------


def read(api: Any, *, timeout: float = 5.0, clock: Callable[[], float] = time.time) -> Snapshot:
    """Read quotas and network plumbing from the cluster `api` (a kubernetes.client.ApiClient).

    Only quotas citycloud manages are read (label app.kubernetes.io/managed-by), so
    a namespace's other quotas never add to a tenant's usage.
    """
    core = kubeapi.core_v1(api)
    managed = f"app.kubernetes.io/managed-by={render.MANAGED_BY}"
    quotas = kubeapi.list_all(core.list_resource_quota_for_all_namespaces, reading="quotas",
                              timeout=timeout, label_selector=managed)
    services = kubeapi.list_all(core.list_service_for_all_namespaces, reading="services",
                                timeout=timeout)
    pods = kubeapi.list_all(core.list_pod_for_all_namespaces, reading="pods", timeout=timeout)
    try:
        attachments: dict[str, Any] | None = kubeapi.list_all(
            kubeapi.custom_objects(api).list_cluster_custom_object,
            reading="NetworkAttachmentDefinitions", timeout=timeout,
            group=NAD_GROUP, version=NAD_VERSION, plural=NAD_PLURAL)
    except kubeapi.NotFound:  # no Multus in this cluster: none
        attachments = None
    return parse(quotas=quotas, services=services, pods=pods, attachments=attachments,
                 read_at=clock())


# ---- reaching the clusters ----------------------------------------------------------------


class Connection:
    """A Reader of the cluster behind one kubeconfig context.

    The client is made at the first read, and again after a failed attempt to make it,
    so a context the kubeconfig lacks costs that cluster's reads, not the exporter, and
    a kubeconfig fixed on disk is picked up without a restart.
    """

    def __init__(self, *, kubeconfig: str | os.PathLike[str] | None, context: str | None,
                 timeout: float) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.timeout = timeout
        self._api: Any = None

    def __call__(self) -> Snapshot:
        if self._api is None:
            self._api = kubeapi.api_client(kubeconfig=self.kubeconfig, context=self.context,
                                           required=True)
        return read(self._api, timeout=self.timeout)


def connector(*, kubeconfig: str | os.PathLike[str] | None, context: str | None,
              timeout: float) -> Connect | None:
    """How the exporter reaches each cluster, or None when nothing can be reached.

    A cluster platform.yaml declares is read through its own context of the kubeconfig;
    the implicit cluster of pools that declare none through `context` (None: the current
    one), or the pod's service account when there is no kubeconfig at all. Raises
    kubeapi.ClusterConfigError when the kubeconfig cannot be read or has no `context`:
    mistakes on the command line are said at start, not at every scrape.
    """
    names = kubeapi.contexts(kubeconfig=kubeconfig)
    if names is None:  # no kubeconfig file: the pod's service account, if there is one
        if kubeapi.api_client(context=context) is None:
            return None
    elif context is not None and context not in names:
        raise kubeapi.ClusterConfigError(
            f"the kubeconfig has no context {context!r} (it has {', '.join(names) or 'none'}); "
            "pass one of those to --context ('kubectl config get-contexts')")

    kubeapi.preload()  # now, not within the first scrape's timeout

    def connect(cluster_context: str | None) -> Reader:
        return Connection(kubeconfig=kubeconfig, timeout=timeout,
                          context=context if cluster_context is None else cluster_context)

    return connect
