"""Offboarding: the one path by which a tenant's namespaces may be deleted.

A tenant's resource in its shard (stacks.objects) never deletes a namespace on an
update and keeps its objects when it leaves the stack (retain-on-delete), so no registry
edit can delete one. `citycloud offboard TENANT` can, in this order:

1. lock the tenant and its shard, and recover the shard if an earlier run was
   interrupted;
2. read the tenant's namespaces from its resource's outputs in the shard's state (the
   tenant may already be gone from the registry: that is the usual order, a pull request
   first);
3. refuse while the namespaces hold PersistentVolumeClaims, read from the
   cluster, unless forced: their volumes would go with them;
4. ask for confirmation (the Reporter; --yes skips it);
5. write the record to STATE/offboarded/ (status "started"), lift retain-on-delete of
   its resource in the shard's state, destroy that resource alone (its provider deletes
   the objects, namespaces last), and complete the record ("done", or "failed" with the
   error): the record exists whatever happens after the confirmation. A tenant not yet
   moved from a stack of its own (the first layout) is offboarded from that stack, which
   is then removed;
6. name the onboarded tenants holding the other end of one of its doors
   (Result.counterparts), which the CLI then converges.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import getpass
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from citycloud.stacks import changes, engine, errors, layout, locks, operations, programs
from citycloud.tenants import kubeapi, sharing_map, units
from citycloud.tenants.platform import Platform

NAMESPACE_TYPE = changes.NAMESPACE_TYPE
ClaimLister = Callable[[Sequence[str]], list[str]]


@dataclasses.dataclass(frozen=True)
class Plan:
    tenant: str
    namespaces: list[str]
    resources: list[tuple[str, str]]  # (kind, logical name) of everything that will be deleted
    claims: list[str]  # namespace/name of PersistentVolumeClaims found
    outputs: dict[str, Any]  # the stack's outputs: tenant, department, pool, namespaces
    in_registry: bool  # still placed there in the registry: the next apply would onboard it again


@dataclasses.dataclass
class Result:
    plan: Plan
    confirmed: bool
    record: str = ""  # path of the record written
    # Onboarded tenants holding the other end of a shared-service door with this one (as
    # deployed): their stacks still carry a rule naming its namespaces until converged.
    counterparts: list[str] = dataclasses.field(default_factory=list)


class Reporter(Protocol):
    def begin(self, phase: str, total: int) -> None: ...

    def journal(self, ref: layout.StackRef, phase: str) -> changes.Journal: ...

    def confirm_offboard(self, plan: Plan) -> bool: ...


def volume_claims(namespaces: Sequence[str], *, cluster: programs.Cluster) -> list[str]:
    """PersistentVolumeClaims in these namespaces, as namespace/name, read from the cluster."""
    if cluster.render_to:  # no cluster: stacks write YAML files
        return []
    api = kubeapi.api_client(kubeconfig=cluster.kubeconfig, context=cluster.context,
                             required=True)
    core = kubeapi.core_v1(api)
    found = []
    try:
        for namespace in namespaces:
            try:
                claims = kubeapi.list_all(
                    core.list_namespaced_persistent_volume_claim, namespace=namespace,
                    reading=f"the PersistentVolumeClaims in {namespace}", timeout=30)
            except kubeapi.NotFound:
                continue
            found += [f"{namespace}/{(claim.get('metadata') or {}).get('name', '?')}"
                      for claim in claims["items"]]
    finally:
        api.close()
    return sorted(found)


def _plan(name: str, resources: list[dict[str, Any]], *, claims: ClaimLister,
          in_registry: bool) -> Plan:
    namespaces = sorted(str(r.get("outputs", {}).get("metadata", {}).get("name")
                            or r["urn"].rsplit("::", 1)[-1])
                        for r in resources if r.get("type") == NAMESPACE_TYPE)
    outputs = next((dict(r.get("outputs") or {}) for r in resources
                    if r.get("type") == "pulumi:pulumi:Stack"), {})
    doomed = [(str(r["type"]).rsplit(":", 1)[-1], str(r["urn"]).rsplit("::", 1)[-1])
              for r in resources if r.get("custom") and not str(r["type"]).startswith("pulumi:")]
    return Plan(name, namespaces, doomed, claims(namespaces) if namespaces else [], outputs,
                in_registry=in_registry)


def _objects_urn(shard: layout.StackRef, unit: str) -> str:
    from citycloud.stacks import objects  # the SDK: only once a stack is opened

    return objects.urn(stack=shard.name, project=shard.project, unit=unit)


def _unit_plan(name: str, resources: list[dict[str, Any]], *, urn: str, claims: ClaimLister,
               in_registry: bool) -> Plan:
    """What offboarding a tenant unit of a shard deletes: the objects its resource applied."""
    found = next((r for r in resources if r.get("urn") == urn), None)
    if found is None:
        raise errors.ApplyError(urn, "offboard", detail=(
            "  the shard's state holds no resource for this tenant; run 'citycloud apply' "
            "to converge it, then offboard it"))
    outputs = dict(found.get("outputs") or {})
    namespaces = sorted(outputs.get("namespaces") or [])
    doomed = []
    for key in outputs.get("applied") or []:
        _, kind, namespace, object_name = str(key).rsplit("/", 3)
        doomed.append((kind, f"{namespace}/{object_name}" if namespace else object_name))
    return Plan(name, namespaces, doomed, claims(namespaces) if namespaces else [],
                dict(outputs.get("about") or {}), in_registry=in_registry)


def offboard(name: str, *, runner: engine.Engine, reporter: Reporter, force: bool = False,
             platform: Platform | None = None, cluster: str | None = None,
             claims: ClaimLister | None = None, dry_run: bool = False) -> Result:
    """Delete a tenant's stack and everything in it, after the checks above.

    A tenant on several clusters (disaster recovery, or moved) is offboarded one cluster
    at a time, named by `cluster`. With `dry_run`, only find what would be deleted
    (namespaces, objects, claims, read from the stack's state and the cluster) and return
    it unconfirmed: nothing changes, not even the recovery of an interrupted run.
    """
    state = runner.state
    ref = layout.tenant(_stack_of(state, name, cluster))
    at = units.split(ref.name)[1]
    connection = runner.cluster.placed(platform, at) if platform else runner.cluster
    lister = claims or (lambda namespaces: volume_claims(namespaces, cluster=connection))
    record = state.read_record(ref)
    # Its shard (stacks/README.md), or, where it was onboarded before shards and not
    # applied since, a stack of its own.
    holder = (layout.StackRef(layout.Kind.TENANT, record.shard, shard=True)
              if record is not None and record.shard and not state.in_backend(ref) else ref)
    only = None if holder == ref else [
        _objects_urn(holder, ref.name)]
    with contextlib.ExitStack() as exits:
        exits.enter_context(locks.hold(state.lock_path(ref), stack=str(ref)))
        if holder != ref:  # a shard, shared with other tenants: wait for it
            exits.enter_context(locks.hold(state.lock_path(holder), stack=str(holder),
                                           wait=operations.POOL_LOCK_WAIT))
        stack = runner.stack(holder)
        held = state.read_record(holder)
        if (held is None or held.interrupted or record is None or record.interrupted) and (
                not dry_run):
            runner.recover(stack, holder, reporter.journal(holder, "recover"))
        placed = (platform is not None and name in platform.tenants
                  and at in platform.placements(platform.tenants[name]))
        resources = runner.resources(stack, holder)
        plan = (_plan(name, resources, claims=lister, in_registry=placed) if only is None
                else _unit_plan(name, resources, urn=only[0], claims=lister, in_registry=placed))
        if dry_run:
            return Result(plan, confirmed=False)
        if plan.claims and not force:
            shown = ", ".join(plan.claims[:10]) + (" ..." if len(plan.claims) > 10 else "")
            raise errors.OffboardRefused(
                f"tenant {name} still has {len(plan.claims)} PersistentVolumeClaim(s): {shown}. "
                "Offboarding deletes its namespaces and these volumes with them. Move or delete "
                "the data first, or pass --force to delete it anyway")
        if not reporter.confirm_offboard(plan):
            return Result(plan, confirmed=False)
        path = state.offboarded_dir / f"{name}-{_stamp()}.json"
        entry = _record(plan, force=force, state=state)
        layout.write_json(path, entry)
        state.write_record(ref, layout.Record("running", operation="offboard",
                                              shard=record.shard if record else ""))
        try:
            runner.release(stack, holder, urns=only)
            reporter.begin("destroy", 1)
            runner.destroy(stack, holder, reporter.journal(holder, "destroy"), target=only)
            if only is None:
                runner.remove(stack, holder)
        except errors.StackError as err:
            layout.write_json(path, entry | {"status": "failed", "error": str(err),
                                             "ended": _now()})
            state.write_record(ref, layout.Record("failed", operation="offboard",
                                                  shard=record.shard if record else ""))
            raise
        layout.write_json(path, entry | {"status": "done", "ended": _now()})
        state.forget(ref)
        if only is None:
            state.prune_history(ref, keep=0)  # the offboarded record above is what is kept
    doors = sharing_map.deployed_grants(state.deployed_dir, folders=[ref.name])
    parties = {party for grant in doors for party in sharing_map.parties(grant)} - {name}
    operations.update_deployed(state, applied={}, removed=[ref.name])
    onboarded = {units.split(key)[0] for key in state.stack_names(layout.Kind.TENANT)}
    return Result(plan, confirmed=True, record=str(path),
                  counterparts=sorted(parties & onboarded))


def _stack_of(state: layout.StateDir, name: str, cluster: str | None) -> str:
    """The one stack of `name` to offboard: on `cluster`, or its only one."""
    operations.require_onboarded(state, name)
    keys = operations.tenant_stacks(state, name)
    on = {units.split(key)[1] or "(the command line's cluster)": key for key in keys}
    if cluster is not None:
        if units.key(name, cluster) not in keys:
            raise errors.UsageError(f"tenant {name} has no stack on cluster {cluster!r}; it "
                                    f"runs on {', '.join(on)}")
        return units.key(name, cluster)
    if len(keys) > 1:
        raise errors.UsageError(f"tenant {name} runs on {len(keys)} clusters ({', '.join(on)}):"
                                " offboard one at a time with --cluster NAME")
    return keys[0]


def _record(plan: Plan, *, force: bool, state: layout.StateDir) -> dict[str, Any]:
    return {
        "tenant": plan.tenant,
        "department": plan.outputs.get("department", ""),
        "pool": plan.outputs.get("pool", ""),
        "cluster": plan.outputs.get("cluster", ""),
        "namespaces": plan.namespaces,
        "resources": [f"{kind} {name}" for kind, name in plan.resources],
        "persistentVolumeClaims": plan.claims,
        "forced": force,
        "stillInRegistry": plan.in_registry,
        "by": _user(),
        "started": _now(),
        "status": "started",
        "stateDir": str(state.root),
    }


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _stamp() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
