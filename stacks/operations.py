"""Converging stacks to the registry: apply, onboard and resize, preview first, always.

Every change runs the same pipeline per stack, under the stack's lock:

1. skip: the stack's journal says its last apply succeeded with the same
   fingerprint (rendered objects, cluster, program version): nothing to do,
   and the engine is not even started. This keeps `apply` of 2,000 tenants
   proportional to what changed;
2. preview: our own diff of the rendering against what the last run applied (a pool
   stack whose records cannot vouch for that: the engine's, after recovering what an
   interrupted run left); a step that deletes or replaces a namespace blocks the unit;
3. confirm once for all units (the Reporter asks, or --yes);
4. update: pool stacks first, then the tenants, one engine run per shard holding changed
   tenants (on those alone); the journals record running -> ok | failed, so a killed run
   is recovered and applied again by the next one.

The Reporter is how the CLI shows progress and asks for confirmation; nothing
here prints.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import enum
import hashlib
import json
import pathlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from citycloud.stacks import changes, engine, errors, layout, locks, programs
from citycloud.tenants import (
    kubeapi,
    manifests,
    models,
    plan,
    render,
    sharing,
    sharing_map,
    units,
)
from citycloud.tenants.platform import Platform

# Bump when the programs change what they register or how (names, options): forces every
# stack through the engine once, even where the rendered objects did not change.
PROGRAM_VERSION = "2"  # 2: tenant units moved to shard stacks (stacks/README.md)
POOL_LOCK_WAIT = 600.0  # seconds an onboarding waits for another one's pool stack update


class Status(enum.StrEnum):
    UNCHANGED = "unchanged"  # same fingerprint as the last successful apply: engine not run
    IN_SYNC = "in-sync"  # previewed, nothing to change
    CHANGES = "changes"  # previewed, changes waiting for confirmation
    APPLIED = "applied"
    BLOCKED = "blocked"  # would delete or replace a namespace: refused
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class Target:
    """A stack and what it should hold."""

    ref: layout.StackRef
    program: programs.Program | None  # a pool's; a tenant unit's is its shard's (update)
    manifests: list[render.Manifest]
    fingerprint: str
    pool: str  # the pool unit it stands on (a pool stack: itself): <pool>[.<cluster>]
    engine: str  # engine_key: what besides the objects the engine's result depends on
    cluster: str  # the registry's cluster it applies to ("": the implicit one)
    connection: programs.Cluster  # how the provider reaches it
    shard: layout.StackRef | None = None  # a tenant unit's: the stack that holds it
    about: dict[str, str] = dataclasses.field(default_factory=dict)  # programs.about


@dataclasses.dataclass
class Outcome:
    ref: layout.StackRef
    status: Status
    steps: list[changes.Step] = dataclasses.field(default_factory=list)
    error: str = ""
    recovered: bool = False  # an interrupted earlier run was cleaned up first
    unreachable: bool = False  # its cluster did not answer: the engine was not started

    @property
    def dangerous(self) -> list[changes.Step]:
        return [step for step in self.steps if step.dangerous]


@dataclasses.dataclass
class Result:
    outcomes: list[Outcome]
    dry_run: bool
    confirmed: bool = True
    orphans: list[str] = dataclasses.field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in (Status.FAILED, Status.BLOCKED)]

    @property
    def changed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.steps]

    @property
    def clusters_down(self) -> list[str]:
        """The declared clusters that did not answer this run."""
        return sorted({units.split(o.ref.name)[1] for o in self.outcomes if o.unreachable})


class Reporter(Protocol):
    def begin(self, phase: str, total: int) -> None:
        """A phase (preview, update) starts for `total` stacks."""

    def journal(self, ref: layout.StackRef, phase: str) -> changes.Journal:
        """A Journal for one engine run; it may report progress as events arrive."""

    def finished(self, outcome: Outcome, phase: str) -> None:
        """One stack is through a phase (preview or update)."""

    def confirm(self, outcomes: Sequence[Outcome]) -> bool:
        """Show the previewed changes; return whether to apply them."""


# ---- targets -------------------------------------------------------------------------------


def fingerprint(manifests: Sequence[render.Manifest], *, cluster: programs.Cluster) -> str:
    document = {"program": PROGRAM_VERSION, "cluster": cluster.fingerprint(),
                "manifests": list(manifests)}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def engine_key(cluster: programs.Cluster) -> str:
    """The program version and cluster settings: a change to either can change what the
    engine does (resource options, the provider) while every object stays the same."""
    document = f"{PROGRAM_VERSION}|{cluster.fingerprint()}"
    return hashlib.sha256(document.encode()).hexdigest()[:16]


def _target(unit: units.Unit, *, platform: Platform, pool: str,
            cluster: programs.Cluster) -> Target:
    """A unit's stack: its program is handed the unit's rendered objects, never renders."""
    ref = layout.StackRef(unit.kind, unit.key)
    placed = cluster.placed(platform, unit.cluster)
    tenant = unit.kind is units.Kind.TENANT
    return Target(ref, None if tenant else programs.program(unit, cluster=placed),
                  unit.manifests, fingerprint(unit.manifests, cluster=placed),
                  pool=units.key(pool, unit.cluster), engine=engine_key(placed),
                  cluster=unit.cluster, connection=placed,
                  shard=layout.shard_of(unit.name, cluster=unit.cluster)
                  if tenant else None,
                  about=programs.about(platform, unit) if tenant else {})


def targets(platform: Platform, *, cluster: programs.Cluster,
            tenants: Sequence[str] | None = None) -> list[Target]:
    """Pool stacks first, then tenant stacks: every unit, or the named tenants' units and
    their pools' units on the clusters they are placed on (and on no other)."""
    chosen = list(platform.tenants) if tenants is None else list(tenants)
    unknown = [name for name in chosen if name not in platform.tenants]
    if unknown:
        raise errors.UsageError(
            f"not in the registry: {', '.join(unknown)} (tenants are "
            "tenants/<department>/<tenant>.yaml; 'citycloud validate' lists problems)")
    placed = [unit for name in chosen for unit in units.tenant_units(platform, name)]
    wanted = {(platform.tenants[u.name].spec.pool, u.cluster) for u in placed}
    pools = [unit for name in platform.pools for unit in units.pool_units(platform, name)
             if tenants is None or (name, unit.cluster) in wanted]
    return ([_target(unit, platform=platform, pool=unit.name, cluster=cluster)
             for unit in pools]
            + [_target(unit, platform=platform, pool=platform.tenants[unit.name].spec.pool,
                       cluster=cluster) for unit in placed])


