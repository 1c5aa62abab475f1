"""New registries and new tenant requests, written so they validate first time.

`citycloud init` and `citycloud tenant new` write YAML a person will edit, so
the files carry comments and a schema modeline for editors. Every file is
checked against the models before it is written, and written atomically.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import tempfile
from collections.abc import Callable, Sequence

import pydantic
import yaml

from citycloud.tenants import allocation, errors, fields, loader, models, schema
from citycloud.tenants.gitops import ci
from citycloud.tenants.platform import DEPARTMENTS_FILE, PLATFORM_FILE, TENANTS_DIR, Platform

MODELINE = "# yaml-language-server: $schema=../../schema/{name}.schema.json\n"

PLATFORM_TEMPLATE = """\
# yaml-language-server: $schema=schema/platform.schema.json
# The pools of this city's cloud and the networks every department shares.
apiVersion: citycloud.io/v1
kind: Platform
metadata:
  name: {name}
spec:
  pools:
    - name: gov
      kind: gov
      displayName: 政务域资源池
      capacity: {{cpu: 1000, memory: 4000Gi, storage: 200Ti}}
      overcommit: {{cpu: 2, memory: 1, storage: 1}}
      placement:
        nodeSelector: {{citycloud.io/pool: gov}}
        taint: {{key: citycloud.io/pool, value: gov, effect: NoSchedule}}
        architectures: [amd64]
      maxClassification: 3
      imageRegistries: [registry.example.gov.cn]  # the city's own registry: replace
      # The StorageClasses the pool's storage offers (its tenants' volumes may use only these)
      # and who administers the platform in it; both end up in the pool's objects.
      storageClasses: [{{name: gov-encrypted, default: true, description: SM4 at rest}}]
      adminGroups: [citycloud-platform-admins]
    - name: industry
      kind: industry
      displayName: 产业域资源池
      capacity: {{cpu: 1000, memory: 4000Gi, storage: 200Ti}}
      placement:
        nodeSelector: {{citycloud.io/pool: industry}}
        taint: {{key: citycloud.io/pool, value: industry, effect: NoSchedule}}
        architectures: [amd64]
      maxClassification: 2
      imageRegistries: [registry.example.gov.cn]
    - name: xinchuang
      kind: xinchuang
      displayName: 信创域资源池
      capacity: {{cpu: 500, memory: 2000Gi, storage: 100Ti}}
      placement:
        nodeSelector: {{citycloud.io/pool: xinchuang}}
        taint: {{key: citycloud.io/pool, value: xinchuang, effect: NoSchedule}}
        architectures: [arm64, amd64, loong64]  # Kunpeng/Phytium, Hygon/Zhaoxin, Loongson
      maxClassification: 3
      imageRegistries: [registry.example.gov.cn]
  sharedNetworks:
    - name: e-gov-extranet
      displayName: 电子政务外网
      cidrs: [10.0.0.0/12]
      purposes: [e-government, office-automation]
  policies:
    security:
      # Storage classes that encrypt at rest (SM4); MLPS level 3+ tenants need one in their pool.
      encryptedStorageClasses: {{gov: [gov-encrypted], xinchuang: [xinchuang-encrypted]}}
    placement:
      cpuVendors: {{xinchuang: [kunpeng, phytium, hygon, zhaoxin, loongson]}}
"""

DEPARTMENTS_TEMPLATE = """\
# yaml-language-server: $schema=schema/departments.schema.json
# Every department that may own tenants. A department's code prefixes its tenants' names.
apiVersion: citycloud.io/v1
kind: DepartmentList
departments:
  - code: {code}
    name: {code}
    level: city
    owners: [{code}-admins]
    contacts: [{{name: platform team, email: platform@example.gov.cn}}]
    costCentre: {cost_centre}
