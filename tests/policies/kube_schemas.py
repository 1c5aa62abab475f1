"""Kubernetes OpenAPI schema checks for rendered objects, each schema compiled once.

kubernetes-validate re-reads and re-compiles its JSON schema files on every
call (about 70 objects a second); here each kind's validator is built once
from the same files and reused, so checking every guardrail of every pool
stays fast. Strict schemas: an unknown field is an error, as the API server's
strict field validation would make it.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema
import kubernetes_validate.utils
import referencing

VERSION = kubernetes_validate.utils.latest_version()  # the newest the package ships: 1.37
_DIR = f"kubernetes-json-schema/v{VERSION}-local-strict"


@functools.cache
def _contents(name: str) -> Any:
    return kubernetes_validate.utils.schema_contents(f"{_DIR}/{name}", VERSION)


@functools.cache
def validator(api_version: str, kind: str) -> jsonschema.Draft202012Validator:
    # rbac.authorization.k8s.io/v1 -> rbac-v1, as kubernetes-validate names its files
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = _contents(f"{kind.lower()}-{group_version}.json")
    registry = referencing.Resource.from_contents(schema) @ referencing.Registry()
    registry = referencing.Resource.from_contents(_contents("_definitions.json")) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry)


def errors(manifest: dict[str, Any]) -> list[str]:
    """Schema violations of one object, as 'path: message'; empty when valid."""
    check = validator(manifest["apiVersion"], manifest["kind"])
    return [f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in check.iter_errors(manifest)]