def tenant_stacks(state: layout.StateDir, name: str) -> list[str]:
    """A tenant's stacks (unit keys): one per cluster it was applied on."""
    return sorted(key for key in state.stack_names(layout.Kind.TENANT)
                  if units.split(key)[0] == name)


def tenant_folders(platform: Platform | None, state: layout.StateDir, name: str) -> list[str]:
    """A tenant's unit folders, deployed or wanted: its stacks' and its placements' keys."""
    keys = set(tenant_stacks(state, name))
    if platform is not None and name in platform.tenants:
        keys |= {units.key(name, c) for c in platform.placements(platform.tenants[name])}
    return sorted(keys)


def orphans(platform: Platform, state: layout.StateDir) -> list[str]:
    """Tenant stacks no unit of the registry owns (the tenant left the registry, or left
    that cluster): reported, never deleted by apply."""
    wanted = {u.key for name in platform.tenants for u in units.tenant_units(platform, name)}
    return sorted(state.stack_names(layout.Kind.TENANT) - wanted)


# ---- the pipeline --------------------------------------------------------------------------


class _Held:
    """Stack locks held from preview to update, released together at the end."""

    def __init__(self, state: layout.StateDir) -> None:
        self.state = state
        self._held: dict[layout.StackRef, Any] = {}

    def take(self, ref: layout.StackRef) -> None:
        # A pool stack is shared by every onboarding into the pool: wait for it. A tenant's
        # stack held by another process means two people change one tenant: refuse at once.
        lock = locks.hold(self.state.lock_path(ref), stack=str(ref),
                          wait=POOL_LOCK_WAIT if ref.kind is layout.Kind.POOL else 0)
        lock.__enter__()
        self._held[ref] = lock

    def release(self, ref: layout.StackRef) -> None:
        lock = self._held.pop(ref, None)
        if lock is not None:
            lock.__exit__(None, None, None)

    def release_all(self) -> None:
        for ref in list(self._held):
            self.release(ref)


