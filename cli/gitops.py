"""The pull-request flow: `codeowners`, `validate --changed-since REF` (review), and the git
side of `apply --from-git REF` (`applying`, `mark_deployed`).

`review` answers what a pull request changes and whether it may be merged:
the files it touches (tenants.gitops.git), what they do to tenants and pools
(tenants.gitops.effects), whether they stay inside the author's department
(tenants.gitops.codeowners), and the policy findings the change introduces. Findings
that already stand on the base are listed as pre-existing but do not fail the
pull request: one department's request is not blocked by another's old
problem (plain `validate` still reports those). Output: a table, JSON,
Markdown for a PR comment, or GitHub annotations, which also append the
Markdown to $GITHUB_STEP_SUMMARY when it is set.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import io
import os
import pathlib
import tempfile
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from typing import Annotated, Any

import typer

from citycloud import policies, tenants
from citycloud.cli import audit, exits, output, state
from citycloud.tenants import allocation, files, quantities
from citycloud.tenants.gitops import codeowners, effects, git

Diagnostic = tenants.Diagnostic


def register(app: typer.Typer) -> None:
    app.command("codeowners")(codeowners_command)


def codeowners_command(
    ctx: typer.Context,
    write: Annotated[bool, typer.Option(
        "--write", help="Write REGISTRY/CODEOWNERS instead of printing it.")] = False,
    platform_team: Annotated[str, typer.Option(
        envvar="CITYCLOUD_PLATFORM_TEAM", help="The group that owns platform.yaml, "
        "departments.yaml, waivers.yaml, policies/ and CI files.")] = codeowners.PLATFORM_TEAM,
    org: Annotated[str | None, typer.Option(
        help="GitHub organisation (or GitLab group) of the owner groups: @ORG/group.")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="With --write: replace a CODEOWNERS this command did not write.")
    ] = False,
) -> None:
    """Generate CODEOWNERS from departments.yaml: each department owns tenants/<department>/."""
    for value, hint, team in ((platform_team, "--platform-team", True), (org, "--org", False)):
        problem = codeowners.name_problem(value, team=team) if value is not None else ""
        if problem:
            raise typer.BadParameter(problem, param_hint=hint)
    current = state.get(ctx)
    platform = current.platform
    try:
        prefix = git.prefix_of(current.registry)
    except git.GitError:
        prefix = ""  # not in git yet: paths relative to the registry, which will be the root
    text = codeowners.generate(platform.departments, platform_team=platform_team, org=org,
                               prefix=prefix)
    if not write:
        output.stdout.out(text, end="", highlight=False)
        return
    path = current.registry / codeowners.FILE
    if not force and (path.exists() or path.is_symlink()) and not codeowners.is_generated(
            path.read_text(encoding="utf-8", errors="replace")):
        raise FileExistsError(f"{path} was not written by 'citycloud codeowners' (it does not "
                              "start with its header); pass --force to replace it, or print "
                              "the generated rules with 'citycloud codeowners' and merge them")
    files.write_atomic(path, text)
    output.stdout.print(f"wrote {current.registry / codeowners.FILE} "
                        f"({len(platform.departments)} departments)", highlight=False)
    if prefix:
        output.stderr.print(f"note: the registry is the folder {prefix} of its repository; "
                            "GitHub and GitLab read CODEOWNERS at the repository root",
                            highlight=False)


@dataclasses.dataclass(frozen=True)
class Review:
    changeset: git.Changeset
    effects: effects.Effects
    findings: list[Diagnostic]  # introduced by the change, and ownership: these decide
    preexisting: list[Diagnostic]  # already on the base: reported, not counted
    base_note: str  # why before-figures are missing, if they are

    @property
    def errors(self) -> int:
        return sum(d.severity is tenants.Severity.ERROR for d in self.findings)


def review(platform: tenants.Platform, *, since: str, author_department: str | None,
           today: datetime.date) -> Review:
    """What the change since REF does, and its findings. Raises RegistryError (exit 2)
    through the head registry's loader and GitError when git cannot answer."""
    if author_department is not None and author_department not in platform.departments:
        raise typer.BadParameter(f"{author_department!r} is not in departments.yaml",
                                 param_hint="--author-department")
    changeset = git.changed_files(platform.root, since=since)
    base, note = _load_base(platform.root, changeset.base)
    found = list(policies.evaluate(platform, today=today).findings)
    old = _keys(policies.evaluate(base, today=today).findings) if base else set()
    preexisting = [d for d in found if _key(d) in old]
    introduced = [d for d in found if _key(d) not in old]
    if author_department is not None:
        introduced += codeowners.trespasses(changeset.files,
                                                    department=author_department)
    return Review(changeset, effects.analyse(changeset.files, base=base, head=platform),
                  sorted(introduced), preexisting, note)


