"""JSON Schema of the registry files, generated from the models so it cannot drift.

Shipped in `tenants/schema/` (and written into new registries by `init`), so
editors validate a tenant file while a department types it.
"""

from __future__ import annotations

import pathlib
from typing import Any

from citycloud.tenants import models

SHIPPED = pathlib.Path(__file__).parent / "schema"

_MODELS: dict[str, type[models.Model]] = {
    "tenant": models.Tenant,
    "platform": models.PlatformFile,
    "departments": models.DepartmentsFile,
    "waivers": models.WaiverList,
    "nodes": models.NodeInventory,
}


def documents() -> dict[str, dict[str, Any]]:
    result = {}
    for name, model in _MODELS.items():
        document = model.model_json_schema(by_alias=True, mode="validation")
        document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        document["$id"] = f"https://citycloud.io/schemas/v1/{name}.schema.json"
        result[name] = document
    return result