Item = TypeVar("Item")
Done = TypeVar("Done")


def _parallel(items: Sequence[Item], work: Callable[[Item], Done], parallel: int) -> list[Done]:
    if parallel <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(work, items))



def converge(chosen: Sequence[Target], *, runner: engine.Engine, reporter: Reporter,
             dry_run: bool = False, force: bool = False, refresh: bool = False,
             parallel: int = 1, probe: Probe | None = None) -> Result:
    """Preview every target that may have changed, confirm, then update pools before tenants.

    `force` runs every stack through the engine; `refresh` also reads every
    object back from the cluster first, so drift is found and corrected.
    """
    force = force or refresh
    state = runner.state
    keep = layout.history_depth()  # a bad setting stops the run before any change
    held = _Held(state)
    stacks: dict[layout.StackRef, Any] = {}
    outcomes: dict[layout.StackRef, Outcome] = {}
    todo = []
    for target in chosen:
        record = state.read_record(target.ref)
        if (not force and record is not None and not record.interrupted
                and record.fingerprint == target.fingerprint):
            outcomes[target.ref] = Outcome(target.ref, Status.UNCHANGED)
        else:
            todo.append(target)
    # A cluster that does not answer fails its own stacks at once; the others go on.
    down = unreachable(todo, probe=probe or reach)
    for target in [t for t in todo if t.cluster in down]:
        outcomes[target.ref] = Outcome(target.ref, Status.FAILED, unreachable=True, error=(
            f"{target.ref}: cluster {target.cluster} did not answer: {down[target.cluster]}"))
        reporter.finished(outcomes[target.ref], "preview")
    todo = [t for t in todo if t.cluster not in down]

    def preview(target: Target) -> Outcome:
        ref = target.ref
        outcome = Outcome(ref, Status.FAILED)
        try:
            held.take(ref)
            record = state.read_record(ref)
            if target.shard is not None:
                outcome.steps = own_preview(target.manifests, _deployed(target, state))
                outcome.status = (
                    Status.BLOCKED if outcome.dangerous
                    else Status.CHANGES if outcome.steps or _unsure(target, record, force)
                    else Status.IN_SYNC)
                return _previewed(outcome)
            deployed = None if force else _engine_state(target, record, runner=runner)
            if deployed is not None:
                outcome.steps = own_preview(target.manifests, deployed)
            else:
                stack = stacks[ref] = runner.stack(ref, target.program)
                if not dry_run and record is not None and record.interrupted:
                    outcome.recovered = runner.recover(stack, ref,
                                                       reporter.journal(ref, "recover"))
                journal = reporter.journal(ref, "preview")
                try:
                    runner.preview(stack, ref, journal, refresh=refresh)
                finally:
                    outcome.steps = journal.changes
            outcome.status = (Status.BLOCKED if outcome.dangerous
                              else Status.CHANGES if outcome.steps else Status.IN_SYNC)
        except errors.NamespaceProtected as err:
            outcome.status, outcome.error = Status.BLOCKED, str(err)
        except errors.StackError as err:
            outcome.error = str(err)
        return _previewed(outcome)

    def _previewed(outcome: Outcome) -> Outcome:
        if outcome.status is Status.BLOCKED and not outcome.error:
            names = sorted({step.name for step in outcome.dangerous})
            outcome.error = str(errors.NamespaceProtected(str(outcome.ref), names))
        if outcome.status is not Status.CHANGES:
            held.release(outcome.ref)
        reporter.finished(outcome, "preview")
        return outcome

    def update(target: Target) -> Outcome:
        ref, outcome = target.ref, outcomes[target.ref]
        state.write_record(ref, layout.Record("running", target.fingerprint, "up"))
        journal = reporter.journal(ref, "update")
        try:
            stack = stacks.get(ref) or runner.stack(ref, target.program)
            runner.up(stack, ref, journal, refresh=refresh)
        except errors.StackError as err:
            outcome.status, outcome.error = Status.FAILED, str(err)
            state.write_record(ref, layout.Record("failed", target.fingerprint, "up"))
        else:
            outcome.status = Status.APPLIED
            state.write_record(ref, layout.Record("ok", target.fingerprint, "up",
                                                  objects=len(target.manifests),
                                                  engine=target.engine))
            state.prune_history(ref, keep=keep)
        finally:
            held.release(ref)
        reporter.finished(outcome, "update")
        return outcome

    def update_shard(shard: tuple[layout.StackRef, list[Target]]) -> list[Outcome]:
        """One engine run for the shard's units that change (--target them), under the
        shard's lock; each unit's journal says running, then ok or failed."""
        ref, group = shard
        for target in group:
            state.write_record(target.ref, layout.Record("running", target.fingerprint, "up",
                                                         shard=ref.name))
        journal = reporter.journal(ref, "update")
        error = ""
        try:
            with locks.hold(state.lock_path(ref), stack=str(ref), wait=POOL_LOCK_WAIT):
                recovered = _run_shard(ref, group, runner=runner, journal=journal, keep=keep)
        except errors.StackError as err:
            error, recovered = str(err), False
        done = []
        for target in group:
            outcome = outcomes[target.ref]
            outcome.recovered |= recovered
            if error:
                outcome.status, outcome.error = Status.FAILED, f"{target.ref}: {error}"
                state.write_record(target.ref, layout.Record(
                    "failed", target.fingerprint, "up", shard=ref.name))
            else:
                outcome.status = Status.APPLIED
                state.write_record(target.ref, layout.Record(
                    "ok", target.fingerprint, "up", objects=len(target.manifests),
                    engine=target.engine, shard=ref.name))
            held.release(target.ref)
            reporter.finished(outcome, "update")
            done.append(outcome)
        return done

    try:
        reporter.begin("preview", len(todo))
        for outcome in _parallel(todo, preview, parallel):
            outcomes[outcome.ref] = outcome
        ordered = [outcomes[target.ref] for target in chosen]
        if dry_run:
            return Result(ordered, dry_run=True)
        for target in todo:
            if outcomes[target.ref].status is Status.IN_SYNC:
                state.write_record(target.ref, layout.Record(
                    "ok", target.fingerprint, "preview", objects=len(target.manifests),
                    engine=target.engine, shard=target.shard.name if target.shard else ""))
        waiting = [t for t in todo if outcomes[t.ref].status is Status.CHANGES]
        if waiting and not reporter.confirm(ordered):
            return Result(ordered, dry_run=False, confirmed=False)
        reporter.begin("update", len(waiting))
        _parallel([t for t in waiting if t.ref.kind is layout.Kind.POOL], update, parallel)
        # A tenant is not onboarded into a pool whose guardrails did not apply.
        broken = {t.pool for t in chosen if t.ref.kind is layout.Kind.POOL
                  and outcomes[t.ref].status in (Status.FAILED, Status.BLOCKED)}
        tenants_ = []
        for target in waiting:
            if target.ref.kind is not layout.Kind.TENANT:
                continue
            if target.pool in broken:
                outcome = outcomes[target.ref]
                outcome.status = Status.FAILED
                outcome.error = f"{target.ref}: not applied, pool stack {target.pool} failed"
                held.release(target.ref)
                reporter.finished(outcome, "update")
            else:
                tenants_.append(target)
        shards: dict[layout.StackRef, list[Target]] = {}
        for target in tenants_:
            shards.setdefault(target.shard or target.ref, []).append(target)
        _parallel(list(shards.items()), update_shard, parallel)
        # A cluster that stopped answering during the run: its failures say so.
        failed = [t for t in chosen if outcomes[t.ref].status is Status.FAILED]
        lost = unreachable(failed, probe=probe or reach)
        for target in failed:
            outcomes[target.ref].unreachable |= target.cluster in lost
        return Result(ordered, dry_run=False)
    finally:
        held.release_all()


