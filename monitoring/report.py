"""A static capacity report in one HTML file, for people without Grafana.

The same figures as the exporter and `citycloud capacity` (tenants.allocation),
drawn as inline SVG bar charts with plain HTML tables beside them. The file
has no scripts, fonts, stylesheets or images to fetch: it can be mailed,
attached to a ticket or opened on an air-gapped machine as it is.
"""

from __future__ import annotations

import datetime
import html
import pathlib
from collections.abc import Sequence
from fractions import Fraction

from citycloud import tenants
from citycloud.monitoring import pool_metrics
from citycloud.tenants import allocation, files, quantities, sharing, sharing_map

POOL_COLOURS = ("#1f5fa8", "#d9822b", "#2e8b57", "#8e44ad", "#7f8c8d")
TOP_DEPARTMENTS = 15

_STYLE = """
body { font-family: system-ui, "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 2rem;
       color: #1c1c1c; max-width: 1100px; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .9rem; }
th, td { border-bottom: 1px solid #ddd; padding: .3rem .7rem; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
.note { color: #555; font-size: .85rem; } svg { display: block; margin: .6rem 0; }
.legend span { display: inline-block; margin-right: 1.2rem; font-size: .85rem; }
.legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; }
"""


def render(platform: tenants.Platform, *, generated: datetime.datetime | None = None) -> str:
    """The whole report as one HTML document."""
    when = (generated or datetime.datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M %Z")
    report = allocation.report(platform)
    colours = {p.pool.name: POOL_COLOURS[i % len(POOL_COLOURS)] for i, p in enumerate(report)}
    title = f"{platform.spec.metadata.display_name or platform.name} — capacity"
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="note">Generated {_e(when)} from the registry {_e(platform.name)}: '
        f"{len(platform.departments)} departments, {len(platform.tenants)} tenants. "
        "Allocatable = physical capacity × the pool's overcommit ratio; allocated = the "
        "sum of tenant quotas (what is granted, not what is in use).</p>",
        "<h2>Pools</h2>",
    ]
    for pool in report:
        parts.append(_pool_section(pool))
    parts.append(_pool_table(report))
    clusters = allocation.cluster_report(platform)
    if clusters:  # a registry without clusters keeps the report it always had
        parts.append(_clusters_section(clusters))
    parts.append(_departments_section(platform, colours))
    parts.append(_sharing_section(platform))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pool_section(pool: allocation.PoolCapacity) -> str:
    name = pool.pool.display_name or pool.pool.name
    heading = (f"<h3>{_e(pool.pool.name)} <small>{_e(name)} · {_e(pool.pool.kind.value)} · "
               f"{pool.tenants} tenants of {pool.departments} departments</small></h3>")
    return heading + _usage_chart(pool)


def _usage_chart(pool: allocation.PoolCapacity) -> str:
    """One bar per resource: allocated (dark) over allocatable (light), physical as a line."""
    label_w, bar_w, row_h, text_w = 90, 560, 36, 290
    width, height = label_w + bar_w + text_w, row_h * len(pool.usage) + 10
    rows = []
    for index, (resource, usage) in enumerate(pool.usage.items()):
        top = 8 + index * row_h
        scale = max(usage.physical, usage.allocatable, usage.allocated) or Fraction(1)

        def x(value: Fraction, scale: Fraction = scale) -> float:
            return label_w + float(value / scale) * bar_w

        colour = "#c0392b" if usage.ratio > 1 else "#1f5fa8"
        allocated, allocatable, physical = (
            quantities.format_rounded(amount, resource=resource)
            for amount in (usage.allocated, usage.allocatable, usage.physical))
        summary = (f"{resource}: {allocated} allocated of {allocatable} allocatable "
                   f"({usage.ratio:.1%}); physical {physical}")
        rows.append(
            f'<g><title>{_e(summary)}</title>'
            f'<text x="0" y="{top + 17}" font-size="13">{_e(resource)}</text>'
            f'<rect x="{label_w}" y="{top}" width="{x(usage.allocatable) - label_w:.1f}" '
            f'height="22" fill="#dce6f2"/>'
            f'<rect x="{label_w}" y="{top}" width="{x(usage.allocated) - label_w:.1f}" '
            f'height="22" fill="{colour}"/>'
            f'<line x1="{x(usage.physical):.1f}" x2="{x(usage.physical):.1f}" y1="{top - 3}" '
            f'y2="{top + 25}" stroke="#333" stroke-width="2"/>'
            f'<text x="{label_w + bar_w + 10}" y="{top + 16}" font-size="12">'
            f'{usage.ratio:.1%} · {_e(allocated)} of {_e(allocatable)}</text></g>')
    label = f"Allocation of pool {pool.pool.name}"
    return (f'<svg role="img" aria-label="{_e(label)}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
            f'<title>{_e(label)}</title>{"".join(rows)}</svg>'
            '<p class="legend"><span><i style="background:#1f5fa8"></i>allocated</span>'
            '<span><i style="background:#dce6f2"></i>allocatable</span>'
            '<span><i style="background:#333;width:2px"></i>physical</span></p>')


