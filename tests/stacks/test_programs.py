"""The Pulumi programs under mocks: what each stack asks the engine to create, and how.

Every assertion reads the RegisterResourceRequests the real engine would
receive (tests/stacks/conftest.py): inputs, names, parents, dependencies,
provider references and the protect / retainOnDelete flags.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterable
from typing import Any

import jsonout
import pytest
from stack_mocks import WUHAN, MockEngine, run

from citycloud import tenants
from citycloud.stacks import components, layout, objects, programs, resources
from citycloud.tenants import guardrails, pools, render, units

WUHAN_TENANTS = sorted(tenants.load(WUHAN).tenants)
NAMESPACE = "kubernetes:core/v1:Namespace"
CLUSTER = programs.Cluster(kubeconfig="/etc/citycloud/kubeconfig", context="wuhan",
                           identifier="wuhan-cloud")


def _by_key(objects: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str, str], Any]:
    """Objects by identity; registration order is the engine's business, not the renderer's."""
    found: dict[tuple[str, str, str, str], Any] = {}
    for manifest in objects:
        assert render.key(manifest) not in found, f"registered twice: {render.key(manifest)}"
        found[render.key(manifest)] = manifest
    return found


def _unplaced(manifest: dict[str, Any]) -> dict[str, Any]:
    """An object without the cluster label its unit gives it."""
    labels = {k: v for k, v in manifest["metadata"]["labels"].items()
              if k != units.LABEL_CLUSTER}
    return manifest | {"metadata": manifest["metadata"] | {"labels": labels}}


def _pool_stack(mock_engine: MockEngine, platform: tenants.Platform, name: str):  # type: ignore[no-untyped-def]
    monitor = mock_engine("citycloud-pool", name)
    run(programs.program(units.pool_units(platform, name)[0], cluster=CLUSTER))
    return monitor


def _shard_stack(mock_engine: MockEngine, state: layout.StateDir, platform: tenants.Platform,
                 names: list[str]):  # type: ignore[no-untyped-def]
    monitor = mock_engine("citycloud-shard", "tenants-03")
    staged = [programs.Staged(unit.key, state.stage(unit.manifests), programs.about(platform, unit))
              for name in names for unit in units.tenant_units(platform, name)]
    run(programs.shard_program(staged, staged=state.staged_dir, cluster=CLUSTER,
                               provider=objects.serialized_provider()))
    return monitor


def test_a_shard_holds_one_resource_per_tenant_whose_staged_objects_are_the_rendering(
        mock_engine: MockEngine, wuhan_platform: tenants.Platform,
        tmp_path: pathlib.Path) -> None:
    state = layout.StateDir(tmp_path / "state")
    monitor = _shard_stack(mock_engine, state, wuhan_platform, WUHAN_TENANTS)
    found = monitor.of_type(objects.TYPE)
    wanted = {u.key: u for n in WUHAN_TENANTS for u in units.tenant_units(wuhan_platform, n)}
    assert sorted(r.name for r in found) == sorted(wanted)  # each once
    for registration in found:
        unit = wanted[registration.name]
        inputs = registration.inputs
        staged = json.loads((state.staged_dir / f"{inputs['fingerprint']}.json").read_text())
        assert _by_key(staged) == _by_key(unit.manifests), unit.key
        assert (inputs["kubeconfig"], inputs["context"]) == ("/etc/citycloud/kubeconfig",
                                                             "wuhan")
        assert inputs["about"]["tenant"] == unit.name
        assert registration.type == objects.TYPE  # (the engine's --target URNs: test_engine)
        # Leaving the stack forgets it; only offboarding (which lifts this) deletes.
        assert (registration.retain_on_delete, registration.protect) == (True, False)


def test_the_same_objects_stage_once_and_any_change_is_a_new_fingerprint(
        wuhan_platform: tenants.Platform, tmp_path: pathlib.Path) -> None:
    state = layout.StateDir(tmp_path / "state")
    [unit] = units.tenant_units(wuhan_platform, "wh-gongan-video")[:1]
    first = state.stage(unit.manifests)
    assert state.stage(list(unit.manifests)) == first
    changed = [m | {"metadata": m["metadata"] | {"annotations": {"x": "y"}}}
               for m in unit.manifests]
    assert state.stage(changed) != first
    assert len(list(state.staged_dir.iterdir())) == 2


def test_the_provider_gets_the_cluster_and_a_stable_identity(
        mock_engine: MockEngine, wuhan_platform: tenants.Platform) -> None:
    monitor = _pool_stack(mock_engine, wuhan_platform, "gov")
    [provider] = monitor.of_type("pulumi:providers:kubernetes")
    assert provider.name == "kubernetes"
    assert provider.inputs["kubeconfig"] == "/etc/citycloud/kubeconfig"
    assert provider.inputs["context"] == "wuhan"
    assert provider.inputs["clusterIdentifier"] == "wuhan-cloud"
    assert provider.inputs["enableServerSideApply"] == "true"


@pytest.mark.parametrize("pool", [pytest.param(p, id=p) for p in ("gov", "industry", "xinchuang")])
def test_pool_stack_registers_the_pool_objects_under_one_component(
        mock_engine: MockEngine, wuhan_platform: tenants.Platform, pool: str) -> None:
    monitor = _pool_stack(mock_engine, wuhan_platform, pool)
    [component] = monitor.of_type(components.POOL_TYPE)
    assert component.name == pool
    expected = units.pool_units(wuhan_platform, pool)[0].manifests
    sent = [r.manifest() for r in monitor.kubernetes_objects]
    assert _by_key(sent) == _by_key(expected)
    assert {r.parent for r in monitor.kubernetes_objects} == {component.urn}
    kinds = [m["kind"] for m in sent]
    assert kinds.count("PriorityClass") == len(pools.PRIORITIES)
    assert kinds.count("ValidatingAdmissionPolicy") == kinds.count(
        "ValidatingAdmissionPolicyBinding") > 0
    rendered = guardrails.render_pool_guardrails(wuhan_platform.pools[pool],
                                                 platform=wuhan_platform)
    assert _by_key(_unplaced(m) for m in sent if m["apiVersion"].startswith(
        "admissionregistration")) == _by_key(rendered)
    [namespace] = [r for r in monitor.kubernetes_objects if r.type == NAMESPACE]
    assert (namespace.name, namespace.protect, namespace.retain_on_delete) == (
        f"citycloud-pool-{pool}", True, True)
    assert all(not r.protect for r in monitor.kubernetes_objects if r.type != NAMESPACE)


@pytest.mark.parametrize("pool", [pytest.param(p, id=p) for p in ("gov", "industry", "xinchuang")])
def test_the_pools_registry_settings_reach_the_contract(
        mock_engine: MockEngine, wuhan_platform: tenants.Platform, pool: str) -> None:
    monitor = _pool_stack(mock_engine, wuhan_platform, pool)
    [contract] = [r.inputs for r in monitor.kubernetes_objects
                  if r.type == "kubernetes:core/v1:ConfigMap"]
    classes = wuhan_platform.pools[pool].storage_classes
    assert classes, "the Wuhan example names its pools' storage classes in platform.yaml"
    assert contract["metadata"]["namespace"] == f"citycloud-pool-{pool}"
    assert [c["name"] for c in json.loads(contract["data"]["storageClasses"])] == [
        c.name for c in classes]
    assert contract["data"]["defaultStorageClass"] == next(c.name for c in classes if c.default)
    [admins] = [r.inputs for r in monitor.kubernetes_objects
                if r.type == "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"]
    assert [s["name"] for s in admins["subjects"]] == list(
        wuhan_platform.pools[pool].admin_groups)


def _objects(monitor, kind: str) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    return [r.inputs for r in monitor.kubernetes_objects if r.inputs["kind"] == kind]


def _selects(selector: dict, labels: dict[str, str]) -> bool:  # type: ignore[type-arg]
    matches = all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In"
        matches = matches and labels.get(expression["key"]) in expression["values"]
    return matches


def test_xinchuang_placement_holds_pods_to_the_pools_nodes_and_architectures(
        mock_engine: MockEngine, wuhan_platform: tenants.Platform) -> None:
    pool = wuhan_platform.pools["xinchuang"]
    monitor = _pool_stack(mock_engine, wuhan_platform, "xinchuang")
    [placement] = [p for p in _objects(monitor, "ValidatingAdmissionPolicy")
                   if p["metadata"]["name"] == "citycloud-xinchuang-pool-placement"]
    variables = {v["name"]: v["expression"] for v in placement["spec"]["variables"]}
    assert variables["architectures"] == '["arm64", "amd64", "loong64"]'
    assert variables["wanted"] == '{"citycloud.io/pool": "xinchuang"}'
    assert '"gov"' in variables["foreign"] and '"industry"' in variables["foreign"]
    [binding] = [b for b in _objects(monitor, "ValidatingAdmissionPolicyBinding")
                 if b["spec"]["policyName"] == "citycloud-xinchuang-pool-placement"]
    selector = binding["spec"]["matchResources"]["namespaceSelector"]

    [contract] = _objects(monitor, "ConfigMap")
    assert contract["data"]["architectures"] == "arm64,amd64,loong64"
    assert json.loads(contract["data"]["nodeSelector"]) == dict(
        pool.placement.node_selector)
    assert json.loads(contract["data"]["taint"])["value"] == "xinchuang"

    # The binding selects every xinchuang tenant namespace, and no other pool's.
    for name, tenant in wuhan_platform.tenants.items():
        for manifest in render.render_tenant(tenant, platform=wuhan_platform):
            if manifest["kind"] == "Namespace":
                selected = _selects(selector, manifest["metadata"]["labels"])
                assert selected == (tenant.spec.pool == "xinchuang"), name


def test_pool_objects_never_collide_across_pools(wuhan_platform: tenants.Platform) -> None:
    seen: dict[tuple[str, str, str, str], str] = {}
    for name in wuhan_platform.pools:
        for manifest in pools.render_pool(wuhan_platform.pools[name], platform=wuhan_platform):
            key = render.key(manifest)
            assert key not in seen, f"{key} is in pools {seen[key]} and {name}"
            seen[key] = name


def test_tenant_pods_let_in_their_own_pools_platform_namespace_only(
        wuhan_platform: tenants.Platform) -> None:
    """The platform's ingress and monitoring run in the pool's platform namespace."""
    namespaces = {name: pools.namespace_object(pool)["metadata"]["labels"]
                  for name, pool in wuhan_platform.pools.items()}
    for tenant in wuhan_platform.tenants.values():
        [allow] = [o for o in render.render_tenant(tenant, platform=wuhan_platform)
                   if o["metadata"]["name"] == "citycloud-allow-platform"][:1]
        wanted = allow["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]
        selected = {name for name, labels in namespaces.items()
                    if labels.items() >= wanted.items()}
        assert selected == {tenant.spec.pool}, tenant.name


def test_tenants_may_use_exactly_the_tenant_priority_classes(
        wuhan_platform: tenants.Platform) -> None:
    """The guardrail admits the tenant classes the pool stack makes, and not the platform's."""
    for name, pool in wuhan_platform.pools.items():
        made = {m["metadata"]["name"]: m["value"] for m in pools.priority_classes(pool)}
        prefix = guardrails.tenant_priority_prefix(pool)
        assert {n for n in made if n.startswith(prefix)} == {
            f"citycloud-{name}-tenant-{s}" for s in ("critical", "standard", "batch")}
        assert made[f"citycloud-{name}-platform"] > max(
            v for n, v in made.items() if n.startswith(prefix))