Probe = Callable[[programs.Cluster], str | None]
PROBE_TIMEOUT = 10.0  # seconds a declared cluster has to answer before its stacks fail


def reach(cluster: programs.Cluster) -> str | None:
    """Why a cluster cannot be reached (its /version), or None when it answers."""
    if cluster.render_to:  # no cluster: the provider writes YAML
        return None
    try:
        api = kubeapi.api_client(kubeconfig=cluster.kubeconfig, context=cluster.context,
                                 required=True)
        try:
            kubeapi.server_version(api, timeout=PROBE_TIMEOUT)
        finally:
            api.close()
    except kubeapi.ClusterError as err:
        return str(err)
    return None


def unreachable(todo: Sequence[Target], *, probe: Probe) -> dict[str, str]:
    """The registry's declared clusters among `todo` that do not answer, with why; asked
    concurrently, so one that hangs costs its timeout once. The implicit cluster is not
    asked: its stacks fail in the engine, with the engine's message, as they always did."""
    clusters = {t.cluster: t.connection for t in todo if t.cluster}
    if not clusters:
        return {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(clusters)) as pool:
        answers = dict(zip(clusters, pool.map(probe, clusters.values()), strict=True))
    return {name: why for name, why in answers.items() if why is not None}


def _run_shard(ref: layout.StackRef, group: Sequence[Target], *, runner: engine.Engine,
               journal: changes.Journal, keep: int) -> bool:
    """Stage the units' objects, recover the shard if its last run did not end cleanly,
    update the units (--target: the shard's other units stay as they are), then remove a
    unit's stack of the first layout (a stack per tenant): its objects are the shard's now,
    and removing that state deletes none of them. Returns whether it recovered."""
    from citycloud.stacks import objects  # the engine has loaded the SDK (runner.stack)

    state = runner.state
    staged = [programs.Staged(t.ref.name, state.stage(t.manifests), t.about) for t in group]
    try:
        program = programs.shard_program(staged, staged=state.staged_dir,
                                         cluster=group[0].connection,
                                         provider=runner.dynamic_provider())
        stack = runner.stack(ref, program)
        record = state.read_record(ref)
        recovered = (record is None or record.interrupted) and runner.recover(stack, ref,
                                                                               journal)
        state.write_record(ref, layout.Record("running", operation="up"))
        try:
            runner.up(stack, ref, journal, target=[
                objects.urn(stack=ref.name, project=ref.project, unit=t.ref.name)
                for t in group])
        except errors.StackError:
            state.write_record(ref, layout.Record("failed", operation="up"))
            raise
        state.write_record(ref, layout.Record("ok", operation="up"))
        state.prune_history(ref, keep=keep)
    finally:
        for unit in staged:
            (state.staged_dir / f"{unit.fingerprint}.json").unlink(missing_ok=True)
    for target in group:
        if state.in_backend(target.ref):
            runner.remove(runner.stack(target.ref), target.ref, force=True)
            state.prune_history(target.ref, keep=0)
    return recovered


