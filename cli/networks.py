"""Network commands: duplicate private networks (业务专网) and free address ranges."""

from __future__ import annotations

import datetime
from typing import Annotated

import typer

from citycloud import policies
from citycloud.cli import options, output, state
from citycloud.cli import policies as cli_policies
from citycloud.policies import network_plans, networks

app = typer.Typer(
    no_args_is_help=True,
    help="Find department networks that overlap or duplicate each other and suggest free "
    "ranges. National policy since 2009: no new department business networks; carry them on "
    "the e-government extranet or another shared network.")


@app.command()
def check(ctx: typer.Context, fmt: options.Output = output.Format.TABLE) -> None:
    """Report overlapping and duplicate private networks, with file:line and a fix.

    Errors: a CIDR overlapping a shared or another tenant's network (containment
    counts, adjacency does not), outside the address pools, a purpose a shared
    network serves, a functional duplicate (same purpose, same site, another
    department). Warnings: consolidation candidates, one department with several
    networks of a purpose. Waivers apply as in 'validate'. Exit 1 on any error.
    """
    platform = state.get(ctx, fmt).platform
    result = policies.evaluate(platform, today=datetime.date.today()).only(networks.SET)
    if not result.ok:
        raise policies.PolicyViolations(result)  # printed, and exit 1, like validate
    count = sum(not s.shared for s in networks.segments(platform))
    cli_policies.print_report(result, fmt, summary={"networks": count},
                              title=f"networks of {platform.name} ({count} tenant networks)")


@app.command()
def report(ctx: typer.Context, fmt: options.Output = output.Format.TABLE) -> None:
    """Consolidation report: per purpose, which departments run networks, how many addresses,
    and which shared network could absorb them (else the e-government extranet).

    Verdicts: refuse (a shared network already serves the purpose), functional-duplicate
    (several departments reach the same site), consolidate (several departments),
    single (one department).
    """
    rows = network_plans.report(state.get(ctx, fmt).platform)
    if fmt is output.Format.JSON:
        output.print_json([row.as_dict() for row in rows])
        return
    sep = "\n" if fmt is output.Format.TABLE else ", "  # a line each keeps the table narrow
    output.table("Private networks by purpose", [
        "purpose", "verdict", "departments", "networks", "IPv4 addresses", "IPv6 /64s",
        "shared sites", "could move to"], [(
            row.purpose, row.verdict, sep.join(row.departments), sep.join(row.cidrs),
            row.ipv4_addresses, row.ipv6_subnets, sep.join(row.shared_sites) or "-",
            _absorber(row)) for row in rows], fmt)


def _absorber(row: network_plans.Purpose) -> str:
    if not row.absorber:
        return "- (no shared network)"
    return row.absorber if row.verdict != "refuse" else f"{row.absorber} (serves it)"


@app.command()
def allocate(
    ctx: typer.Context,
    prefix_length: Annotated[int, typer.Option(
        "--prefix-length", "-p", min=0, max=128,
        help="Size of the network, e.g. 24 for 256 IPv4 addresses.")],
    family: Annotated[int, typer.Option(help="4 or 6.")] = 4,
    purpose: Annotated[str, typer.Option(
        help="What the network is for; refused if a shared network serves it.")] = "",
    fmt: options.Output = output.Format.TABLE,
) -> None:
    """Suggest a free CIDR from the platform's address pools (spec.addressPools).

    The range overlaps nothing registered: no shared network, no tenant network.
    First fit, in pool order. Exit 2 when no range of that size is free.
    """
    found = network_plans.allocate(state.get(ctx, fmt).platform, prefix_length=prefix_length,
                                   family=family, purpose=purpose)
    if fmt is output.Format.JSON:
        output.print_json(found.as_dict())
        return
    output.table("Free range", ["cidr", "family", "addresses", "pool", "purpose"], [(
        str(found.network), f"IPv{found.network.version}", found.network.num_addresses,
        str(found.pool), found.purpose or "-")], fmt)
    if found.same_purpose:
        output.stderr.print(
            f"note: {len(found.same_purpose)} network(s) of purpose {found.purpose!r} exist "
            f"already: {'; '.join(found.same_purpose)}. Consider one shared network instead "
            "('citycloud networks report').", highlight=False, markup=False)
