"""What the exporter reads from a live cluster, behind one small interface.

The collectors never talk to Kubernetes: they take a `Snapshot`, plain data
made by `parse` from the list responses the API server returns. `read` is the
only function that touches a cluster — it takes a kubernetes `ApiClient`, so
the end-to-end tests can hand it a client for the real kube-apiserver and the
unit tests can feed `parse` recorded responses instead.

Everything that can go wrong while reading (refused connections, timeouts,
403s, garbage) becomes a `ClusterError`; the exporter then says
`citycloud_cluster_up 0` and keeps serving the registry's figures.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import pathlib
import time
from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction
from typing import Any

from citycloud.tenants import errors, quantities, render

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
_PAGE = 500  # list in pages so a large cluster never answers with one huge body


class ClusterError(errors.KubernetesError):
    """The cluster could not be read; the message says why, for people and for logs."""


class ClusterConfigError(ClusterError, errors.InputError):
    """No usable kubeconfig or in-cluster service account: a usage error, not an outage."""

    exit_code = errors.INVALID


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
        raise ClusterError("the API server answered a list call without a list of items")
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
    # Imported here, not at the top: kubernetes takes seconds to import and every CLI
    # command imports this package; only the exporter and the e2e tests read clusters.
    import kubernetes
    import urllib3

    core = kubernetes.client.CoreV1Api(api)
    custom = kubernetes.client.CustomObjectsApi(api)
    managed = f"app.kubernetes.io/managed-by={render.MANAGED_BY}"
    try:
        quotas = _list(core.list_resource_quota_for_all_namespaces, timeout,
                       label_selector=managed)
        services = _list(core.list_service_for_all_namespaces, timeout)
        pods = _list(core.list_pod_for_all_namespaces, timeout)
        try:
            attachments: dict[str, Any] | None = _list(
                custom.list_cluster_custom_object, timeout,
                group=NAD_GROUP, version=NAD_VERSION, plural=NAD_PLURAL)
        except kubernetes.client.ApiException as err:
            if err.status != 404:
                raise
            attachments = None
    except kubernetes.client.ApiException as err:
        raise ClusterError(f"the API server refused a read: {err.status} {err.reason}") from err
    except (urllib3.exceptions.HTTPError, OSError) as err:
        raise ClusterError(f"cannot reach the API server: {_short(err)}") from err
    except ValueError as err:  # a body that is not JSON
        raise ClusterError(f"the API server answered something unreadable: {err}") from err
    return parse(quotas=quotas, services=services, pods=pods, attachments=attachments,
                 read_at=clock())


def _list(call: Callable[..., Any], timeout: float, **kwargs: Any) -> dict[str, Any]:
    """Every page of one list call, as the JSON the API server sent.

    Raw JSON, not the client's models: deserialising thousands of pods into
    model objects costs seconds, and we need three fields of each.
    """
    items: list[Any] = []
    token = None
    while True:
        page_args: dict[str, Any] = {"_continue": token} if token else {}
        response = call(limit=_PAGE, _preload_content=False, _request_timeout=timeout,
                        **kwargs, **page_args)
        body = json.loads(response.data)
        items.extend(body.get("items") or [])
        token = (body.get("metadata") or {}).get("continue")
        if not token:
            return {"items": items}


def _short(err: Exception) -> str:
    reason = getattr(err, "reason", None)  # MaxRetryError wraps the error that matters
    return str(reason or err).splitlines()[0][:200]


def server_version(api: Any, *, timeout: float) -> str:
    """The cluster's Kubernetes version (its /version), or ClusterError saying why not."""
    import kubernetes  # see read()

    try:
        answer = kubernetes.client.VersionApi(api).get_code(_request_timeout=timeout)
    except Exception as err:  # any failure to reach it is the answer, said in one line
        raise ClusterError(f"does not answer: {str(err).splitlines()[0]}") from err
    return str(answer.git_version)


def api_client(*, kubeconfig: pathlib.Path | None = None, context: str | None = None) -> Any:
    """A kubernetes ApiClient from a kubeconfig or the pod's service account; no retries.

    Retries are off because a scrape waits for this read: a cluster that does not
    answer within the timeout is reported down now and tried again next scrape.
    Returns None when there is nothing to connect with (no kubeconfig, not in a pod).
    """
    import kubernetes  # see read()

    configuration = kubernetes.client.Configuration()
    configuration.retries = 0
    try:
        if kubeconfig is None and context is None and "KUBERNETES_SERVICE_HOST" in os.environ:
            kubernetes.config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration)
            return kubernetes.client.ApiClient(configuration=configuration)
        default = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or "~/.kube/config"
        path = kubeconfig or pathlib.Path(default).expanduser()
        if kubeconfig is None and context is None and not path.exists():
            return None
        return kubernetes.config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(path), context=context, client_configuration=configuration)
    except (kubernetes.config.ConfigException, OSError, ValueError) as err:
        raise ClusterConfigError(f"cannot use kubeconfig {kubeconfig or ''}: {err}") from err