def _deployed(target: Target, state: layout.StateDir) -> list[render.Manifest]:
    """A unit's objects as last applied (its deployed folder), or none."""
    folder = units.folder(target.ref.kind, target.ref.name)
    if not (state.deployed_dir / folder).is_dir():
        return []
    try:
        return manifests.read(state.deployed_dir, folders=[folder])
    except manifests.ManifestDirError:
        return []


def _unsure(target: Target, record: layout.Record | None, force: bool) -> bool:
    """Whether a shard's unit goes through the engine even where our diff is empty: asked
    to, never applied, interrupted or failed last time, or other program or cluster
    settings (every object is applied again; server-side apply makes that safe)."""
    return (force or record is None or record.interrupted
            or record.engine != target.engine)


def _engine_state(target: Target, record: layout.Record | None, *,
                  runner: engine.Engine) -> list[render.Manifest] | None:
    """What the engine holds for a stack, where our own records say so for certain: nothing
    for a stack that never existed, the deployed snapshot's folder for one whose last run
    ended cleanly with the same program and cluster settings (the snapshot is written from
    exactly what that run applied). None otherwise (interrupted, failed, settings changed,
    folder lost, records older than this rule): then the engine previews."""
    folder = runner.state.deployed_dir / units.folder(target.ref.kind, target.ref.name)
    if record is None:
        return [] if not runner.exists(target.ref) and not folder.is_dir() else None
    if record.interrupted or record.engine != target.engine or not folder.is_dir():
        return None
    try:
        return manifests.read(runner.state.deployed_dir, folders=[folder.name])
    except manifests.ManifestDirError:
        return None