"""

GITIGNORE = ".citycloud/\n"


_NAME = pydantic.TypeAdapter(fields.DNSLabel)


class ScaffoldError(errors.InputError):
    pass


def init_registry(root: pathlib.Path, *, name: str, department: str) -> list[pathlib.Path]:
    """Write a new, valid registry into an empty or missing directory."""
    if root.exists() and any(root.iterdir()):
        raise ScaffoldError(f"{root} is not empty; 'citycloud init' only writes a new registry")
    files = {
        PLATFORM_FILE: PLATFORM_TEMPLATE.format(name=name),
        DEPARTMENTS_FILE: DEPARTMENTS_TEMPLATE.format(
            code=department, cost_centre=department.upper()),
        f"{TENANTS_DIR}/{department}/.gitkeep": "",
        ".gitignore": GITIGNORE,
        ci.GITHUB_WORKFLOW_PATH: ci.GITHUB_WORKFLOW,  # validate pull requests, apply merges
    }
    for schema_name, document in schema.documents().items():
        files[f"schema/{schema_name}.schema.json"] = json.dumps(document, indent=2) + "\n"
    # Check what we are about to write with the same models a department's PR meets.
    for option, value in (("--name", name), ("--department", department)):
        try:
            _NAME.validate_python(value)
        except pydantic.ValidationError as err:
            raise ScaffoldError(f"{option}: {err.errors()[0]['msg']}") from None
    try:
        models.PlatformFile.model_validate(yaml.safe_load(files[PLATFORM_FILE]))
        models.DepartmentsFile.model_validate(yaml.safe_load(files[DEPARTMENTS_FILE]))
    except pydantic.ValidationError as err:
        problem = err.errors(include_input=False)[0]
        where = ".".join(map(str, problem["loc"]))
        raise ScaffoldError(f"--name/--department make {where} invalid: {problem['msg']}") from None
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    try:
        for rel, text in files.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).write_text(text, encoding="utf-8")
        if root.exists():
            root.rmdir()
        os.replace(staging, root)
    except BaseException:  # a full disk, Ctrl-C: leave nothing half-made behind
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [root / rel for rel in files]


def tenant_document(tenant: models.Tenant) -> str:
    """A tenant file as a department would write it, with the schema modeline."""
    data = tenant.model_dump(by_alias=True, mode="json", exclude_defaults=True)
    quota = data["spec"]["quota"]
    for resource, amount in quota.items():  # cpu: 8, not cpu: '8'
        if isinstance(amount, str) and amount.isdigit():
            quota[resource] = int(amount)
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None)
    return MODELINE.format(name="tenant") + body


def clusters_for(platform: Platform, *, pool: str, asked: Sequence[str] = ()) -> list[str]:
    """The spec.clusters a new tenant of `pool` gets: those asked for (the loader judges
    them), else, where the pool has several clusters, the one with the most headroom;
    nothing where it has one or none (the tenant runs there without naming it).

    "Most headroom" is the most CPU cores left to hand out (physical x overcommit minus
    the quotas placed there); memory and storage still meet the capacity policies before
    the file is written. Ties go to the first name in alphabetical order, so the proposal
    does not depend on the order of platform.yaml. The choice is written into the file: a
    tenant never moves because another one grew.
    """
    if asked:
        return list(asked)
    candidates = [c for c in allocation.cluster_report(platform) if c.cluster.pool == pool]
    if len(candidates) < 2:
        return []
    best = min(candidates, key=lambda c: (-c.usage["cpu"].headroom, c.cluster.name))
    return [best.cluster.name]


def write_tenant(platform: Platform, tenant: models.Tenant, *,
                 check: Callable[[Platform], None] | None = None) -> pathlib.Path:
    """Write a new tenant request file: never over another, never one that breaks the registry.

    The registry is loaded as if the file were there first (a namespace too long or
    taken by another tenant is a RegistryError naming the new file) and handed to `check`,
    which may refuse it too (the CLI holds it to the shared policies); then the file is
    written whole or not at all.
    """
    rel = f"{TENANTS_DIR}/{tenant.department}/{tenant.name}.yaml"
    path = platform.root / rel
    if path.exists() or path.is_symlink() or tenant.name in platform.tenants:
        raise ScaffoldError(f"tenant {tenant.name!r} already exists; edit its file instead")
    text = tenant_document(tenant)
    with_it = loader.load(platform.root, pending={rel: text})
    if check is not None:
        check(with_it)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, staged = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as staging:
            staging.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staged, 0o666 & ~umask)  # mkstemp's 0600 would hide the file from reviewers
        os.link(staged, path)  # unlike a rename, refuses to replace a file written meanwhile
    except FileExistsError:
        raise ScaffoldError(f"tenant {tenant.name!r} was just written by someone else") from None
    finally:
        os.unlink(staged)
    return path
