"""Onboarding cost vs. platform size: the Pulumi graph for one tenant while 2,000 exist.

    python bench/stacks.py [--tenants 2000] [--samples 5] [--shards 16]

Builds the Pulumi resource graph under mocks (pulumi.runtime.set_mocks, the
same programs the CLI runs) for three stack layouts over one generated
registry (bench/generate.py), and prints each against the stack-per-tenant
layout measured in the same run:

- stack per tenant (citycloud's layout): onboarding one tenant builds that tenant only;
- sharded stacks: onboarding one tenant builds its whole shard (2,000 / shards tenants);
- one stack for all tenants: onboarding one tenant builds every tenant.

Also shown: loading the registry (every command pays it) and deciding that
nothing changed for all tenants (render + fingerprint, what a no-op `apply`
costs before any engine starts). Timings are wall-clock on this machine; read
the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
if sys.path and pathlib.Path(sys.path[0] or ".").resolve() == HERE:
    sys.path.pop(0)  # run as a script, this file would shadow the stacks package

import pulumi  # noqa: E402
from pulumi.runtime import settings as pulumi_settings  # noqa: E402

from citycloud import tenants  # noqa: E402
from citycloud.stacks import components, operations, programs  # noqa: E402
from citycloud.tenants import units  # noqa: E402

CLUSTER = programs.Cluster(identifier="bench")


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered = 0

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered += 1
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


def _generate() -> Any:
    spec = importlib.util.spec_from_file_location("generate", HERE / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def graph(program: Callable[[], None], *, stack: str) -> tuple[float, int]:
    """Seconds to build a program's resource graph under fresh mocks, and resources registered."""
    mocks = _Mocks()
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project="bench", stack=stack, preview=False)

    @pulumi.runtime.test
    def body() -> pulumi.Output[None]:
        program()
        return pulumi.Output.from_input(None)

    start = time.perf_counter()
    body()
    return time.perf_counter() - start, mocks.registered


def tenants_program(platform: tenants.Platform, names: Sequence[str]) -> Callable[[], None]:
    """One stack holding many tenants: the peers citycloud's layout is measured against."""

    def program() -> None:
        provider = programs.provider(CLUSTER)
        for name in names:
            components.Tenant(name, units.tenant_units(platform, name)[0].manifests,
                              opts=pulumi.ResourceOptions(providers=[provider]))

    return program


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=5, help="tenants onboarded one by one")
    parser.add_argument("--shards", type=int, default=16)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        root = _generate().generate(pathlib.Path(tmp) / "registry", tenants=args.tenants)
        start = time.perf_counter()
        platform = tenants.load(root)
        load = time.perf_counter() - start
    names = list(platform.tenants)
    step = max(1, len(names) // args.samples)
    sample = names[::step][:args.samples]

    # First, before the big graphs leave a large heap behind (the decision would pay its GC).
    start = time.perf_counter()
    operations.targets(platform, cluster=CLUSTER)
    fingerprints = time.perf_counter() - start

    # Untimed first run: imports pulumi_kubernetes' modules, which every layout pays once.
    def tenant_program(name: str) -> Callable[[], None]:
        return programs.program(units.tenant_units(platform, name)[0], platform=platform,
                                cluster=CLUSTER)

    graph(tenant_program(names[0]), stack="warm")
    one = [graph(tenant_program(n), stack=n) for n in sample]
    per_tenant = statistics.median(t for t, _ in one)
    per_tenant_resources = round(statistics.median(r for _, r in one))
    shard = names[: -(-len(names) // args.shards)]
    sharded, sharded_resources = graph(tenants_program(platform, shard), stack="shard")
    everything, all_resources = graph(tenants_program(platform, names), stack="all")

    rows = [
        ("stack per tenant (citycloud)", 1, per_tenant_resources, per_tenant),
        (f"sharded ({args.shards} stacks)", len(shard), sharded_resources, sharded),
        ("one stack for all", len(names), all_resources, everything),
    ]
    print(f"registry: {len(names)} tenants, loaded in {load:.2f}s; "
          f"onboarding one tenant, median of {len(one)}")
    print(f"{'layout':<30} {'tenants':>8} {'resources':>10} {'graph s':>9} {'x per-tenant':>13}")
    for label, count, resources, seconds in rows:
        print(f"{label:<30} {count:>8} {resources:>10} {seconds:>9.3f} "
              f"{seconds / per_tenant:>12.1f}x")
    print(f"no-op apply decision for all {len(names)} tenants (render + fingerprint, no engine): "
          f"{fingerprints:.2f}s = {fingerprints / per_tenant:.1f}x one tenant's graph")
    return 0


if __name__ == "__main__":
    sys.exit(main())