def _load_base(root: pathlib.Path, commit: str) -> tuple[tenants.Platform | None, str]:
    with tempfile.TemporaryDirectory(prefix="citycloud-base-") as temp:
        base = git.export(root, commit, pathlib.Path(temp) / "registry")
        if base is None:
            return None, f"there is no registry at {commit[:12]}: everything is new"
        try:
            return tenants.load(base), ""
        except tenants.RegistryError as err:
            return None, (f"the registry at {commit[:12]} does not load "
                          f"({len(err.diagnostics)} problem(s)): every finding counts")


def _key(d: Diagnostic) -> tuple[str, str, str, str, str]:
    # Without the line: an edit above a finding moves it, and it is still the same finding.
    return (d.code, d.tenant, d.file, d.field, d.message)


def _keys(found: tuple[Diagnostic, ...]) -> set[tuple[str, str, str, str, str]]:
    return {_key(d) for d in found}


# ---- printing -----------------------------------------------------------------


def print_review(result: Review, fmt: output.Format) -> None:
    """Print in the chosen format; exit 1 when the change introduces an error."""
    if fmt is output.Format.JSON:
        output.print_json(_review_json(result), exit_code=exits.VIOLATIONS,
                          error=f"the change brings {result.errors} error(s)" if result.errors
                          else None)
    elif fmt is output.Format.MARKDOWN:
        output.stdout.out(markdown(result), end="", highlight=False)
    elif fmt is output.Format.GITHUB:
        _github(result)
    else:
        _tables(result)
    if result.errors:
        raise typer.Exit(exits.VIOLATIONS)


def _title(result: Review) -> str:
    c = result.changeset
    dirty = " and uncommitted edits" if c.dirty else ""
    return (f"changes since {c.since} (merge base {c.base[:12]}, head {c.head[:12]}{dirty}): "
            f"{len(c.files)} file(s), {len(result.effects.tenants)} tenant(s)")


def _tenant_rows(result: Review) -> list[tuple[str, ...]]:
    return [(e.change, e.tenant + (f" (was {e.old_name})" if e.old_name else ""), e.department,
             e.pool, "; ".join(e.details)) for e in result.effects.tenants]


def _pool_rows(result: Review) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for effect in result.effects.pools:
        before, after = effect.before, effect.after
        rows.append((effect.pool, effect.resource,
                     f"{before.ratio:.1%}" if before else "—",
                     f"{after.ratio:.1%}" if after else "removed",
                     quantities.format_amount(after.headroom, resource=effect.resource)
                     if after else "—"))
    return rows


def _flow_rows(result: Review) -> list[tuple[str, ...]]:
    return [(f.change, f"{f.consumer} ({f.consumer_department})",
             f"{f.provider}/{f.service} ({f.provider_department or '?'})", "; ".join(f.details),
             f.approval) for f in result.effects.flows]


def _approvals(result: Review) -> str:
    """Who must consent to the change's flows, beyond the owners of the files it touches."""
    departments = result.effects.approvals
    return ("shared-service flows need the approval of department(s) "
            + ", ".join(departments)) if departments else ""


_TENANT_COLUMNS = ["change", "tenant", "department", "pool", "details"]
_FLOW_COLUMNS = ["change", "consumer", "service", "details", "approval by"]
_POOL_COLUMNS = ["pool", "resource", "allocated before", "allocated after", "headroom after"]


def markdown(result: Review) -> str:
    verdict = "failed" if result.errors else "passed"
    text = [f"## citycloud: pull request check {verdict}\n\n{_title(result)}\n\n"]
    if result.base_note:
        text.append(f"> {result.base_note}\n\n")
    if result.effects.tenants:
        text.append(output.markdown_table("Tenants", _TENANT_COLUMNS, _tenant_rows(result)))
    if result.effects.pools:
        text.append(output.markdown_table("Pools (quota allocated / allocatable)",
                                          _POOL_COLUMNS, _pool_rows(result)))
    if result.effects.flows:
        text.append(output.markdown_table("Shared-service flows", _FLOW_COLUMNS,
                                          _flow_rows(result)))
        text.append(f"{_approvals(result)}\n\n")
    if result.effects.platform:
        text.append("### Platform-wide\n\n" + "".join(
            f"- {note}\n" for note in result.effects.platform) + "\n")
    text.append(_captured(lambda: output.report_diagnostics(
        result.findings, output.Format.MARKDOWN, title="Findings this change introduces")))
    if result.preexisting:
        text.append(f"<details><summary>{len(result.preexisting)} finding(s) already on "
                    f"{result.changeset.since}, not counted</summary>\n\n"
                    + output.markdown_table("Pre-existing", ["where", "problem", "code"], [
                        (f"`{d.location}`", d.message, f"`{d.code}`")
                        for d in result.preexisting]) + "</details>\n")
    return "".join(text)


