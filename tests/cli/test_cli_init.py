"""`citycloud init` and `citycloud tenant new`: what they write validates, first time.

A new registry must pass `validate` (schema and policies) as written; a tenant
request written by `tenant new` must validate against the shipped JSON Schema and
keep the registry valid, and anything it would break is refused before writing.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib

import jsonout
import jsonschema
import pytest
import yaml

from citycloud.tenants import schema

TENANT_SCHEMA = json.loads(
    (pathlib.Path(schema.__file__).parent / "schema" / "tenant.schema.json").read_text())


def tree(top: pathlib.Path) -> dict[str, str]:
    """Every file under `top` with a digest of its bytes (the audit trail aside)."""
    return {str(p.relative_to(top)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(top.rglob("*")) if p.is_file() and ".citycloud" not in p.parts}


@pytest.fixture
def registry(tmp_path: pathlib.Path, citycloud) -> pathlib.Path:
    root = tmp_path / "my-city"
    result = citycloud("init", root, "--name", "my-city", "--department", "mc-zwfw")
    assert result.exit_code == 0, result.output
    return root


def test_init_writes_a_registry_that_validates(registry: pathlib.Path, citycloud) -> None:
    assert (registry / "platform.yaml").is_file()
    assert (registry / "departments.yaml").is_file()
    assert (registry / "tenants" / "mc-zwfw").is_dir()
    for name in ("tenant", "platform", "departments"):
        assert json.loads((registry / "schema" / f"{name}.schema.json").read_text()) == (
            schema.documents()[name])

    result = citycloud("-r", registry, "validate", "-o", "json")

    assert result.exit_code == 0, result.output
    document = jsonout.envelope(result.stdout)
    report = document["data"]
    assert (document["ok"], report["errors"], report["warnings"]) == (True, 0, 0)


def test_init_refuses_a_directory_that_is_not_empty(tmp_path: pathlib.Path, citycloud) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = citycloud("init", tmp_path)
    assert result.exit_code == 2
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("option", [
    pytest.param(["--department", "Bad_Dept"], id="department-not-dns"),
    pytest.param(["--name", "My City"], id="name-not-dns"),
    pytest.param(["--department", "d" * 60], id="owner-group-too-long"),
])
def test_init_refuses_bad_names_before_writing(tmp_path: pathlib.Path, citycloud,
                                               option: list[str]) -> None:
    result = citycloud("init", tmp_path / "new", *option)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert option[0] in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_tenant_new_writes_a_request_that_validates(registry: pathlib.Path, citycloud) -> None:
    result = citycloud("-r", registry, "tenant", "new", "mc-zwfw", "mc-zwfw-portal",
                       "--pool", "gov", "--classification", "3", "--cpu", "16",
                       "--memory", "64Gi", "--storage", "2Ti", "-n", "web", "-n", "api",
                       "--description", "政务服务门户")
    assert result.exit_code == 0, result.output
    path = registry / "tenants" / "mc-zwfw" / "mc-zwfw-portal.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../../schema/tenant.schema.json")
    document = yaml.safe_load(text)
    jsonschema.Draft202012Validator(TENANT_SCHEMA).validate(document)
    assert document["spec"]["quota"] == {"cpu": 16, "memory": "64Gi", "storage": "2Ti"}
    assert document["spec"]["owners"] == ["mc-zwfw-admins"]  # the department's, by default
    plain = registry / "plain.txt"
    plain.write_text("")
    assert path.stat().st_mode == plain.stat().st_mode, "the mode of any new file, not 0600"
    plain.unlink()

    validated = citycloud("-r", registry, "validate", "-o", "json")
    assert validated.exit_code == 0, validated.output
    assert jsonout.data(validated.stdout)["tenants"] == 1

    planned = citycloud("-r", registry, "plan", "-o", "json")
    assert {c["unit"] for c in jsonout.data(planned.stdout)["changes"]} == {
        "mc-zwfw-portal", "pool.gov", "pool.industry", "pool.xinchuang"}


def test_tenant_new_on_the_wuhan_example(wuhan_copy: pathlib.Path, citycloud) -> None:
    result = citycloud("-r", wuhan_copy, "tenant", "new", "wh-gongan", "wh-gongan-traffic",
                       "--description", "交通违法处理", "-n", "api")
    assert result.exit_code == 0, result.output
    assert citycloud("-r", wuhan_copy, "validate").exit_code == 0


@pytest.mark.parametrize(("args", "words"), [
    pytest.param(["mc-zwfw", "mc-zwfw-" + "a" * 45, "-n", "namespace1"], "longer than 63",
                 id="namespace-too-long"),
    pytest.param(["mc-zwfw", "mc-zwfw-portal", "-n", "web"], "already exists",
                 id="tenant-exists"),
    pytest.param(["mc-zwfw", "mc-zwfw-portal-web", "-n", "x"], "is also claimed by",
                 id="namespace-taken"),
    pytest.param(["mc-nobody", "mc-nobody-app"], "not in departments.yaml",
                 id="unknown-department"),
    pytest.param(["mc-zwfw", "portal"], "must start with 'mc-zwfw-'", id="name-without-prefix"),
    pytest.param(["mc-zwfw", "mc-zwfw-x", "--pool", "cloud"], "choose one of",
                 id="unknown-pool"),
    pytest.param(["mc-zwfw", "mc-zwfw-x", "--cpu", "lots"], "quantity", id="bad-quantity"),
    pytest.param(["mc-zwfw", "mc-zwfw-x", "--classification", "5"], "classification",
                 id="classification-5"),
    pytest.param(["mc-zwfw", "MC-ZWFW-X"], "DNS-1123", id="upper-case-name"),
])
def test_tenant_new_refuses_before_writing(registry: pathlib.Path, citycloud, args: list[str],
                                           words: str) -> None:
    assert citycloud("-r", registry, "tenant", "new", "mc-zwfw", "mc-zwfw-portal",
                     "-n", "web-x").exit_code == 0
    before = tree(registry)

    result = citycloud("-r", registry, "tenant", "new", *args)

    assert result.exit_code == 2, result.output
    assert words in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert tree(registry) == before
    assert not [p for p in registry.rglob(".*") if p.is_file() and p.suffix == ".yaml"]
    assert citycloud("-r", registry, "validate").exit_code == 0


def test_tenant_new_leaves_no_temporary_file(registry: pathlib.Path, citycloud) -> None:
    assert citycloud("-r", registry, "tenant", "new", "mc-zwfw", "mc-zwfw-app").exit_code == 0
    folder = registry / "tenants" / "mc-zwfw"
    assert sorted(os.listdir(folder)) == [".gitkeep", "mc-zwfw-app.yaml"]