def test_every_kind_the_stacks_create_is_preloaded(wuhan_platform: tenants.Platform) -> None:
    """Parallel stacks must not import pulumi_kubernetes modules themselves (resources.py)."""
    manifests = units.render_all(wuhan_platform)
    preloaded = {module.__name__ for module in resources.PRELOADED}
    used = {resources.resource_class(m["apiVersion"], m["kind"]).__module__.rsplit(".", 1)[0]
            for m in manifests}
    assert used == preloaded - {"pulumi_kubernetes.meta.v1"}


@pytest.mark.parametrize(("before", "after", "code"), [
    pytest.param("{name: industry-ceph-hdd,", "{name: industry-ceph-hdd, default: true,",
                 "several_defaults", id="two-defaults"),
    pytest.param("adminGroups: [citycloud-platform-admins, citycloud-industry-operators]",
                 "adminGroups: []", "too_short", id="no-admin-group"),
    pytest.param("{name: industry-ceph-ssd,", "{name: Industry_SSD,", "invalid_name",
                 id="bad-class-name"),
])
def test_pool_settings_in_the_registry_are_checked(
        wuhan_copy: Any, citycloud: Any, before: str, after: str, code: str) -> None:
    """storageClasses and adminGroups live in platform.yaml: a mistake is the registry's,
    with file and line."""
    path = wuhan_copy / "platform.yaml"
    path.write_text(path.read_text().replace(before, after))
    result = citycloud("-r", wuhan_copy, "validate", "-o", "json")
    assert result.exit_code == 2, result.output
    [found] = [d for d in jsonout.data(result.stdout)["diagnostics"] if d["severity"] == "error"]
    assert (found["file"], found["code"]) == ("platform.yaml", code)
    assert found["field"].startswith("spec.pools[1].")


