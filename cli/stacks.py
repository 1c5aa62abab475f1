"""Commands that change the cluster: apply, onboard, resize, offboard (the Pulumi engine).

Each shows the engine's preview (the diff) before changing anything and asks
for confirmation unless --yes; --dry-run stops after the preview. The
registry must load and pass the shared policies first (exit 2 / exit 1).
State lives under --state-dir (default REGISTRY/.citycloud): the Pulumi file
backend, stack journals, locks, the deployed snapshot `plan` diffs against,
and the offboarding records. Layout and reasons: stacks/README.md.
"""

from __future__ import annotations

import os
import pathlib
from typing import Annotated

import typer

from citycloud import policies
from citycloud.cli import audit, exits, gitops, options, output, stack_display, state
from citycloud.cli import policies as cli_policies
from citycloud.stacks import engine, layout, offboarding, operations, programs
from citycloud.stacks import errors as stack_errors
from citycloud.tenants import diagnostics
from citycloud.tenants.platform import PLATFORM_FILE, Platform

Kubeconfig = Annotated[str | None, typer.Option(
    "--kubeconfig", envvar="KUBECONFIG", show_envvar=True,
    help="kubeconfig of the cluster; where platform.yaml declares clusters, one file with "
    "a context per cluster (the cluster's 'context', default its name).",
    show_default="KUBECONFIG, else ~/.kube/config")]
Context = Annotated[str | None, typer.Option(
    "--context", help="kubeconfig context of the pools that declare no clusters.",
    show_default="the current context")]
DryRun = Annotated[bool, typer.Option(
    "--dry-run", help="Preview only: show what would change, change nothing.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking for confirmation.")]
Parallel = Annotated[int, typer.Option(
    min=1, max=32, help="Stacks run through the engine at once.")]
RenderTo = Annotated[pathlib.Path | None, typer.Option(
    "--render-yaml-to", hidden=True, file_okay=False,
    help="Have the provider write YAML here instead of applying to a cluster (tests, review). "
    "A state directory used this way must never be used against a cluster.")]


def register(app: typer.Typer) -> None:
    for command in (apply, onboard, resize, offboard):
        app.command()(command)


def _runner(current: state.State, platform: Platform | None, *,
            kubeconfig: str | None, context: str | None,
            render_to: pathlib.Path | None) -> engine.Engine:
    # One kubeconfig file is passed on as an absolute path (the engine runs elsewhere); a
    # KUBECONFIG list is left to the environment, which the provider reads too.
    config = (str(pathlib.Path(kubeconfig).expanduser().absolute())
              if kubeconfig and os.pathsep not in kubeconfig else None)
    cluster = programs.Cluster(
        kubeconfig=config, context=context,
        identifier=platform.name if platform else "citycloud",
        render_to=str(render_to.absolute()) if render_to else None)
    return engine.Engine(layout.StateDir(current.state_path), cluster=cluster)


def _checked(current: state.State) -> Platform:
    """The registry, loaded and held to the shared policies: nothing invalid is applied."""
    cli_policies.hold_to_policies(current.platform)
    return current.platform


def _known(platform: Platform, tenant: str) -> None:
    if tenant not in platform.tenants:
        hint = diagnostics.did_you_mean(tenant, platform.tenants)
        raise stack_errors.UsageError(
            f"{tenant} is not in the registry (tenants/<department>/<tenant>.yaml)"
            + (f"; {hint}" if hint else ""))


def _tenant_engine(ctx: typer.Context, fmt: output.Format, tenant: str, *,
                   kubeconfig: str | None, context: str | None,
                   render_to: pathlib.Path | None) -> tuple[Platform, engine.Engine]:
    """The checked registry, which must hold `tenant`, and the engine to apply it with."""
    current = state.get(ctx, fmt)
    platform = _checked(current)
    _known(platform, tenant)
    return platform, _runner(current, platform, kubeconfig=kubeconfig, context=context,
                             render_to=render_to)


def _apply_tenant(ctx: typer.Context, action: str, tenant: str, platform: Platform,
                  runner: engine.Engine, *, fmt: output.Format, yes: bool,
                  dry_run: bool) -> None:
    """Preview, confirm and apply one tenant's stack, recorded in the audit trail."""
    with audit.recorded(ctx, action=action, target=tenant, skip=dry_run) as record:
        grants = audit.Grants(runner.state.deployed_dir, folders=operations.tenant_folders(
            platform, runner.state, tenant))
        with stack_display.Display(fmt=fmt, yes=yes) as display:
            result = operations.apply(platform, runner=runner, reporter=display,
                                      tenants=[tenant], dry_run=dry_run)
        record.summary = {**audit.stack_summary(result), **grants.changes()}
        _finish(result, fmt)


