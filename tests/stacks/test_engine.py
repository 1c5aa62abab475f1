"""The CLI through the real Pulumi engine and the real Kubernetes provider, without a cluster.

The provider runs in its render-to-directory mode (renderYamlToDirectory): every
create, update and delete becomes a YAML file written or removed, so the
Automation API wiring (workspaces, file backend, passphrase, locks, protection,
recovery, offboarding) is exercised for real here; applying to a real API
server is the control-plane issue's end-to-end suite. Offboarding's volume
check reads a cluster, so its refusal is tested with an injected lister (a
fake: no cluster can run in these tests).

Skipped unless `pulumi` and `pulumi-resource-kubernetes` are available
(`make controlplane`, PATH or $CITYCLOUD_PULUMI_BIN_DIR).
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
from typing import Any

import clirun
import jsonout
import pytest
import registries
import yaml
from reporters import Quiet

from citycloud import tenants
from citycloud.stacks import (
    binaries,
    changes,
    errors,
    layout,
    locks,
    offboarding,
    operations,
    programs,
)

TENANT = "wh-gongan-video"  # gov pool, two namespaces: video, analytics
TENANT_FILE = "tenants/wh-gongan/wh-gongan-video.yaml"
STACK_COMMANDS = {"apply", "onboard", "resize", "offboard"}
pytestmark = pytest.mark.slow


class Env:
    def __init__(self, registry: pathlib.Path, root: pathlib.Path) -> None:
        self.registry = registry
        self.state = root / "state"
        self.out = root / "rendered"

    def cli(self, *args: str, input: str | None = None) -> Any:
        engine = ["--render-yaml-to", str(self.out)] if args[0] in STACK_COMMANDS else []
        return clirun.invoke("-r", self.registry, "--state-dir", self.state, *args, *engine,
                             input=input)

    def json(self, *args: str) -> tuple[int, dict[str, Any]]:
        result = self.cli(*args, "-o", "json")
        try:
            return result.exit_code, jsonout.data(result.stdout)
        except ValueError:
            raise AssertionError(result.output) from None

    def rendered(self) -> dict[str, dict[str, Any]]:
        """Objects the provider wrote, by kind/namespace/name."""
        found = {}
        for path in self.out.rglob("*.yaml"):
            for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                if document:
                    meta = document["metadata"]
                    found[f"{document['kind']}/{meta.get('namespace', '')}/{meta['name']}"] = (
                        document)
        return found

    def engine(self) -> Any:
        from citycloud.stacks import engine as engine_

        platform = tenants.load(self.registry)
        return engine_.Engine(layout.StateDir(self.state), cluster=programs.Cluster(
            identifier=platform.name, render_to=str(self.out)))


@pytest.fixture
def env(pulumi_bin: binaries.Binaries, wuhan_copy: pathlib.Path, tmp_path: pathlib.Path,
        monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "pulumi-home"))
    monkeypatch.setenv(binaries.ENV_BIN_DIR, str(pulumi_bin.pulumi.parent))
    registries.on_one_cluster(wuhan_copy)  # these tests are about one cluster's stacks
    return Env(wuhan_copy, tmp_path)


def _tenant_objects(env: Env) -> set[str]:
    platform = tenants.load(env.registry)
    return {f"{m['kind']}/{m['metadata'].get('namespace', '')}/{m['metadata']['name']}"
            for m in tenants.render.render_tenant(platform.tenants[TENANT], platform=platform)}


def test_onboard_creates_exactly_the_rendered_objects_and_is_then_a_no_op(env: Env) -> None:
    code, result = env.json("onboard", TENANT, "--yes")
    assert code == 0, result
    assert [(s["stack"], s["status"]) for s in result["stacks"]] == [
        ("pool/gov", "applied"), (f"tenant/{TENANT}", "applied")]
    rendered = env.rendered()
    assert _tenant_objects(env) <= set(rendered)
    platform = tenants.load(env.registry)
    for manifest in tenants.render.render_tenant(platform.tenants[TENANT], platform=platform):
        key = f"{manifest['kind']}/{manifest['metadata'].get('namespace', '')}/" \
              f"{manifest['metadata']['name']}"
        written = rendered[key]
        assert written["metadata"]["labels"] == manifest["metadata"]["labels"]
        assert {k: v for k, v in written.items() if k not in ("metadata",)} == {
            k: v for k, v in manifest.items() if k != "metadata"}
    assert "ValidatingAdmissionPolicy//citycloud-gov-pool-placement" in rendered

    code, again = env.json("onboard", TENANT, "--yes")
    assert code == 0
    assert {s["status"] for s in again["stacks"]} == {"unchanged"}

    plan = env.cli("plan", "-t", TENANT, "-o", "json")
    assert jsonout.data(plan.stdout)["changes"] == []


def test_a_registry_edit_that_drops_a_namespace_is_refused_loudly(env: Env) -> None:
    assert env.cli("onboard", TENANT, "--yes").exit_code == 0
    path = env.registry / TENANT_FILE
    path.write_text(path.read_text().replace("namespaces: [video, analytics]",
                                             "namespaces: [video]"))
    preview = env.cli("onboard", TENANT, "--dry-run")
    assert "DANGER" in preview.output and "wh-gongan-video-analytics" in preview.output
    result = env.cli("onboard", TENANT, "--yes")
    assert result.exit_code == 3, result.output
    assert "DANGER" in result.output
    assert "Namespace//wh-gongan-video-analytics" in env.rendered()
    record = layout.StateDir(env.state).read_record(layout.tenant(TENANT))
    assert record is not None and record.status == "ok"  # nothing was run


def test_resize_updates_the_quota_in_place(env: Env) -> None:
    assert env.cli("onboard", TENANT, "--yes").exit_code == 0
    path = env.registry / TENANT_FILE
    path.write_text(path.read_text().replace("cpu: 256", "cpu: 300"))
    result = env.cli("resize", TENANT, "--yes")
    assert result.exit_code == 0, result.output
    assert "requests.cpu" in result.output and "128" in result.output and "150" in result.output
    quota = env.rendered()["ResourceQuota/wh-gongan-video-video/citycloud-quota"]
    assert quota["spec"]["hard"]["requests.cpu"] == "150"
    code, again = env.json("resize", TENANT, "--yes")
    assert code == 0
    assert {s["status"] for s in again["stacks"]} == {"unchanged"}


def test_resize_of_a_tenant_never_onboarded_is_a_usage_error(env: Env) -> None:
    result = env.cli("resize", TENANT, "--yes")
    assert result.exit_code == 2
    assert f"citycloud onboard {TENANT}" in result.output


def test_offboard_refuses_volumes_unless_forced_and_keeps_a_record(env: Env) -> None:
    assert env.cli("onboard", TENANT, "--yes").exit_code == 0
    runner = env.engine()
    claims = ["wh-gongan-video-video/recordings"]
    with pytest.raises(errors.OffboardRefused, match="recordings"):
        offboarding.offboard(TENANT, runner=runner, reporter=Quiet(), claims=lambda ns: claims)
    assert "Namespace//wh-gongan-video-video" in env.rendered()

    result = offboarding.offboard(TENANT, runner=runner, reporter=Quiet(), force=True,
                                  claims=lambda ns: claims)
    record = json.loads(pathlib.Path(result.record).read_text())
    assert record["status"] == "done" and record["forced"] is True
    assert record["namespaces"] == ["wh-gongan-video-analytics", "wh-gongan-video-video"]
    assert record["persistentVolumeClaims"] == claims and record["pool"] == "gov"
    assert not (_tenant_objects(env) & set(env.rendered()))
    assert TENANT not in runner.state.stack_names(layout.Kind.TENANT)
    plan = env.cli("plan", "-t", TENANT, "-o", "json")
    assert {c["action"] for c in jsonout.data(plan.stdout)["changes"]} == {"create"}


def test_offboard_from_the_cli_asks_for_the_tenants_name(env: Env) -> None:
    assert env.cli("onboard", TENANT, "--yes").exit_code == 0
    declined = env.cli("offboard", TENANT, input="wh-gongan\n")
    assert declined.exit_code == 0 and "cancelled" in declined.output
    assert "Namespace//wh-gongan-video-video" in env.rendered()
    done = env.cli("offboard", TENANT, input=f"{TENANT}\n")
    assert done.exit_code == 0, done.output
    assert "DANGER" in done.output
    assert len(list((env.state / "offboarded").glob(f"{TENANT}-*.json"))) == 1


def test_a_stack_held_by_another_process_is_not_touched(env: Env) -> None:
    state = layout.StateDir(env.state)
    with locks.hold(state.lock_path(layout.tenant(TENANT)), stack="test"):
        result = env.cli("onboard", TENANT, "--yes")
    assert result.exit_code == 3
    assert "being changed by another citycloud process" in result.output


def test_a_stale_pulumi_lock_and_journal_are_recovered(env: Env) -> None:
    """A killed run's Pulumi lock on the tenant's shard, and journals saying running."""
    assert env.cli("onboard", TENANT, "--yes").exit_code == 0
    state = layout.StateDir(env.state)
    ref = layout.tenant(TENANT)
    shard = layout.shard_of(TENANT, cluster="")
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock_dir = (state.backend_dir / ".pulumi" / "locks" / "organization" / shard.project
                / shard.name)
    lock_dir.mkdir(parents=True, exist_ok=True)
    (lock_dir / "0b5e1ead-stale.json").write_text(json.dumps({
        "pid": dead.pid, "username": "x", "hostname": os.uname().nodename,
        "timestamp": "2026-01-01T00:00:00Z"}))
    state.write_record(ref, layout.Record("running", "old", "up", shard=shard.name))
    state.write_record(shard, layout.Record("running", operation="up"))
    code, result = env.json("onboard", TENANT, "--yes")
    assert code == 0, result
    [tenant] = [s for s in result["stacks"] if s["stack"] == str(ref)]
    assert tenant["recovered"] is True
    assert not state.pulumi_locks(shard)
    assert state.read_record(ref).status == "ok"  # type: ignore[union-attr]
    assert state.read_record(shard).status == "ok"  # type: ignore[union-attr]


def test_an_apply_killed_mid_way_converges_when_run_again(env: Env) -> None:
    command = [sys.executable, "-c", "from cli.app import main; main()"]
    args = ["-r", str(env.registry), "--state-dir", str(env.state), "onboard", TENANT, "--yes",
            "--render-yaml-to", str(env.out)]
    process = subprocess.Popen([*command, *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    record = layout.StateDir(env.state).record_path(layout.tenant(TENANT))
    deadline = time.monotonic() + 300
    while not (record.exists() and "running" in record.read_text()):
        assert process.poll() is None and time.monotonic() < deadline, "never reached the update"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # citycloud only: its pulumi child is orphaned
    process.wait()
    code, result = env.json("onboard", TENANT, "--yes")
    assert code == 0, result
    assert _tenant_objects(env) <= set(env.rendered())
    code, again = env.json("onboard", TENANT, "--yes")
    assert {s["status"] for s in again["stacks"]} == {"unchanged"}
    assert not re.search(r"pending", json.dumps(again))


def _edit(path: pathlib.Path, change: Any) -> None:
    """Change a tenant file's spec in place (`change` mutates the dict)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document["spec"])
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")