@pytest.mark.parametrize(("pool", "selector"), [
    pytest.param("xinchuang", "citycloud.io/pool=xinchuang", id="xinchuang-multi-arch"),
    pytest.param("gov", "citycloud.io/pool=gov,kubernetes.io/arch=amd64", id="gov-single-arch"),
])
def test_tenant_namespaces_default_pods_onto_their_pool(
        wuhan_platform: tenants.Platform, pool: str, selector: str) -> None:
    name = next(t.name for t in wuhan_platform.tenants.values() if t.spec.pool == pool)
    namespaces = [m for m in units.tenant_units(wuhan_platform, name)[0].manifests
                  if m["kind"] == "Namespace"]
    assert namespaces
    for namespace in namespaces:
        annotations = namespace["metadata"]["annotations"]
        assert annotations[render.NODE_SELECTOR_ANNOTATION] == selector
        [toleration] = json.loads(
            annotations[render.DEFAULT_TOLERATIONS_ANNOTATION])
        assert toleration == {"key": "citycloud.io/pool", "operator": "Equal", "value": pool,
                              "effect": "NoSchedule"}


def test_the_pulumi_cli_entry_point_of_a_pool_builds_the_same_stack(
        mock_engine: MockEngine, wuhan_platform: tenants.Platform) -> None:
    """What stacks/pool/__main__.py runs: the registry path comes from stack config."""
    monitor = mock_engine("citycloud-pool", "xinchuang.wh-xinchuang",
                          {"citycloud:registry": str(WUHAN)})
    run(programs.main_pool)
    sent = _by_key(r.manifest() for r in monitor.kubernetes_objects)
    [expected] = [unit.manifests for unit in units.pool_units(wuhan_platform, "xinchuang")]
    assert sent == _by_key(expected)
    [provider] = monitor.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["clusterIdentifier"] == f"{wuhan_platform.name}.wh-xinchuang"
    assert provider.inputs["context"] == "wh-xinchuang"  # the context named after it