def _close_doors(counterparts: list[str], platform: Platform | None, runner: engine.Engine,
                 display: stack_display.Display) -> operations.Result | None:
    """Converge the onboarded tenants on the other side of an offboarded tenant's doors, so
    no rule naming its namespaces outlives it (a door has an end in each party's stack).
    Only from a registry that passes its policies: otherwise they wait for their next
    onboard or apply, and the user is told."""
    known = [name for name in counterparts if platform is not None and name in platform.tenants]
    if not known or platform is None:
        return None
    try:
        cli_policies.hold_to_policies(platform)
    except policies.PolicyViolations:
        output.stderr.print(
            f"warning: {', '.join(known)} still hold their end of a door to the offboarded "
            "tenant; the registry fails its policies ('citycloud validate'), so they were "
            f"not converged: 'citycloud onboard {known[0]}' does it once it passes",
            highlight=False)
        return None
    return operations.apply(platform, runner=runner, reporter=display, tenants=known)


def _finish(result: operations.Result, fmt: output.Format) -> None:
    """Show the result; a failed stack ends the command with exit 3, said once."""
    names = ", ".join(str(o.ref) for o in result.failed)
    failure = f"{len(result.failed)} stack(s) not applied: {names}" if result.failed else None
    down = result.clusters_down
    if down:
        others = "the others converged; " if len(result.failed) < len(result.outcomes) else ""
        failure = (f"{failure}; cluster(s) not answering: {', '.join(down)} ({others}run "
                   "apply again once they are back)")
    if fmt is output.Format.JSON:  # one document: the result, and why it is not ok
        output.print_json(stack_display.result_json(result), error=failure,
                          exit_code=exits.APPLY_FAILED)
        if failure:
            raise typer.Exit(exits.APPLY_FAILED)
        return
    stack_display.show_result(result)
    if failure:
        raise stack_errors.StackError(failure)


def apply(
    ctx: typer.Context,
    fmt: options.Output = output.Format.TABLE,
    dry_run: DryRun = False,
    yes: Yes = False,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    parallel: Parallel = 4,
    refresh: Annotated[bool, typer.Option(
        "--refresh", help="Read every object back from the cluster first and correct drift "
        "(runs every stack, also those unchanged since their last apply).")] = False,
    render_to: RenderTo = None,
    from_git: Annotated[str | None, typer.Option(
        "--from-git", metavar="REF", help="Apply the registry exactly as committed at REF (CI: "
        "the merged commit) and record it; refuses a commit that does not descend from the "
        "one applied before.")] = None,
    move: Annotated[list[str] | None, typer.Option(
        "--move", metavar="TENANT", help="Let this tenant move to the cluster(s) its file "
        "now names: created there; its old stack stays until 'offboard --cluster' "
        "(repeatable).")] = None,
) -> None:
    """Make the cluster what the registry says: pool stacks, then every tenant.

    Tenants live in shard stacks, one resource each, so a change to every
    tenant is one engine run per shard. Pools and tenants whose objects have
    not changed since their last successful apply are skipped without
    starting the engine, so re-running is cheap and a no-op. Tenants no
    longer in the registry are reported, never deleted
    ('citycloud offboard' does that). An interrupted apply is finished by the
    next one. Exit 3 when a stack fails or a change would delete a namespace.
    """
    current = state.get(ctx, fmt)
    with audit.recorded(ctx, action="apply", target=from_git or "registry",
                        skip=dry_run) as record, \
            gitops.applying(current, ref=from_git, record=record) as (current, commit):
        platform = _checked(current)
        runner = _runner(current, platform, kubeconfig=kubeconfig, context=context,
                         render_to=render_to)
        grants = audit.Grants(runner.state.deployed_dir)
        with stack_display.Display(fmt=fmt, yes=yes) as display:
            result = operations.apply(platform, runner=runner, reporter=display,
                                      dry_run=dry_run, refresh=refresh, parallel=parallel,
                                      moving=move or ())
        record.summary = {**audit.stack_summary(result), **grants.changes()}
        _finish(result, fmt)
        if commit and not dry_run and result.confirmed:
            gitops.mark_deployed(current, commit=commit, ref=from_git or commit)