def _captured(print_it: Callable[[], None]) -> str:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        print_it()
    return buffer.getvalue()


def _github(result: Review) -> None:
    prefix = result.changeset.prefix  # annotations name paths from the repository root
    found = [dataclasses.replace(d, file=prefix + d.file) for d in result.findings]
    output.report_diagnostics(found, output.Format.GITHUB, title="")
    for effect in result.effects.tenants:
        detail = "; ".join(effect.details)
        print(f"::notice file={prefix}{effect.file},title={effect.change} tenant "
              f"{effect.tenant}::{detail or effect.change}".replace("\n", "%0A"))
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(markdown(result))


def _tables(result: Review) -> None:
    output.stdout.print(_title(result), highlight=False)
    if result.base_note:
        output.stdout.print(f"note: {result.base_note}", highlight=False)
    if result.effects.tenants:
        output.table("Tenants", _TENANT_COLUMNS, _tenant_rows(result), output.Format.TABLE)
    if result.effects.pools:
        output.table("Pools (quota allocated / allocatable)", _POOL_COLUMNS,
                     _pool_rows(result), output.Format.TABLE)
    if result.effects.flows:
        output.table("Shared-service flows", _FLOW_COLUMNS, _flow_rows(result),
                     output.Format.TABLE)
        output.stdout.print(_approvals(result), highlight=False)
    for note in result.effects.platform:
        output.stdout.print(f"platform: {note}", highlight=False)
    if result.preexisting:
        output.stdout.print(f"{len(result.preexisting)} finding(s) already on "
                            f"{result.changeset.since} are not counted ('citycloud validate' "
                            "lists them)", highlight=False)
    output.report_diagnostics(result.findings, output.Format.TABLE,
                              title="findings this change introduces")


def _tenant_json(effect: effects.TenantEffect) -> dict[str, Any]:
    return {"tenant": effect.tenant, "department": effect.department, "change": effect.change,
            "file": effect.file, "pool": effect.pool, "details": list(effect.details),
            "oldName": effect.old_name, "oldFile": effect.old_file}


def _review_json(result: Review) -> dict[str, Any]:
    c = result.changeset
    return {
        "errors": result.errors,
        "warnings": len(result.findings) - result.errors,
        "since": c.since, "base": c.base, "head": c.head, "dirty": c.dirty,
        "baseNote": result.base_note,
        "files": [{"status": f.status.value, "path": f.path, "oldPath": f.old_path or None,
                   "kind": git.kind_of(f.path).value} for f in c.files],
        "tenants": [_tenant_json(e) for e in result.effects.tenants],
        "pools": [{"pool": p.pool, "resource": p.resource,
                   "before": _usage(p.before), "after": _usage(p.after)}
                  for p in result.effects.pools],
        "platform": result.effects.platform,
        "flows": [{"change": f.change, "consumer": f.consumer,
                   "consumerDepartment": f.consumer_department, "provider": f.provider,
                   "providerDepartment": f.provider_department, "service": f.service,
                   "details": list(f.details), "approval": f.approval}
                  for f in result.effects.flows],
        "approvals": result.effects.approvals,
        "diagnostics": [output.diagnostic_dict(d) for d in result.findings],
        "preexisting": [output.diagnostic_dict(d) for d in result.preexisting],
    }


def _usage(usage: allocation.Usage | None) -> dict[str, int | float] | None:
    if usage is None:
        return None
    # cores for cpu, bytes for memory and storage, exact, as `citycloud capacity -o json`
    exact = quantities.json_number
    return {"allocated": exact(usage.allocated), "allocatable": exact(usage.allocatable),
            "headroom": exact(usage.headroom), "ratio": usage.ratio}


# ---- apply --from-git ---------------------------------------------------------


@contextlib.contextmanager
def applying(current: state.State, *, ref: str | None,
             record: audit.Outcome) -> Iterator[tuple[state.State, str | None]]:
    """The state an apply works on, and the commit it applies.

    Without REF: the registry as it is, and no commit. With REF: the registry exactly as
    committed at REF (exported to a temporary directory; workspace edits do not leak in),
    after checking that it descends from the deployed commit (OutOfOrderError, exit 2).
    The state directory stays the one given: the deployed state lives there. The audit
    record names the commit, also when it is refused."""
    if ref is None:
        yield current, None
        return
    with git.checkout(current.registry, ref=ref) as target:
        record.commit = target.commit
        git.check_order(current.registry, commit=target.commit,
                            deployed=git.read_deployed(current.state_path))
        yield dataclasses.replace(current, registry=target.root,
                                  state_dir=current.state_path), target.commit


def mark_deployed(current: state.State, *, commit: str, ref: str) -> None:
    """Record a fully applied commit; the next apply --from-git must descend from it."""
    git.write_deployed(current.state_path, commit=commit, ref=ref)