def _pool_table(report: Sequence[allocation.PoolCapacity]) -> str:
    rows = []
    for pool in report:
        for resource, usage in pool.usage.items():
            rows.append(
                f'<tr><td>{_e(pool.pool.name)}</td><td class="text">{_e(resource)}</td>'
                + "".join(f"<td>{_e(quantities.format_rounded(amount, resource=resource))}</td>"
                          for amount in (usage.physical, usage.allocatable, usage.allocated,
                                         usage.headroom))
                + f"<td>{usage.ratio:.1%}</td></tr>")
    return ("<table><thead><tr><th>pool</th><th>resource</th><th>physical</th>"
            "<th>allocatable</th><th>allocated</th><th>headroom</th><th>allocated %</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _clusters_section(clusters: Sequence[allocation.ClusterCapacity]) -> str:
    """Per site (data centre) and per cluster: where a pool's room is, and what one site's
    outage would take with it."""
    sites: dict[str, list[allocation.ClusterCapacity]] = {}
    for found in clusters:
        sites.setdefault(found.cluster.site, []).append(found)
    site_rows = "".join(
        f'<tr><td>{_e(site)}</td><td class="text">{_e(", ".join(c.cluster.name for c in held))}'
        f"</td><td>{len({t.name for c in held for t in c.tenants})}</td>"
        + "".join(f"<td>{_e(_share(_site_usage(held, r)))}</td>" for r in allocation.RESOURCES)
        + "</tr>" for site, held in sorted(sites.items()))
    cluster_rows = "".join(
        f'<tr><td>{_e(c.cluster.name)}</td><td class="text">{_e(c.cluster.site)}</td>'
        f'<td class="text">{_e(c.cluster.pool)}</td><td>{len(c.tenants)}</td>'
        f'<td class="text">{_e(resource)}</td>'
        + "".join(f"<td>{_e(quantities.format_rounded(amount, resource=resource))}</td>"
                  for amount in (usage.physical, usage.allocatable, usage.allocated,
                                 usage.headroom))
        + f"<td>{usage.ratio:.1%}</td></tr>"
        for c in clusters for resource, usage in c.usage.items())
    return ("<h2>Clusters and sites</h2><p class=\"note\">Each cluster holds the quotas of the "
            "tenants placed on it (a disaster-recovery tenant holds its quota on each of its "
            "two clusters); allocatable = the cluster's physical capacity × its pool's "
            "overcommit ratio. Pools that declare no clusters run on one cluster and are not "
            "listed here.</p><h3>By site</h3>"
            "<table><thead><tr><th>site</th><th>clusters</th><th>tenants</th><th>cpu</th>"
            "<th>memory</th><th>storage</th></tr></thead>"
            f"<tbody>{site_rows}</tbody></table><h3>By cluster</h3>"
            "<table><thead><tr><th>cluster</th><th>site</th><th>pool</th><th>tenants</th>"
            "<th>resource</th><th>physical</th><th>allocatable</th><th>allocated</th>"
            "<th>headroom</th><th>allocated %</th></tr></thead>"
            f"<tbody>{cluster_rows}</tbody></table>")


def _site_usage(held: Sequence[allocation.ClusterCapacity], resource: str) -> allocation.Usage:
    """A site's clusters together (of several pools: each allocatable is already its own
    pool's overcommit applied)."""
    def total(measure: str) -> Fraction:
        return sum((getattr(c.usage[resource], measure) for c in held), Fraction(0))

    return allocation.Usage(resource, total("physical"), total("allocatable"),
                            total("allocated"))


def _share(usage: allocation.Usage) -> str:
    allocated, allocatable = (quantities.format_rounded(amount, resource=usage.resource)
                              for amount in (usage.allocated, usage.allocatable))
    return f"{allocated} of {allocatable} ({usage.ratio:.1%})"


def _departments_section(platform: tenants.Platform, colours: dict[str, str]) -> str:
    totals = pool_metrics.department_totals(platform)
    per_department: dict[str, dict[str, dict[str, Fraction]]] = {}
    for (department, pool), total in totals.items():
        per_department.setdefault(department, {})[pool] = {
            r: u.allocated for r, u in total.usage.items()}

    def cpu(department: str) -> Fraction:
        return sum((p["cpu"] for p in per_department[department].values()), Fraction(0))

    ranked = sorted(per_department, key=lambda d: (-cpu(d), d))
    return ("<h2>Departments</h2>"
            f"<p class=\"note\">Quota held per department, the basis of chargeback. The chart "
            f"shows the {min(TOP_DEPARTMENTS, len(ranked))} departments with the most CPU quota; "
            "the table lists all.</p>"
            + _department_chart(platform, ranked[:TOP_DEPARTMENTS], per_department, colours)
            + _department_table(platform, ranked, per_department))


def _department_chart(platform: tenants.Platform, ranked: Sequence[str],
                      per_department: dict[str, dict[str, dict[str, Fraction]]],
                      colours: dict[str, str]) -> str:
    label_w, bar_w, row_h = 300, 560, 22
    width, height = label_w + bar_w + 110, row_h * len(ranked) + 10
    most = max((sum((p["cpu"] for p in per_department[d].values()), Fraction(0))
                for d in ranked), default=Fraction(0)) or Fraction(1)
    rows = []
    for index, code in enumerate(ranked):
        top = 5 + index * row_h
        department = platform.departments.get(code)
        name = f"{code} {department.name}" if department else code
        left = float(label_w)
        segments = []
        total = Fraction(0)
        for pool, figures in sorted(per_department[code].items()):
            share = float(figures["cpu"] / most) * bar_w
            segments.append(
                f'<rect x="{left:.1f}" y="{top}" width="{share:.1f}" height="16" '
                f'fill="{colours.get(pool, "#999")}"><title>{_e(pool)}: '
                f'{_e(quantities.format_rounded(figures["cpu"], resource="cpu"))}</title></rect>')
            left += share
            total += figures["cpu"]
        rows.append(
            f'<text x="0" y="{top + 13}" font-size="12">{_e(name)}</text>{"".join(segments)}'
            f'<text x="{left + 6:.1f}" y="{top + 13}" font-size="12">'
            f'{_e(quantities.format_rounded(total, resource="cpu"))}</text>')
    legend = "".join(f'<span><i style="background:{c}"></i>{_e(p)}</span>'
                     for p, c in colours.items())
    label = "CPU quota by department and pool"
    return (f'<svg role="img" aria-label="{label}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
            f'<title>{label}</title>{"".join(rows)}</svg><p class="legend">{legend}</p>')


def _department_table(platform: tenants.Platform, ranked: Sequence[str],
                      per_department: dict[str, dict[str, dict[str, Fraction]]]) -> str:
    rows = []
    for code in ranked:
        department = platform.departments.get(code)
        for pool, figures in sorted(per_department[code].items()):
            rows.append(
                f'<tr><td>{_e(code)}</td><td class="text">'
                f'{_e(department.name if department else "")}</td>'
                f'<td class="text">{_e(department.cost_centre if department else "")}</td>'
                f'<td class="text">{_e(pool)}</td>'
                + "".join(f"<td>{_e(quantities.format_rounded(figures[r], resource=r))}</td>"
                          for r in allocation.RESOURCES)
                + "</tr>")
    return ("<table><thead><tr><th>department</th><th>name</th><th>cost centre</th>"
            "<th>pool</th><th>cpu</th><th>memory</th><th>storage</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _sharing_section(platform: tenants.Platform) -> str:
    """The catalogue, who is granted each published service, and who runs their own."""
    published = sharing_map.services(platform)
    report = sharing.consolidation(platform)
    head = ("<h2>Shared services</h2><p class=\"note\">Departments call each other's systems "
            "through services they publish; a flow exists only when both tenant files agree. "
            "The catalogue (platform.yaml spec.sharedServices) names the kinds of system the "
            "city runs once for everyone: a department running its own system of such a kind "
            "is building a duplicate. <code>citycloud services list|graph|report</code> show "
            "the same figures.</p>")
    if not published and not report:
        return head + "<p>No services are published and the catalogue is empty.</p>"
    consumers = {(p.tenant.name, p.service.name): p.consumers for p in published}
    catalogue_rows = "".join(
        f'<tr><td>{_e(row.kind)}</td><td class="text">{_e(row.display_name)}</td>'
        f'<td class="text">{_e(row.tenant)}/{_e(row.service)}</td>'
        f"<td>{len(consumers.get((row.tenant, row.service), ()))}</td>"
        f"<td>{len(row.systems)}</td></tr>" for row in report)
    grant_rows = "".join(
        f'<tr><td>{_e(p.tenant.name)}</td><td class="text">{_e(p.tenant.department)}</td>'
        f'<td class="text">{_e(p.service.name)}</td><td class="text">{_e(p.service.kind)}'
        f'{" (city)" if p.catalogue else ""}</td>'
        f'<td class="text">{_e(sharing_map.audience_text(p.service.audience))}</td>'
        f"<td>{len(p.consumers)}</td>"
        f'<td class="text">{_e(", ".join(p.consumers) or "-")}</td></tr>' for p in published)
    own_rows = "".join(
        f'<tr><td>{_e(row.kind)}</td><td class="text">{_e(system.department)}</td>'
        f'<td class="text">{_e(system.tenant)}</td>'
        f'<td class="text">{_e(", ".join(system.services))}</td>'
        + "".join(f"<td>{_e(quantities.format_rounded(system.quota[r], resource=r))}</td>"
                  for r in allocation.RESOURCES)
        + "</tr>" for row in report for system in row.systems)
    return (head + "<h3>The city's catalogue</h3>"
            "<table><thead><tr><th>kind</th><th>name</th><th>provided by</th>"
            "<th>tenants granted</th><th>own systems beside it</th></tr></thead>"
            f"<tbody>{catalogue_rows}</tbody></table>"
            "<h3>Grants per published service</h3>"
            "<table><thead><tr><th>tenant</th><th>department</th><th>service</th><th>kind</th>"
            "<th>audience</th><th>granted</th><th>granted to</th></tr></thead>"
            f"<tbody>{grant_rows}</tbody></table>"
            "<h3>Departments running their own system of a catalogue kind</h3>"
            + (f"<p class=\"note\">Quota is each tenant's whole quota: what consolidating it "
               "could free at most.</p><table><thead><tr><th>kind</th><th>department</th>"
               "<th>tenant</th><th>services</th><th>cpu</th><th>memory</th><th>storage</th>"
               f"</tr></thead><tbody>{own_rows}</tbody></table>" if own_rows else
               "<p>None: every system of a catalogue kind is the city's.</p>"))


def write(platform: tenants.Platform, path: pathlib.Path) -> int:
    """Write the report to `path` atomically (no half-written report); returns its bytes."""
    text = render(platform)
    files.write_atomic(path, text)
    return len(text.encode("utf-8"))