def own_preview(desired: Sequence[render.Manifest],
                deployed: Sequence[render.Manifest]) -> list[changes.Step]:
    """The preview as our own rendering diff gives it, in the engine's terms (type tokens,
    logical names): what `up` will create, update or delete in the stack. It shows an update
    the provider carries out as a replacement (an immutable field) as an update; a
    namespace's deletion is a delete either way, and the engine refuses it (protect)."""
    return [changes.Step(change.action.value,
                         changes.type_token(change.api_version, change.kind),
                         f"{change.namespace}/{change.name}" if change.namespace
                         else change.name, change.fields)
            for change in plan.diff(list(desired), list(deployed))]


# ---- what the registry's commands do -------------------------------------------------------


def update_deployed(state: layout.StateDir, *, applied: dict[str, list[render.Manifest]],
                    removed: Sequence[str] = ()) -> None:
    """Record units' applied manifests in STATE/deployed, the snapshot `plan` diffs against.

    Keyed by unit folder (tenants.units: a tenant's name, pool.<name> for a pool); `removed`
    names units whose objects are gone (an offboarded tenant). Only those folders are
    written, and only where they changed: onboarding one tenant costs the same whatever the
    size of the city."""
    if not applied and not removed:
        return
    with locks.hold(state.root / "locks" / "deployed.lock", stack="deployed snapshot",
                    wait=300):
        manifests.update(state.deployed_dir, applied, removed=removed)


def apply(platform: Platform, *, runner: engine.Engine, reporter: Reporter,
          tenants: Sequence[str] | None = None, dry_run: bool = False, force: bool = False,
          refresh: bool = False, parallel: int = 1, moving: Sequence[str] = ()) -> Result:
    """Converge the stacks of `tenants` (default: the whole registry) and their pools.

    A tenant whose file no longer names a cluster it has a stack on is moving: refused
    unless named in `moving`, before anything runs."""
    if tenants is not None:
        tenants = [*tenants, *sorted(_counterparts(platform, tenants, runner.state))]
    refuse_moves(platform, runner.state, tenants=tenants, moving=moving)
    chosen = targets(platform, cluster=runner.cluster, tenants=tenants)
    result = converge(chosen, runner=runner, reporter=reporter, dry_run=dry_run, force=force,
                      refresh=refresh, parallel=parallel)
    if tenants is None:
        result.orphans = orphans(platform, runner.state)
    if not dry_run and result.confirmed:
        by_ref = {o.ref: o for o in result.outcomes}
        recorded = {}
        for target in chosen:
            folder = units.folder(target.ref.kind, target.ref.name)
            if _recorded(by_ref[target.ref].status, runner.state.deployed_dir / folder):
                recorded[folder] = target.manifests
        update_deployed(runner.state, applied=recorded)
    return result


def moves(platform: Platform, state: layout.StateDir,
          tenants: Sequence[str] | None = None) -> dict[str, tuple[list[str], list[str]]]:
    """Tenants leaving a cluster: name -> (clusters it has stacks on and leaves, clusters
    its file names), until it has a stack on each of those (the move is made; the stack
    left behind is then an orphan like any other, until offboarded)."""
    found = {}
    onboarded: dict[str, list[str]] = {}
    for key in state.stack_names(layout.Kind.TENANT):
        name, cluster = units.split(key)
        onboarded.setdefault(name, []).append(cluster)
    for name in platform.tenants if tenants is None else tenants:
        placed = platform.placements(platform.tenants[name])
        left = sorted(set(onboarded.get(name, ())) - set(placed))
        if left and not set(placed) <= set(onboarded[name]):
            found[name] = (left, list(placed))
    return found