def test_the_audit_record_names_the_grants_an_onboarding_opens_and_closes(env: Env) -> None:
    """Grants come and go with the consumer's file: each onboarding's record says which, read
    from the deployed snapshot's share NetworkPolicies before and after (issue 15)."""
    provider = env.registry / "tenants" / "wh-fagai" / "wh-fagai-touzi.yaml"
    consumer = env.registry / TENANT_FILE
    grant = f"{TENANT} -> wh-fagai-touzi/project-feed"

    _edit(provider, lambda spec: spec.setdefault("services", []).append({
        "name": "project-feed", "namespace": "approvals", "ports": [{"port": 443}],
        "kind": "project-data", "audience": {"departments": ["wh-gongan"]}}))
    _edit(consumer, lambda spec: spec.setdefault("consumes", []).append(
        {"tenant": "wh-fagai-touzi", "service": "project-feed", "namespaces": ["analytics"]}))
    code, result = env.json("onboard", TENANT, "--yes")
    assert code == 0, result
    _edit(consumer, lambda spec: spec.update(
        consumes=[c for c in spec["consumes"] if c["tenant"] != "wh-fagai-touzi"]))
    code, result = env.json("onboard", TENANT, "--yes")
    assert code == 0, result

    code, records = env.json("audit", "log")
    opened, closed = (r["summary"] for r in records if r.get("action") == "onboard")
    assert grant in opened["grantsAdded"] and "grantsRemoved" not in opened
    assert closed["grantsRemoved"] == [grant] and "grantsAdded" not in closed


