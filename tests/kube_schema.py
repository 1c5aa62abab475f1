"""Check Kubernetes manifests against the OpenAPI schema of the Kubernetes version we target.

Shared by every test folder that produces manifests (`import kube_schema`; pytest puts
tests/ on sys.path):

    kube_schema.validate(manifest)        # raises AssertionError naming each problem
    kube_schema.errors(manifest)          # the problems, as "path: message" strings

The schemas are the ones kubernetes-validate ships (converted from the API server's
OpenAPI, "strict": unknown fields are errors). kubernetes_validate.validate() re-reads
and re-compiles its JSON files on every call (~72 objects/s measured here); this module
reads the shared definitions once and compiles each kind's validator once (~1,200/s).

The Kubernetes version is read from scripts/controlplane/versions.env, the one place the
project pins it (the kube-apiserver the e2e tests run); the newest bundled schema not
newer than it is used. Set CITYCLOUD_KUBERNETES_VERSION=1.34 to check another version.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import re
from typing import Any

import jsonschema
import kubernetes_validate
import referencing
import referencing.jsonschema
from packaging.version import Version

VERSIONS_ENV = pathlib.Path(__file__).resolve().parent.parent / "scripts/controlplane/versions.env"
STRICT = True  # unknown fields are errors: a misspelt field is silently dropped by the API server


def target_version() -> str:
    """The targeted Kubernetes version as MAJOR.MINOR, e.g. "1.37"."""
    wanted = os.environ.get("CITYCLOUD_KUBERNETES_VERSION")
    if not wanted:
        pinned = re.search(r"^KUBERNETES_VERSION=v?(\S+)", VERSIONS_ENV.read_text(), re.M)
        if pinned is None:
            raise RuntimeError(f"no KUBERNETES_VERSION= line in {VERSIONS_ENV}")
        wanted = pinned[1]
    major, minor = wanted.lstrip("v").split(".")[:2]
    return f"{major}.{minor}"


@functools.cache
def schema_dir() -> pathlib.Path:
    """The bundled schema folder for target_version(): the newest one not newer than it."""
    wanted = Version(target_version())
    base = pathlib.Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    suffix = "-local-strict" if STRICT else "-local"
    found = sorted((Version(p.name[1:].removesuffix(suffix)), p) for p in base.iterdir()
                   if p.name.startswith("v") and p.name.endswith(suffix))
    usable = [path for version, path in found if version.release[:2] <= wanted.release[:2]]
    if not usable:
        raise RuntimeError(f"kubernetes-validate has no schemas for Kubernetes {wanted} or older")
    return usable[-1]


@functools.cache
def _definitions() -> referencing.Registry[Any]:
    contents = json.loads((schema_dir() / "_definitions.json").read_text())
    return referencing.Registry().with_resource(
        contents["$id"], referencing.jsonschema.DRAFT202012.create_resource(contents))


@functools.cache
def validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    """The compiled validator of one kind, e.g. ("networking.k8s.io/v1", "NetworkPolicy")."""
    # kubernetes-validate's file naming: rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = schema_dir() / f"{kind.lower()}-{group_version}.json"
    if not path.exists():
        raise LookupError(f"no schema for {api_version} {kind} in {schema_dir().name}")
    schema = json.loads(path.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, registry=_definitions())


def errors(manifest: dict[str, Any]) -> list[str]:
    """Every way `manifest` breaks its kind's schema, as "path: message"; [] when valid."""
    check = validator(manifest["apiVersion"], manifest["kind"])
    found = []
    for error in sorted(check.iter_errors(manifest), key=lambda e: list(map(str, e.path))):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
        found.append(f"{where.lstrip('.') or '(root)'}: {error.message}")
    return found


def validate(manifest: dict[str, Any]) -> None:
    """Raise AssertionError naming the object and each schema problem, if there are any."""
    found = errors(manifest)
    if found:
        metadata = manifest.get("metadata", {})
        name = f"{metadata.get('namespace', '')}/{metadata.get('name', '?')}".lstrip("/")
        raise AssertionError(f"{manifest['kind']} {name} is not valid Kubernetes "
                             f"{target_version()} ({schema_dir().name}):\n  " + "\n  ".join(found))