def refuse_moves(platform: Platform, state: layout.StateDir, *,
                 tenants: Sequence[str] | None, moving: Sequence[str]) -> None:
    """Moving a tenant is a create there and, by offboarding, a delete here: only on request."""
    unasked = {n: m for n, m in moves(platform, state, tenants).items() if n not in moving}
    if not unasked:
        return
    lines = [f"{name} leaves {', '.join(c or 'the command line cluster' for c in left)} for "
             f"{', '.join(placed)}" for name, (left, placed) in sorted(unasked.items())]
    first, (left, _) = next(iter(sorted(unasked.items())))
    raise errors.UsageError(
        "moving tenants to other clusters: " + "; ".join(lines) + ". 'citycloud plan' shows "
        f"the creates there and the deletes here. 'citycloud apply --move {first}' creates it "
        "there; "
        f"then 'citycloud offboard {first} --cluster {left[0] or 'CLUSTER'}' deletes it here")


def _recorded(status: Status, folder: pathlib.Path) -> bool:
    """Whether a stack's outcome goes into the deployed snapshot. An unchanged stack (same
    fingerprint as its last recorded apply) is there already, unless the folder was lost."""
    if status is Status.UNCHANGED:
        return not folder.is_dir()
    return status in (Status.APPLIED, Status.IN_SYNC)


def _counterparts(platform: Platform, names: Sequence[str], state: layout.StateDir) -> set[str]:
    """Onboarded tenants on the other side of the named tenants' shared-service flows, as
    the registry has them now or as they were deployed (a request just dropped): onboarding
    or resizing one tenant converges both ends of its doors, and onboards nobody else."""
    named = set(names)
    found = {other for name in named for other in sharing.counterparts(platform, name)}
    # A door has an end in each party's folder: the named tenants' own folders name them all.
    folders = {key for name in named for key in tenant_stacks(state, name)}
    for grant in sharing_map.deployed_grants(state.deployed_dir, folders=folders):
        consumer, provider = sharing_map.parties(grant)
        if consumer in named or provider in named:
            found |= {consumer, provider}
    onboarded = {units.split(key)[0] for key in state.stack_names(layout.Kind.TENANT)}
    return (found & onboarded & set(platform.tenants)) - named


def require_onboarded(state: layout.StateDir, name: str) -> None:
    if not tenant_stacks(state, name):
        raise errors.UsageError(
            f"tenant {name} has not been onboarded (no stack under {state.root}); "
            f"'citycloud onboard {name}' creates it")


@dataclasses.dataclass(frozen=True)
class QuotaChange:
    namespace: str
    resource: str
    before: str
    after: str


def quota_changes(state: layout.StateDir, tenant: models.Tenant, *,
                  platform: Platform) -> list[QuotaChange]:
    """Per namespace and resource, the quota as last applied and as the registry now says."""
    def hard(objects: Sequence[render.Manifest]) -> dict[str, dict[str, str]]:
        # A disaster-recovery tenant has the same quota on each of its clusters.
        return {m["metadata"]["namespace"]: m["spec"]["hard"] for m in objects
                if m["kind"] == "ResourceQuota"
                and units.split(units.folder_of(m))[0] == tenant.name}

    before = hard(manifests.read(state.deployed_dir,
                                 folders=tenant_stacks(state, tenant.name)))
    after = hard([m for unit in units.tenant_units(platform, tenant.name)
                  for m in unit.manifests])
    found = []
    for namespace in sorted(set(before) | set(after)):
        old, new = before.get(namespace, {}), after.get(namespace, {})
        for resource in sorted(set(old) | set(new)):
            if old.get(resource) != new.get(resource):
                found.append(QuotaChange(namespace, resource, old.get(resource, "-"),
                                         new.get(resource, "-")))
    return found