def test_onboarding_a_consumer_converges_the_provider_end_of_its_door(env: Env) -> None:
    """A flow is a door with two ends, one in each tenant's stack: onboarding or resizing the
    consumer alone converges the onboarded provider too (its ingress opens, then closes when
    the request is dropped), and onboards no tenant that was not onboarded."""
    provider_name = "wh-fagai-touzi"
    provider = env.registry / "tenants" / "wh-fagai" / f"{provider_name}.yaml"
    consumer = env.registry / TENANT_FILE

    def ingress() -> list[str]:
        return [key for key, manifest in env.rendered().items()
                if key.startswith("NetworkPolicy/") and manifest["metadata"]["labels"].get(
                    "citycloud.io/share-consumer") == TENANT
                and manifest["metadata"]["namespace"].startswith(provider_name)]

    _edit(provider, lambda spec: spec.setdefault("services", []).append({
        "name": "project-feed", "namespace": "approvals", "ports": [{"port": 443}],
        "kind": "project-data", "audience": {"departments": ["wh-gongan"]}}))
    code, result = env.json("onboard", TENANT, "--yes")  # the provider is not onboarded yet
    assert code == 0, result
    assert f"tenant/{provider_name}" not in [s["stack"] for s in result["stacks"]]

    code, result = env.json("onboard", provider_name, "--yes")
    assert code == 0, result
    _edit(consumer, lambda spec: spec.setdefault("consumes", []).append(
        {"tenant": provider_name, "service": "project-feed", "namespaces": ["analytics"]}))
    code, result = env.json("onboard", TENANT, "--yes")
    assert code == 0, result
    statuses = {s["stack"]: s["status"] for s in result["stacks"]}
    assert statuses[f"tenant/{provider_name}"] == "applied"
    assert ingress() == [f"NetworkPolicy/{provider_name}-approvals/"
                         f"citycloud-share-in-project-feed-{TENANT}"]

    _edit(consumer, lambda spec: spec.update(
        consumes=[c for c in spec["consumes"] if c["tenant"] != provider_name]))
    code, result = env.json("resize", TENANT, "--yes")
    assert code == 0, result
    assert {s["stack"]: s["status"] for s in result["stacks"]}[
        f"tenant/{provider_name}"] == "applied"
    assert ingress() == []


