"""The JSON Schemas editors use: shipped as files, equal to what the models generate.

tenants/schema/*.json are package data for editors and CI; they are generated
from the pydantic models (tenants.schema). If a model changes, regenerate them
with `citycloud schema --out tenants/schema` and commit the result.
"""

from __future__ import annotations

import json
import pathlib

import jsonschema
import pytest
import registries
import yaml

from citycloud.tenants import schema

SHIPPED = pathlib.Path(schema.__file__).parent / "schema"
WUHAN = pathlib.Path(__file__).resolve().parents[2] / "examples" / "wuhan"
# The example city has no waivers; the policy tests' registry has well-formed ones.
BAD_WAIVERS = WUHAN.parents[1] / "tests" / "policies" / "bad" / "waivers.yaml"


def shipped(name: str) -> dict[str, object]:
    return json.loads((SHIPPED / f"{name}.schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["tenant", "platform", "departments", "waivers", "nodes"])
def test_shipped_schema_is_the_generated_one(name: str) -> None:
    assert shipped(name) == schema.documents()[name], (
        f"tenants/schema/{name}.schema.json is out of date: "
        "run 'citycloud schema --out tenants/schema' and commit it")


def test_no_stray_schema_files() -> None:
    assert sorted(p.name for p in SHIPPED.glob("*.json")) == sorted(
        f"{name}.schema.json" for name in schema.documents())


def test_cli_writes_the_shipped_files(tmp_path: pathlib.Path, citycloud) -> None:
    result = citycloud("schema", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    for path in SHIPPED.glob("*.json"):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()


@pytest.mark.parametrize("path", sorted((WUHAN / "tenants").rglob("*.yaml")),
                         ids=lambda p: p.stem)
def test_every_wuhan_tenant_validates_against_the_shipped_schema(path: pathlib.Path) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(shipped("tenant")).validate(document)


@pytest.mark.parametrize(("name", "file"), [("platform", "platform.yaml"),
                                            ("departments", "departments.yaml"),
                                            ("nodes", "nodes/industry.yaml"),
                                            ("waivers", BAD_WAIVERS)])
def test_wuhan_platform_files_validate_against_the_shipped_schema(name: str, file: str) -> None:
    document = yaml.safe_load((WUHAN / file).read_text(encoding="utf-8"))
    # Editors see YAML dates (a waiver's expires) as the strings they are typed as.
    document = json.loads(json.dumps(document, default=str))
    jsonschema.Draft202012Validator(shipped(name)).validate(document)


VIDEO = registries.tenant("wh-gongan-video", description=None, classification=3, cpu=64,
                          memory="256Gi", storage="10Ti", namespaces=["video"])


@pytest.mark.parametrize(("path", "value"), [
    pytest.param(("spec", "quotas"), {}, id="unknown-field"),
    pytest.param(("spec", "classification"), 5, id="classification-5"),
    pytest.param(("spec", "namespaces"), ["Video"], id="upper-case-name"),
    pytest.param(("spec", "namespaces"), [], id="no-namespaces"),
    pytest.param(("spec", "quota", "cpu"), "12 cores", id="bad-quantity"),
    pytest.param(("spec", "quota", "memory"), -1, id="negative-quantity"),
    pytest.param(("kind",), "Tenants", id="wrong-kind"),
])
def test_the_schema_refuses_what_the_loader_refuses(path: tuple[str, ...], value: object) -> None:
    document = json.loads(json.dumps(VIDEO))
    jsonschema.Draft202012Validator(shipped("tenant")).validate(document)
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(shipped("tenant")).validate(document)
