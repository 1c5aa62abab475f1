"""What a pull request's changes do: per tenant, per pool, platform-wide.

Reviewers of a department's request want the answer to "what changes if we
merge this?", not a list of files: which tenants are new, resized, renamed or
removed, and what that does to each pool's allocation (tenants.allocation owns
the sums; this module only compares two reports), and which shared-service flows
(tenants.sharing) it opens, widens, narrows or breaks, with the departments whose
approval each of those needs beyond the changed files' owners. A change to platform.yaml,
departments.yaml or waivers.yaml affects every tenant, so it is summarised
field by field.

`analyse` is pure: it takes the changed files (tenants.gitops.git) and the two
registries already loaded, base (None when it did not exist or did not load)
and head.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from citycloud.tenants import allocation, models, sharing
from citycloud.tenants.gitops import git
from citycloud.tenants.platform import DEPARTMENTS_FILE, PLATFORM_FILE, WAIVERS_FILE, Platform


@dataclasses.dataclass(frozen=True)
class TenantEffect:
    tenant: str  # its name after the change (before, for a removal)
    department: str
    change: str  # new | changed | resized | renamed | moved | removed | unchanged
    file: str  # its file after the change (before, for a removal)
    pool: str
    details: tuple[str, ...] = ()  # "cpu 8 -> 16", "+namespace analytics", ...
    old_name: str = ""
    old_file: str = ""


@dataclasses.dataclass(frozen=True)
class PoolEffect:
    pool: str
    resource: str  # cpu (cores) | memory | storage (bytes)
    before: allocation.Usage | None  # None: the pool is new, or the base did not load
    after: allocation.Usage | None  # None: the pool is removed


@dataclasses.dataclass(frozen=True)
class FlowEffect:
    """A shared-service flow (consumer -> provider's service) the change opens or changes.

    granted: a flow that did not exist (a new request, or an audience that now admits an old
    one); widened: more ports; narrowed: fewer ports; broken: granted before, and the
    consumer still asks, but it is granted no more (service or tenant removed, audience
    narrowed, the consumer moved out of it). `approval` names the department whose consent
    it needs: the provider's for what opens its system (granted, widened), the consumer's
    for what takes access away from it (narrowed, broken)."""

    change: str  # granted | widened | narrowed | broken
    consumer: str
    consumer_department: str
    provider: str
    provider_department: str
    service: str
    details: tuple[str, ...]  # "new request", "ports -8443/TCP", "service removed", ...
    approval: str  # a department code

    @property
    def widens(self) -> bool:
        return self.change in ("granted", "widened")


@dataclasses.dataclass(frozen=True)
class Effects:
    tenants: list[TenantEffect]
    pools: list[PoolEffect]  # only pools and resources whose figures change
    platform: list[str]  # platform-wide changes, one line each
    flows: list[FlowEffect] = dataclasses.field(default_factory=list)

    @property
    def approvals(self) -> list[str]:
        """The departments whose consent the change's flows need, each once, sorted."""
        return sorted({flow.approval for flow in self.flows})


def analyse(files: Iterable[git.FileChange], *, base: Platform | None,
            head: Platform) -> Effects:
    files = list(files)
    return Effects(_tenant_effects(files, base=base, head=head),
                   _pool_effects(base, head), _platform_notes(files, base=base, head=head),
                   flow_effects(base, head))


# ---- tenants ------------------------------------------------------------------


def _tenant_effects(files: list[git.FileChange], *, base: Platform | None,
                    head: Platform) -> list[TenantEffect]:
    base_names = {f: n for n, f in base.tenant_files.items()} if base else {}
    head_names = {f: n for n, f in head.tenant_files.items()}
    pairs: dict[tuple[str | None, str | None], None] = {}  # (before, after) names, in order
    paired: set[str] = set()
    for change in files:
        if change.status is git.Status.RENAMED:
            before, after = base_names.get(change.old_path), head_names.get(change.path)
            if before and after and before != after:
                pairs[(before, after)] = None
                paired |= {before, after}
    for change in files:
        for name in (base_names.get(change.old_path or change.path),
                     head_names.get(change.path)):
            if name and name not in paired:
                pairs[(name, name)] = None
    effects = []
    for before_name, after_name in pairs:
        old = base.tenants.get(before_name or "") if base else None
        new = head.tenants.get(after_name or "")
        if old is not None or new is not None:
            effects.append(_tenant_effect(old, new, base=base, head=head))
    return sorted(effects, key=lambda e: (e.department, e.tenant))


def _tenant_effect(before: models.Tenant | None, after: models.Tenant | None, *,
                   base: Platform | None, head: Platform) -> TenantEffect:
    if after is None:
        assert before is not None and base is not None
        return TenantEffect(before.name, before.department, "removed",
                            base.tenant_files[before.name], before.spec.pool,
                            (f"frees {_quota_text(before)} in pool {before.spec.pool}",))
    file = head.tenant_files[after.name]
    if before is None:
        return TenantEffect(after.name, after.department, "new", file, after.spec.pool,
                            (f"MLPS level {after.spec.classification}", _quota_text(after),
                             f"namespaces {', '.join(after.spec.namespaces)}"))
    assert base is not None
    old_file = base.tenant_files[before.name]
    details = tuple(_differences(before, after))
    if before.name != after.name:
        change = "renamed"
    elif old_file != file:
        change = "moved"
    elif not details:
        change = "unchanged"  # only comments or formatting changed
    elif all(d.split()[0] in (*allocation.RESOURCES, "pods") for d in details):
        change = "resized"
    else:
        change = "changed"
    return TenantEffect(after.name, after.department, change, file, after.spec.pool, details,
                        old_name=before.name if before.name != after.name else "",
                        old_file=old_file if old_file != file else "")


def _quota_text(tenant: models.Tenant) -> str:
    quota = tenant.spec.quota
    return f"cpu {quota.cpu}, memory {quota.memory}, storage {quota.storage}"


def _differences(before: models.Tenant, after: models.Tenant) -> Iterable[str]:
    b, a = before.spec, after.spec
    if b.pool != a.pool:
        yield f"pool {b.pool} -> {a.pool}"
    if b.classification != a.classification:
        yield f"MLPS level {b.classification} -> {a.classification}"
    for resource in (*allocation.RESOURCES, "pods"):
        old, new = getattr(b.quota, resource), getattr(a.quota, resource)
        if old != new:
            yield f"{resource} {old} -> {new}"
    yield from _set_changes("namespace", b.namespaces, a.namespaces)
    yield from _set_changes("owner", b.owners, a.owners)
    yield from _set_changes("egress", b.egress, a.egress)
    old_nets = {n.name: n for n in b.networks}
    new_nets = {n.name: n for n in a.networks}
    for name in sorted(set(old_nets) | set(new_nets)):
        if name not in old_nets:
            net = new_nets[name]
            yield f"+network {name} ({net.cidr}, {net.purpose})"
        elif name not in new_nets:
            yield f"-network {name}"
        elif old_nets[name] != new_nets[name]:
            yield f"~network {name}: {', '.join(_fields_changed(old_nets[name], new_nets[name]))}"
    old_services = {s.name: s for s in b.services}
    new_services = {s.name: s for s in a.services}
    for name in sorted(set(old_services) | set(new_services)):
        if name not in old_services:
            yield f"+service {name} ({new_services[name].kind})"
        elif name not in new_services:
            yield f"-service {name}"
        elif old_services[name] != new_services[name]:
            changed = _fields_changed(old_services[name], new_services[name])
            yield f"~service {name}: {', '.join(changed)}"
    yield from _set_changes("consumes", (f"{c.tenant}/{c.service}" for c in b.consumes),
                            (f"{c.tenant}/{c.service}" for c in a.consumes))
    if before.metadata.description != after.metadata.description:
        yield "description changed"


def _set_changes(label: str, before: Iterable[str], after: Iterable[str]) -> Iterable[str]:
    old, new = set(before), set(after)
    yield from (f"+{label} {x}" for x in sorted(new - old))
    yield from (f"-{label} {x}" for x in sorted(old - new))


def _fields_changed(before: models.Model, after: models.Model) -> list[str]:
    return [(info.alias or name) for name, info in type(before).model_fields.items()
            if getattr(before, name) != getattr(after, name)]


# ---- pools --------------------------------------------------------------------


def _pool_effects(base: Platform | None,
                  head: Platform) -> list[PoolEffect]:
    before = {p.pool.name: p for p in allocation.report(base)} if base else {}
    after = {p.pool.name: p for p in allocation.report(head)}
    names = list(after) + [n for n in before if n not in after]
    effects = []
    for name in names:
        for resource in allocation.RESOURCES:
            old = before[name].usage[resource] if name in before else None
            new = after[name].usage[resource] if name in after else None
            if old is None or new is None or (old.allocated, old.allocatable) != (
                    new.allocated, new.allocatable):
                effects.append(PoolEffect(name, resource, old, new))
    return effects


# ---- shared-service flows ---------------------------------------------------------

FlowKey = tuple[str, str, str]  # consumer, provider, service


def _requests(platform: Platform | None) -> dict[FlowKey, sharing.Flow]:
    """Every request by (consumer, provider, service); the first, should one be repeated."""
    found: dict[FlowKey, sharing.Flow] = {}
    for flow in sharing.resolve(platform) if platform is not None else ():
        key = (flow.consumer.name, flow.request.tenant, flow.request.service)
        if flow.request.tenant != flow.consumer.name:
            found.setdefault(key, flow)
    return found


def _ports(flow: sharing.Flow) -> set[str]:
    assert flow.service is not None
    return {f"{p.port}/{p.protocol}" for p in flow.service.ports}


def _sorted_ports(ports: Iterable[str]) -> list[str]:
    return sorted(ports, key=lambda p: (int(p.split("/")[0]), p))


def flow_effects(base: Platform | None, head: Platform) -> list[FlowEffect]:
    """Flows the change opens, widens, narrows or breaks (no base: every flow is new).

    Both registries are resolved whole: a provider's edit breaks consumers whose files the
    pull request never touched, and those are the departments it must hear from."""
    before, after = _requests(base), _requests(head)
    effects = []
    for key, new in after.items():
        old = before.get(key)
        was_granted = old is not None and old.granted
        if new.granted and not was_granted:
            detail = "new request" if old is None else _admitted(new)
            effects.append(_flow_effect("granted", new, (detail,)))
        elif new.granted and old is not None:
            added, removed = _ports(new) - _ports(old), _ports(old) - _ports(new)
            if removed:
                effects.append(_flow_effect("narrowed", new, (
                    f"ports -{', -'.join(_sorted_ports(removed))}",)))
            if added:
                effects.append(_flow_effect("widened", new, (
                    f"ports +{', +'.join(_sorted_ports(added))}",)))
        elif was_granted:
            effects.append(_flow_effect("broken", new, (_why_not(new),)))
    return sorted(effects, key=lambda e: (e.provider, e.service, e.consumer, e.change))


def _flow_effect(change: str, flow: sharing.Flow, details: tuple[str, ...]) -> FlowEffect:
    consumer, request = flow.consumer, flow.request
    provider_department = flow.provider.department if flow.provider else ""
    approval = provider_department if change in ("granted", "widened") else consumer.department
    return FlowEffect(change, consumer.name, consumer.department, request.tenant,
                      provider_department, request.service, details, approval)


def _admitted(flow: sharing.Flow) -> str:
    assert flow.service is not None
    audience = flow.service.audience
    if flow.consumer.department in audience.departments:
        return f"the audience now admits department {flow.consumer.department}"
    if flow.consumer.spec.pool in audience.pools:
        return f"the audience now admits pool {flow.consumer.spec.pool}"
    return "the audience now admits the whole city"


def _why_not(flow: sharing.Flow) -> str:
    request = flow.request
    if flow.status is sharing.Status.UNKNOWN_TENANT:
        return f"tenant {request.tenant} no longer exists"
    if flow.status is sharing.Status.UNKNOWN_SERVICE:
        return f"{request.tenant} no longer publishes {request.service}"
    return (f"the audience no longer admits department {flow.consumer.department} or pool "
            f"{flow.consumer.spec.pool}")


# ---- platform-wide ------------------------------------------------------------


def _platform_notes(files: list[git.FileChange], *, base: Platform | None,
                    head: Platform) -> list[str]:
    kinds = set().union(*(f.kinds for f in files)) if files else set()
    notes: list[str] = []
    everyone = f"affects all {len(head.tenants)} tenants"
    if git.Kind.PLATFORM in kinds:
        notes.append(f"{PLATFORM_FILE} changed: {everyone}")
        if base is not None:
            b, a = base.spec.spec, head.spec.spec
            notes += _named_changes("pool", _by_name(b.pools), _by_name(a.pools))
            notes += _named_changes("shared network", _by_name(b.shared_networks),
                                    _by_name(a.shared_networks))
            if b.policies != a.policies:
                notes.append("policy settings changed: "
                             + ", ".join(_fields_changed(b.policies, a.policies)))
            if b.address_pools != a.address_pools:
                notes.append("address pools changed")
    if git.Kind.DEPARTMENTS in kinds:
        notes.append(f"{DEPARTMENTS_FILE} changed")
        if base is not None:
            notes += _named_changes("department", base.departments, head.departments)
    if git.Kind.WAIVERS in kinds:
        old = {(w.policy, w.tenant): w for w in base.waivers} if base else {}
        new = {(w.policy, w.tenant): w for w in head.waivers}
        notes.append(f"{WAIVERS_FILE} changed: {len(old)} -> {len(new)} waivers")
        notes += [f"+waiver {p} for {t} (approved by {new[(p, t)].approver}, expires "
                  f"{new[(p, t)].expires})" for p, t in sorted(set(new) - set(old))]
        notes += [f"-waiver {p} for {t}" for p, t in sorted(set(old) - set(new))]
        notes += [f"~waiver {p} for {t}: {', '.join(_fields_changed(old[(p, t)], new[(p, t)]))}"
                  for p, t in sorted(set(old) & set(new)) if old[(p, t)] != new[(p, t)]]
    if git.Kind.POLICIES in kinds:
        notes.append(f"policies/ changed: {everyone}")
    return notes


def _by_name(items: Iterable[Any]) -> dict[str, Any]:
    return {item.name: item for item in items}


def _named_changes(label: str, before: Mapping[str, models.Model],
                   after: Mapping[str, models.Model]) -> list[str]:
    notes = [f"+{label} {n}" for n in after if n not in before]
    notes += [f"-{label} {n}" for n in before if n not in after]
    notes += [f"~{label} {n}: {', '.join(_fields_changed(before[n], after[n]))}"
              for n in after if n in before and before[n] != after[n]]
    return notes