def test_the_pulumi_cli_entry_point_of_a_shard_builds_its_tenants(
        mock_engine: MockEngine, wuhan_platform: tenants.Platform,
        tmp_path: pathlib.Path) -> None:
    """What stacks/shard/__main__.py runs: every unit of the registry in that shard."""
    shard = layout.shard_of("wh-gongan-video", cluster="wh-gov-guanggu")
    monitor = mock_engine("citycloud-shard", shard.name, {
        "citycloud:registry": str(WUHAN), "citycloud:stateDir": str(tmp_path)})
    run(programs.main_shard)
    expected = {u.key for name in wuhan_platform.tenants
                for u in units.tenant_units(wuhan_platform, name)
                if layout.shard_of(name, cluster=u.cluster) == shard}
    assert {r.name for r in monitor.of_type(objects.TYPE)} == expected
    assert "wh-gongan-video.wh-gov-guanggu" in expected


@pytest.mark.parametrize("pool", [pytest.param(p, id=p) for p in ("gov", "industry", "xinchuang")])
def test_no_guardrail_binds_the_platforms_own_namespace(
        wuhan_platform: tenants.Platform, pool: str) -> None:
    """Found on a real API server: the pool's RoleBinding for platform admins was refused."""
    objects = pools.render_pool(wuhan_platform.pools[pool], platform=wuhan_platform)
    [namespace] = [m for m in objects if m["kind"] == "Namespace"]
    for binding in (m for m in objects if m["kind"] == "ValidatingAdmissionPolicyBinding"):
        selector = binding["spec"]["matchResources"]["namespaceSelector"]
        assert not _selects(selector, namespace["metadata"]["labels"]), binding["metadata"]


def test_every_encrypted_storage_class_the_policies_demand_is_in_its_pool_stack(
        wuhan_platform: tenants.Platform) -> None:
    """MLPS 3+ volumes must use these classes (a guardrail); the pool must offer them."""
    demanded = wuhan_platform.spec.spec.policies.security.encrypted_storage_classes
    assert demanded
    for pool, classes in demanded.items():
        offered = {ref.name for ref in wuhan_platform.pools[pool].storage_classes}
        assert set(classes) <= offered, pool
        default = next(r.name for r in wuhan_platform.pools[pool].storage_classes
                       if r.default)
        assert default in classes, f"{pool}: the default class should be an encrypted one"
