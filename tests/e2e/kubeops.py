"""Reading and poking the real API server from the tests: objects, admission, waiting.

The comparisons are "the cluster holds at least what was rendered": the API
server adds defaults and metadata of its own (uid, managedFields, the
`kubernetes.io/metadata.name` label), so a rendered object must be contained
in the live one, field by field, with quantities compared by value ("1Gi" and
"1024Mi" are the same quota).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import kubernetes
from kubernetes.client import ApiException

from citycloud.tenants import quantities, render

T = TypeVar("T")

# Kinds a tenant is made of (render.render_tenant), to find every object labelled with it.
TENANT_KINDS = (
    ("v1", "Namespace"), ("v1", "ResourceQuota"), ("v1", "LimitRange"),
    ("networking.k8s.io/v1", "NetworkPolicy"), ("rbac.authorization.k8s.io/v1", "RoleBinding"),
)
# Errors of an API server that has not caught up yet: a quota whose status the
# controller-manager has not filled, a namespace whose `default` account is not made yet.
TRANSIENT = ("status unknown for quota", "error looking up service account")


def key(manifest: dict[str, Any]) -> str:
    _, kind, namespace, name = render.key(manifest)
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


class Kube:
    """Admin access to the test cluster through the kubernetes client."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.core = kubernetes.client.CoreV1Api(api)
        self.rbac = kubernetes.client.RbacAuthorizationV1Api(api)
        self.authz = kubernetes.client.AuthorizationV1Api(api)
        self.custom = kubernetes.client.CustomObjectsApi(api)
        self.extensions = kubernetes.client.ApiextensionsV1Api(api)
        self.admission = kubernetes.client.AdmissionregistrationV1Api(api)
        self.dynamic = kubernetes.dynamic.DynamicClient(api)

    def resource(self, api_version: str, kind: str) -> Any:
        return self.dynamic.resources.get(api_version=api_version, kind=kind)

    def live(self, manifest: dict[str, Any]) -> dict[str, Any] | None:
        """The object the manifest names, as the API server has it; None if absent."""
        api_version, kind, namespace, name = render.key(manifest)
        try:
            found = self.resource(api_version, kind).get(name=name, namespace=namespace or None)
        except kubernetes.dynamic.exceptions.NotFoundError:
            return None
        result: dict[str, Any] = found.to_dict()
        return result

    def labelled(self, selector: str) -> set[str]:
        """Keys (kind/namespace/name) of every tenant-kind object matching `selector`."""
        found = set()
        for api_version, kind in TENANT_KINDS:
            items = self.resource(api_version, kind).get(label_selector=selector).items
            for item in items:
                found.add(key({"apiVersion": api_version, "kind": kind,
                               "metadata": item.metadata.to_dict()}))
        return found

    def namespace_phase(self, name: str) -> str | None:
        try:
            namespace = self.core.read_namespace(name)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        return str(namespace.status.phase)


def differences(live: Any, wanted: Any, path: str = "") -> list[str]:
    """Where `live` does not contain `wanted` (dict keys, list items, equal scalars)."""
    if isinstance(wanted, dict):
        if not isinstance(live, dict):
            return [f"{path}: {live!r} is not a mapping"]
        found = []
        for name, value in wanted.items():
            if name not in live:
                # The API server leaves out what equals its default (false, empty).
                if value not in (False, None, [], {}):
                    found.append(f"{path}.{name}: missing")
            else:
                found += differences(live[name], value, f"{path}.{name}")
        return found
    if isinstance(wanted, list):
        if not isinstance(live, list) or len(live) != len(wanted):
            return [f"{path}: {live!r} != {wanted!r}"]
        return [d for i, (a, b) in enumerate(zip(live, wanted, strict=True))
                for d in differences(a, b, f"{path}[{i}]")]
    if live == wanted or _same_quantity(live, wanted):
        return []
    return [f"{path}: {live!r} != {wanted!r}"]


def _same_quantity(a: Any, b: Any) -> bool:
    if not (isinstance(a, str) and isinstance(b, str)):
        return False
    try:
        return quantities.parse(a).value == quantities.parse(b).value
    except quantities.QuantityError:
        return False


def eventually(check: Callable[[], T | None], *, timeout: float = 60,
               interval: float = 0.5, what: str = "condition") -> T:
    """Call `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            result = check()
        except ApiException as err:
            result, last = None, f"{err.status} {err.reason}: {message(err)}"
        except AssertionError as err:
            result, last = None, str(err)
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout:.0f}s (last: {last})")
        time.sleep(interval)


def message(err: ApiException) -> str:
    """The API server's own message in an error response (the body is a Status object)."""
    try:
        return str(json.loads(err.body).get("message", err.body))
    except (TypeError, ValueError):
        return str(err.body)


def attempt(create: Callable[[], Any]) -> tuple[bool, str]:
    """(admitted, message) of one request; transient refusals are retried for a while."""
    deadline = time.monotonic() + 60
    while True:
        try:
            create()
            return True, ""
        except ApiException as err:
            text = message(err)
            if (any(t in text for t in TRANSIENT) and time.monotonic() < deadline):
                time.sleep(0.5)
                continue
            if err.status in (400, 403, 404, 409, 422) or err.status >= 500:
                return False, f"{err.status}: {text}"
            raise


def refused(create: Callable[[], Any], *, timeout: float = 30) -> str:
    """The refusal message of a request the cluster must refuse.

    ValidatingAdmissionPolicies are enforced a moment after they are created
    (the API server loads them through an informer), so an admitted request is
    retried until `timeout`: requests here are dry runs and change nothing.
    """
    deadline = time.monotonic() + timeout
    while True:
        admitted, text = attempt(create)
        if not admitted:
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"admitted, but should have been refused ({timeout:.0f}s)")
        time.sleep(0.5)


def admitted(create: Callable[[], Any]) -> None:
    ok, text = attempt(create)
    assert ok, f"refused, but should have been admitted: {text}"


def names(items: Iterable[Any]) -> list[str]:
    return sorted(item.metadata.name for item in items)