def onboard(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant name, e.g. wh-gongan-video.")],
    fmt: options.Output = output.Format.TABLE,
    dry_run: DryRun = False,
    yes: Yes = False,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    render_to: RenderTo = None,
) -> None:
    """Create one tenant's namespaces, quotas, network policies and owner bindings.

    Builds only this tenant's stack (and its pool's, if that has never been
    applied or has changed), however many tenants the platform has. Running
    it again for an onboarded tenant applies whatever changed in its file.
    """
    platform, runner = _tenant_engine(ctx, fmt, tenant, kubeconfig=kubeconfig, context=context,
                                      render_to=render_to)
    _apply_tenant(ctx, "onboard", tenant, platform, runner, fmt=fmt, yes=yes, dry_run=dry_run)


def resize(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="An onboarded tenant, e.g. wh-gongan-video.")],
    fmt: options.Output = output.Format.TABLE,
    dry_run: DryRun = False,
    yes: Yes = False,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    render_to: RenderTo = None,
) -> None:
    """Apply a tenant's changed quota (edited in its registry file) to the cluster, in place.

    Shows the quota as last applied next to what the registry now says, then
    the engine's preview. Quotas are updated in place; nothing is recreated.
    """
    platform, runner = _tenant_engine(ctx, fmt, tenant, kubeconfig=kubeconfig, context=context,
                                      render_to=render_to)
    operations.require_onboarded(runner.state, tenant)
    found = operations.quota_changes(runner.state, platform.tenants[tenant], platform=platform)
    if fmt is not output.Format.JSON:
        stack_display.show_quota(found, tenant)
    _apply_tenant(ctx, "resize", tenant, platform, runner, fmt=fmt, yes=yes, dry_run=dry_run)


def offboard(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="An onboarded tenant, e.g. wh-gongan-video.")],
    fmt: options.Output = output.Format.TABLE,
    force: Annotated[bool, typer.Option(
        "--force", help="Offboard even though its namespaces still hold "
        "PersistentVolumeClaims (their data is deleted).")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what would be deleted (namespaces, objects, volume claims); "
        "delete nothing.")] = False,
    yes: Yes = False,
    cluster: Annotated[str | None, typer.Option(
        "--cluster", help="The cluster to offboard it from, for a tenant on several "
        "(disaster recovery, or moved to another cluster).",
        show_default="its only cluster")] = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    render_to: RenderTo = None,
) -> None:
    """Delete a tenant: its namespaces, with every workload and volume in them.

    The only way a tenant namespace is ever deleted. Refuses while the
    namespaces hold PersistentVolumeClaims (unless --force), asks you to type
    the tenant's name (unless --yes), and keeps a record in
    STATE_DIR/offboarded/. Works for tenants already removed from the registry.
    Then converges the onboarded tenants on the other side of its shared-service
    doors (previewed and confirmed like an apply), so their rules close too.
    """
    current = state.get(ctx, fmt)
    platform = current.platform if (current.registry / PLATFORM_FILE).exists() else None
    runner = _runner(current, platform, kubeconfig=kubeconfig, context=context,
                     render_to=render_to)
    with audit.recorded(ctx, action="offboard", target=tenant, skip=dry_run) as record, \
            stack_display.Display(fmt=fmt, yes=yes) as display:
        grants = audit.Grants(runner.state.deployed_dir, folders=operations.tenant_folders(
            platform, runner.state, tenant))
        result = offboarding.offboard(tenant, runner=runner, reporter=display, force=force,
                                      platform=platform, cluster=cluster, dry_run=dry_run)
        closed = _close_doors(result.counterparts, platform, runner, display)
        record.summary = {"confirmed": result.confirmed, "forced": force,
                          "namespaces": result.plan.namespaces,
                          "claims": len(result.plan.claims), "record": result.record,
                          **grants.changes(),
                          **({"counterparts": result.counterparts} if closed else {})}
    if fmt is output.Format.JSON:
        output.print_json({"tenant": tenant, "offboarded": result.confirmed, "dryRun": dry_run,
                           "namespaces": result.plan.namespaces, "record": result.record,
                           "resources": [f"{kind} {name}" for kind, name in result.plan.resources],
                           "persistentVolumeClaims": result.plan.claims,
                           **({"counterparts": stack_display.result_json(closed)}
                              if closed else {})})
        if closed and closed.failed:
            raise typer.Exit(exits.APPLY_FAILED)
        return
    if dry_run:
        stack_display.show_offboard(result.plan)
        output.stdout.print(f"dry run: nothing of {tenant} was deleted", highlight=False)
    elif result.confirmed:
        output.stdout.print(f"offboarded {tenant}; record: {result.record}", highlight=False)
    else:
        output.stdout.print(f"cancelled: {tenant} was not offboarded", highlight=False)
    if closed:  # the other ends of its doors, converged after it
        _finish(closed, fmt)