def _updates(folder: pathlib.Path) -> set[str]:
    """The update stamps (unix nanoseconds) of a backend history or backups folder."""
    return {m.group(1) for p in folder.glob("*")
            if (m := re.match(rf"{re.escape(folder.name)}[-.](\d{{10,}})\.", p.name))}


def test_the_state_keeps_only_the_newest_updates(env: Env,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Every update adds a history entry and a checkpoint backup that the backend never
    deletes; citycloud keeps the newest $CITYCLOUD_STATE_HISTORY of them, and Pulumi still
    reads the stack and its history afterwards."""
    monkeypatch.setenv(layout.HISTORY_ENV, "2")
    assert env.cli("onboard", TENANT, "--yes").exit_code == 0
    path = env.registry / TENANT_FILE
    for cpu in (260, 264, 268, 272):
        path.write_text(re.sub(r"cpu: \d+", f"cpu: {cpu}", path.read_text(), count=1))
        result = env.cli("resize", TENANT, "--yes")
        assert result.exit_code == 0, result.output

    shard = layout.shard_of(TENANT, cluster="")
    backend = env.state / "pulumi" / ".pulumi"
    history = _updates(backend / "history" / shard.project / shard.name)
    backups = _updates(backend / "backups" / shard.project / shard.name)
    assert len(history) == 2 and len(backups) <= 2, (history, backups)
    runner = env.engine()
    assert len(runner.stack(shard).history()) == 2
    quota = env.rendered()["ResourceQuota/wh-gongan-video-video/citycloud-quota"]
    assert quota["spec"]["hard"]["requests.cpu"] == "136"  # the last resize, 272 / 2


def test_a_history_depth_that_is_not_a_number_changes_nothing(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(layout.HISTORY_ENV, "ten")
    result = env.cli("onboard", TENANT, "--yes")
    assert result.exit_code == 2
    assert "CITYCLOUD_STATE_HISTORY='ten' is not a number of updates to keep" in result.output
    assert not env.out.exists() or not env.rendered()


def test_a_run_in_a_log_counts_its_stacks_and_names_each_outcome(env: Env) -> None:
    """Without a terminal (CI logs) each stack gets a line as it ends: phase, done/total,
    the stack, its outcome and what changed, with the time left while more remain."""
    result = env.cli("onboard", TENANT, "--yes")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("update ")]
    assert len(lines) == 2, result.stderr
    assert re.fullmatch(r"update 1/2 pool/gov: applied \(\d+ create\), about \d+s left",
                        lines[0]), lines
    assert re.fullmatch(rf"update 2/2 tenant/{TENANT}: applied \(\d+ create\)", lines[1]), lines


def _keys(objects: Any) -> set[str]:
    return {f"{m['kind']}/{m['metadata'].get('namespace', '')}/{m['metadata']['name']}"
            for m in objects}


@pytest.mark.parametrize("edit", [
    pytest.param(lambda text: text.replace("cpu: 256", "cpu: 300"), id="quota"),
    pytest.param(lambda text: text.replace("hosts: [video.gongan.wuhan.gov.cn]", "hosts: []"),
                 id="a-host-dropped"),
    pytest.param(lambda text: text.replace("egress: [e-gov-extranet, video-sharing]",
                                           "egress: [e-gov-extranet]"), id="a-network-dropped"),
    pytest.param(lambda text: text.replace("namespaces: [video, analytics]",
                                           "namespaces: [video, analytics, archive]"),
                 id="a-namespace-added"),
])
def test_our_preview_names_what_the_apply_then_does(env: Env, edit: Any) -> None:
    """A tenant's preview is our own rendering diff against what its last run applied; the
    apply then makes exactly that: every object created, changed or deleted as shown."""
    assert env.cli("onboard", TENANT, "--yes").exit_code == 0
    before = {k: v for k, v in env.rendered().items() if k in _tenant_objects(env)}
    path = env.registry / TENANT_FILE
    path.write_text(edit(path.read_text()))
    runner = env.engine()
    [target] = [t for t in operations.targets(tenants.load(env.registry), cluster=runner.cluster,
                                              tenants=[TENANT]) if t.ref.kind.value == "tenant"]
    deployed = tenants.manifests.read(env.state / "deployed", folders=[TENANT])
    steps = operations.own_preview(target.manifests, deployed)
    assert steps and not any(s.dangerous for s in steps)

    assert env.cli("onboard", TENANT, "--yes").exit_code == 0

    after = {k: v for k, v in env.rendered().items() if k.split("/")[1].startswith(TENANT)
             or k.split("/")[2].startswith(TENANT)}
    assert set(after) == _keys(target.manifests)
    shown = {(s.op, s.name.split("/")[-1]) for s in steps}
    made = ({("create", k.rsplit("/", 1)[1]) for k in set(after) - set(before)}
            | {("delete", k.rsplit("/", 1)[1]) for k in set(before) - set(after)}
            | {("update", k.rsplit("/", 1)[1]) for k in set(before) & set(after)
               if before[k] != after[k]})
    assert shown == made


def test_the_engine_previews_where_our_records_cannot_vouch(env: Env) -> None:
    """A pool stack (one resource per object): after an interrupted run, or with other
    cluster settings, the engine previews (and recovers first): the snapshot may not be what
    the stack holds."""
    assert env.cli("onboard", TENANT, "--yes").exit_code == 0
    state = layout.StateDir(env.state)
    ref = layout.pool("gov")
    record = state.read_record(ref)
    assert record is not None and record.engine
    runner = env.engine()
    [target] = [t for t in operations.targets(tenants.load(env.registry), cluster=runner.cluster,
                                              tenants=[TENANT]) if t.ref == ref]
    assert operations._engine_state(target, record, runner=runner) is not None
    for changed in (layout.Record("running", record.fingerprint, "up", engine=record.engine),
                    layout.Record("ok", record.fingerprint, "up", engine="another-cluster"),
                    layout.Record("ok", record.fingerprint, "up")):
        assert operations._engine_state(target, changed, runner=runner) is None, changed


def test_nothing_to_do_never_loads_the_engine(env: Env) -> None:
    """Deciding that nothing changed costs a render and a hash per stack: the Pulumi SDK (a
    second of a command's start) is not even imported."""
    assert env.cli("onboard", TENANT, "--yes").exit_code == 0
    script = ("import sys\nfrom citycloud.cli.app import main\n"
              "try:\n    main()\nexcept SystemExit as done:\n    code = done.code\n"
              "print('engine loaded' if 'pulumi' in sys.modules else 'engine not loaded', code)")
    args = ["-r", str(env.registry), "--state-dir", str(env.state), "onboard", TENANT, "--yes",
            "--render-yaml-to", str(env.out)]
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, check=False)
    assert done.stdout.strip().splitlines()[-1] == "engine not loaded 0", done.stdout + done.stderr
    assert "2 stack(s): 2 unchanged" in done.stdout


def test_offboarding_a_consumer_closes_the_providers_end_of_its_door(env: Env) -> None:
    """The usual order: the consumer's file leaves the registry, then `offboard` deletes its
    stack, and converges the onboarded provider, whose ingress from the consumer's (now
    deleted) namespaces would otherwise outlive it."""
    consumer, provider_name = "wh-gongan-jiaoguan", "wh-fagai-touzi"
    consumer_file = env.registry / "tenants" / "wh-gongan" / f"{consumer}.yaml"
    _edit(env.registry / "tenants" / "wh-fagai" / f"{provider_name}.yaml",
          lambda spec: spec.setdefault("services", []).append({
              "name": "project-feed", "namespace": "approvals", "ports": [{"port": 443}],
              "kind": "project-data", "audience": {"departments": ["wh-gongan"]}}))
    _edit(consumer_file, lambda spec: spec.setdefault("consumes", []).append(
        {"tenant": provider_name, "service": "project-feed", "namespaces": ["analytics"]}))
    assert env.cli("onboard", provider_name, "--yes").exit_code == 0
    assert env.cli("onboard", consumer, "--yes").exit_code == 0
    door = (f"NetworkPolicy/{provider_name}-approvals/"
            f"citycloud-share-in-project-feed-{consumer}")
    assert door in env.rendered()

    consumer_file.unlink()
    code, result = env.json("offboard", consumer, "--yes")

    assert code == 0, result
    assert result["offboarded"] is True
    assert {(s["stack"], s["status"]) for s in result["counterparts"]["stacks"]} == {
        (f"tenant/{provider_name}", "applied"), ("pool/gov", "unchanged")}
    assert door not in env.rendered()
    deployed = tenants.manifests.read(env.state / "deployed", folders=[provider_name])
    assert not [m for m in deployed if consumer in m["metadata"]["name"]]


def test_a_registry_failing_its_policies_leaves_the_other_ends_and_says_so(env: Env) -> None:
    """Removing wh-gongan-video breaks the example (the catalogue and two consumers name its
    video-sharing service), so nothing is converged from it: the onboarded consumer keeps
    its end until its next onboarding, and the user is told which and how."""
    assert env.cli("onboard", "wh-jiaotong-tocc", "--yes").exit_code == 0
    assert env.cli("onboard", TENANT, "--yes").exit_code == 0
    (env.registry / TENANT_FILE).unlink()

    result = env.cli("offboard", TENANT, "--yes")

    assert result.exit_code == 0, result.output
    assert ("warning: wh-jiaotong-tocc still hold their end of a door to the offboarded tenant"
            in " ".join(result.stderr.split()))
    assert f"offboarded {TENANT}" in result.stdout


def test_a_tenant_of_the_first_layout_moves_into_its_shard_and_nothing_is_deleted(
        env: Env) -> None:
    """A state written before shards: the tenant has a stack of its own (its objects one
    pulumi_kubernetes resource each, namespaces protected). The next onboarding applies it
    in its shard, then removes the old stack's state alone: its objects stay."""
    from citycloud.stacks import objects, resources

    runner = env.engine()
    platform = tenants.load(env.registry)
    [unit] = tenants.units.tenant_units(platform, TENANT)
    old = layout.tenant(TENANT)

    def first_layout() -> None:
        import pulumi

        provider = programs.provider(runner.cluster)
        for manifest in unit.manifests:
            kept = resources.is_protected(manifest)
            resources.create(manifest, opts=pulumi.ResourceOptions(
                provider=provider, protect=kept, retain_on_delete=kept))

    stack = runner.stack(old, first_layout)
    runner.up(stack, old, changes.Journal())
    runner.state.write_record(old, layout.Record("ok", "first-layout", "up", engine="v1"))
    before = set(env.rendered())
    assert runner.state.in_backend(old) and before == _tenant_objects(env)

    code, result = env.json("onboard", TENANT, "--yes")

    assert code == 0, result
    assert {s["stack"]: s["status"] for s in result["stacks"]}[str(old)] == "applied"
    assert not runner.state.in_backend(old)  # the old stack's state is gone...
    assert before <= set(env.rendered())  # ...and not one of its objects
    shard = layout.shard_of(TENANT, cluster="")
    record = runner.state.read_record(old)
    assert record is not None and record.shard == shard.name
    held = runner.resources(runner.stack(shard), shard)
    assert [r["urn"].rsplit("::", 1)[1] for r in held if r["type"] == objects.TYPE] == [TENANT]
    code, result = env.json("onboard", TENANT, "--yes")
    assert code == 0 and {s["status"] for s in result["stacks"]} == {"unchanged"}, result
