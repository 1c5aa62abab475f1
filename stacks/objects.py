"""A unit's objects as one Pulumi resource, `citycloud:Objects`, server-side-applied.

The layout stacks/README.md measures ("Next: one resource per tenant, a stack per shard")
holds one such resource per tenant unit. Its provider is a Pulumi dynamic provider: the
engine runs it in a process of its own, the `pulumi-resource-pulumi-python` plugin
(`plugin` below, a console script of the wheel: the Pulumi CLI's release archive carries
the same one-line launcher, our build from Go modules does not). dill pickles the provider
by reference (this module), so that process imports it from the same install.

- Inputs: the unit's key, its objects' fingerprint and the folder their file is staged in
  (stacks.layout.StateDir.stage), and how to reach the cluster. The objects themselves
  stay out of the engine's state: its work on an unchanged unit is a hash, whatever the
  unit holds.
- create and update server-side-apply every object (forced: citycloud owns them, so a
  retried create adopts what an interrupted one made); update then deletes the objects it
  no longer renders, but never a Namespace: dropping one is refused (only offboarding
  deletes a namespace, by deleting the resource). delete deletes every object it applied,
  namespaces last.
- Outputs: the keys of the objects applied and the namespaces among them (what delete and
  offboarding need).
- Without a cluster (`renderTo`), each object is written as YAML to renderTo/<unit>/, as
  the Kubernetes provider's renderYamlToDirectory does, so the engine runs in tests
  without an API server.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import threading
from collections.abc import Sequence
from typing import Any

from pulumi import CustomResource, ResourceOptions
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult
from pulumi.dynamic.dynamic import serialize_provider

from citycloud.tenants import files, kubeapi, manifests, render

FIELD_MANAGER = "citycloud"
_NAMESPACE = ("v1", "Namespace")


def key(manifest: render.Manifest) -> str:
    """An object's key in the outputs: apiVersion/kind/namespace/name (apiVersion may hold
    a slash, the other three never do)."""
    return "/".join(render.key(manifest))


def split(object_key: str) -> tuple[str, str, str, str]:
    api_version, kind, namespace, name = object_key.rsplit("/", 3)
    return api_version, kind, namespace, name


def _staged(props: dict[str, Any]) -> list[render.Manifest]:
    path = pathlib.Path(props["staged"]) / f"{props['fingerprint']}.json"
    try:
        found: list[render.Manifest] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{props['unit']}: its objects are not staged at {path} ({err}); "
                         "run it through citycloud apply, which stages them") from err
    return found


class Provider(ResourceProvider):
    """Creates, updates and deletes a unit's objects in its cluster (or its folder)."""

    serialize_as_secret_always = False  # nothing secret: no encryption per resource

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {}  # clients and locks are the process's own

    def __setstate__(self, _state: dict[str, Any]) -> None:
        self._lock = threading.Lock()
        self._clients = {}

    def _api(self, props: dict[str, Any]) -> Any:
        """One API client per cluster, for every call the engine makes in this process."""
        where = (props.get("kubeconfig") or "", props.get("context") or "")
        with self._lock:
            if where not in self._clients:
                self._clients[where] = kubeapi.api_client(
                    kubeconfig=where[0] or None, context=where[1] or None, required=True)
            return self._clients[where]

    def _apply(self, props: dict[str, Any]) -> dict[str, Any]:
        objects = _staged(props)
        if props.get("renderTo"):
            _write(pathlib.Path(props["renderTo"]) / props["unit"], objects)
        else:
            kubeapi.server_side_apply(self._api(props), objects, field_manager=FIELD_MANAGER)
        return {**props, "applied": [key(m) for m in objects],
                "namespaces": [m["metadata"]["name"] for m in objects
                               if (m["apiVersion"], m["kind"]) == _NAMESPACE]}

    def _delete(self, props: dict[str, Any], keys: Sequence[str]) -> None:
        if props.get("renderTo"):
            folder = pathlib.Path(props["renderTo"]) / props["unit"]
            for object_key in keys:
                (folder / f"{_file(object_key)}").unlink(missing_ok=True)
            return
        ordered = sorted(keys, key=lambda k: split(k)[:2] == _NAMESPACE)  # namespaces last
        kubeapi.delete_objects(self._api(props), [split(k) for k in ordered])

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=props["unit"], outs=self._apply(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        fields = ("fingerprint", "kubeconfig", "context", "renderTo")
        changed = [f for f in fields if olds.get(f) != news.get(f)]
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        wanted = {key(m) for m in _staged(news)}
        dropped = [k for k in olds.get("applied") or () if k not in wanted]
        namespaces = [split(k)[3] for k in dropped if split(k)[:2] == _NAMESPACE]
        if namespaces:
            raise ValueError(
                f"{news['unit']}: refused to delete namespace(s) {', '.join(namespaces)}: "
                "only 'citycloud offboard' deletes a tenant's namespaces; put them back in "
                "the tenant file, or offboard the tenant")
        outs = self._apply(news)
        self._delete(news, dropped)
        return UpdateResult(outs=outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        self._delete(props, list(props.get("applied") or ()))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """What the state says (a refresh clears pending operations; the next update
        applies every object again anyway)."""
        return ReadResult(id_=id_, outs=props)


class Objects(CustomResource):
    """One unit's objects. `provider`: `serialized_provider()`, made once per run;
    `connection`: kubeconfig, context, renderTo (any may be None); `about`: what
    offboarding's record says of it (tenant, department, pool, cluster), kept in the state
    and never a reason to apply again.

    A CustomResource of the dynamic provider's type rather than a pulumi.dynamic.Resource:
    that one pickles its provider for every resource, and the SDK's pickling patches the
    standard pickler anew each time without undoing it, so a process registering about a
    thousand of them exceeded the recursion limit (found applying 1,000 tenants)."""

    def __init__(self, unit: str, *, provider: str, fingerprint: str, staged: pathlib.Path,
                 connection: dict[str, str | None], about: dict[str, str],
                 opts: ResourceOptions | None = None) -> None:
        props = {"__provider": provider, "unit": unit, "fingerprint": fingerprint,
                 "staged": str(staged), **{k: v for k, v in connection.items() if v},
                 "about": about, "applied": None, "namespaces": None}
        super().__init__(TYPE, unit, props, opts)


def serialized_provider() -> str:
    """The provider as the engine's plugin process unpickles it (by reference to this
    module): make it once per run (stacks.engine.Engine.dynamic_provider)."""
    return str(serialize_provider(Provider()))


TYPE = "pulumi-python:dynamic/citycloud:Objects"


def urn(*, stack: str, project: str, unit: str) -> str:
    return f"urn:pulumi:{stack}::{project}::{TYPE}::{unit}"


def _file(object_key: str) -> str:
    api_version, kind, namespace, name = split(object_key)
    return manifests.file_name({"apiVersion": api_version, "kind": kind,
                                "metadata": {"name": name, "namespace": namespace}})


def _write(folder: pathlib.Path, objects: Sequence[render.Manifest]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for manifest in objects:
        files.write_atomic(folder / manifests.file_name(manifest), manifests.to_yaml(manifest))


def plugin() -> None:
    """`pulumi-resource-pulumi-python`: the engine starts it to run dynamic providers, and
    reads the port it serves on from its first line, so its output must be unbuffered
    (`python -u`, as the Pulumi CLI's own launcher runs it)."""
    os.execv(sys.executable, [sys.executable, "-u", "-m", "pulumi.dynamic", *sys.argv[1:]])
