"""The standards set: names, labels, department codes, contacts and cost centres.

The sources name "unclear ownership and standards" among the problems a city
cloud must end (Huai'an: one platform, unified standards, unified identity).
These rules keep every department's request in one shape, so that an object
found in a cluster, a bill or an alert leads back to a department and a person.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from citycloud import tenants
from citycloud.policies import engine
from citycloud.tenants import models, render

Diagnostic = engine.Diagnostic

RESERVED_PREFIXES = ("kube-", "citycloud", "openshift-", "cattle-")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


@engine.policy(
    "standards.naming", set="standards",
    title="Tenant and namespace names are short, meaningful and not reserved",
    rationale="Names are how operators, bills and alerts refer to a system. A tenant name is "
    "'<department code>-<system>' and short enough that '<tenant>-<namespace>' stays "
    "readable; namespaces say what runs in them ('api', 'gis'), not 'default' or 'test', and "
    "never imitate platform namespaces (kube-*, citycloud*).",
    settings=("standards.maxTenantNameLength", "standards.reservedNamespaces"))
def naming(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    config = engine.settings(platform).standards
    for tenant in platform.tenants.values():
        if len(tenant.name) > config.max_tenant_name_length:
            yield engine.tenant_finding(
                platform, tenant, ("metadata", "name"),
                f"tenant name is {len(tenant.name)} characters, more than "
                f"{config.max_tenant_name_length}", hint="use a shorter system name")
        if "--" in tenant.name:
            yield engine.tenant_finding(platform, tenant, ("metadata", "name"),
                                        "tenant name has a double hyphen",
                                        hint="separate words with one '-'")
        for index, short in enumerate(tenant.spec.namespaces):
            problem = ""
            if short in config.reserved_namespaces:
                problem = "is reserved: it says nothing about what runs there"
            elif short.startswith(RESERVED_PREFIXES):
                problem = "imitates a platform namespace"
            elif "--" in short:
                problem = "has a double hyphen"
            if problem:
                yield engine.tenant_finding(
                    platform, tenant, ("spec", "namespaces", index),
                    f"namespace name {short!r} {problem}",
                    hint="name it after what runs in it, e.g. 'api', 'batch', 'gis'")


@engine.policy(
    "standards.department-code", set="standards",
    title="Department codes carry the city's prefix, and a town's extends its district's",
    rationale="Codes are the key that joins tenants, bills and identity across the city, "
    "district and town levels. One prefix per city keeps them apart from other cities' on "
    "shared networks; a town's code '<district>-<town>' makes the line of responsibility "
    "readable from the code alone.",
    settings=("standards.departmentPrefix",))
def department_code(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    prefix = engine.settings(platform).standards.department_prefix
    districts = [d.code for d in platform.departments.values() if d.level is models.Level.DISTRICT]
    for index, department in enumerate(platform.departments.values()):
        where = ("departments", index, "code")
        if prefix and not department.code.startswith(prefix):
            yield engine.finding(
                platform, tenants.platform.DEPARTMENTS_FILE, where,
                f"department code {department.code!r} does not start with {prefix!r}",
                hint=f"e.g. '{prefix}{department.code}'")
        if department.level is models.Level.TOWN and not any(
                department.code.startswith(f"{district}-") for district in districts):
            yield engine.finding(
                platform, tenants.platform.DEPARTMENTS_FILE, where,
                f"town {department.code!r} does not extend the code of a district",
                hint="town codes are '<district code>-<town>', e.g. 'wh-jiangan-dazhi'")


def _with_tenants(platform: tenants.Platform) -> Iterator[tuple[int, models.Department]]:
    """Departments that hold tenants, with their index in departments.yaml."""
    holding = {t.department for t in platform.tenants.values()}
    for index, department in enumerate(platform.departments.values()):
        if department.code in holding:
            yield index, department


@engine.policy(
    "standards.contacts", set="standards",
    title="Every department with tenants names a contact with an email or phone",
    rationale="When a tenant misbehaves at 3 a.m., or an audit finds a problem, operators "
    "must reach the department that answers for it. A contact names a unit (not a person) "
    "and a way to reach it.")
def contacts(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    for index, department in _with_tenants(platform):
        if not any(c.email or c.phone for c in department.contacts):
            yield engine.finding(
                platform, tenants.platform.DEPARTMENTS_FILE, ("departments", index, "contacts"),
                f"department {department.code!r} holds tenants but has no contact with an "
                "email or phone", hint="add contacts: [{name: 信息中心, email: ...}]")


@engine.policy(
    "standards.cost-centre", set="standards",
    title="Every department with tenants names its cost centre",
    rationale="A shared cloud is paid for centrally and charged back; without a cost centre "
    "a department's consumption lands on nobody's budget, which is how idle systems live on.",
    settings=("standards.costCentrePattern",))
def cost_centre(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    pattern = engine.settings(platform).standards.cost_centre_pattern
    for index, department in _with_tenants(platform):
        where = ("departments", index, "costCentre")
        if not department.cost_centre:
            yield engine.finding(
                platform, tenants.platform.DEPARTMENTS_FILE, where,
                f"department {department.code!r} holds tenants but has no cost centre",
                hint="add costCentre: <code from the finance bureau>")
        elif pattern and not re.fullmatch(pattern, department.cost_centre):
            yield engine.finding(
                platform, tenants.platform.DEPARTMENTS_FILE, where,
                f"cost centre {department.cost_centre!r} does not match {pattern!r}",
                hint="use the code the finance bureau assigned")


@engine.policy(
    "standards.required-labels", set="standards",
    title="Every object of a tenant carries the standard labels with the tenant's facts",
    rationale="Labels (managed-by, department, tenant, pool, classification) are how the "
    "exporter counts, how guardrails select namespaces and how an operator finds the owner "
    "of an object. This policy checks the rendered objects, so a renderer change cannot drop "
    "or garble them.")
def required_labels(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    for tenant in platform.tenants.values():
        want = {
            render.LABEL_MANAGED_BY: render.MANAGED_BY,
            render.LABEL_DEPARTMENT: tenant.department,
            render.LABEL_TENANT: tenant.name,
            render.LABEL_POOL: tenant.spec.pool,
            render.LABEL_CLASSIFICATION: str(tenant.spec.classification),
        }
        for manifest in ctx.rendered(tenant):
            labels = manifest["metadata"].get("labels", {})
            wrong = [k for k, v in want.items() if labels.get(k) != v]
            wrong += [k for k, v in labels.items() if not _valid_label_value(str(v))]
            if wrong:
                _, kind, namespace, name = render.key(manifest)
                yield engine.tenant_finding(
                    platform, tenant, ("metadata", "name"),
                    f"{kind} {namespace + '/' if namespace else ''}{name} would have missing "
                    f"or invalid labels: {', '.join(sorted(set(wrong)))}",
                    hint="tenants.render.standard_labels must set them")


@functools.lru_cache(maxsize=65536)
def _valid_label_value(value: str) -> bool:
    """Cached: every object of a tenant repeats the same few values."""
    return len(value) <= 63 and _LABEL_VALUE.fullmatch(value) is not None


@engine.policy(
    "standards.description", set="standards", severity=engine.Severity.WARNING,
    title="Every tenant says in one line what system it runs",
    rationale="'Unclear ownership' and duplicate systems start with tenants nobody can "
    "identify. A description (中文 welcome) lets reviewers spot two departments building the "
    "same system and lets auditors match a tenant to a filed MLPS system record.")
def description(ctx: engine.Context) -> Iterator[Diagnostic]:
    platform = ctx.platform
    for tenant in platform.tenants.values():
        if not tenant.metadata.description:
            yield engine.tenant_finding(
                platform, tenant, ("metadata", "name"), "tenant has no description",
                hint="add metadata.description: <the business system, e.g. 不动产登记>")
