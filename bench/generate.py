"""A synthetic, valid registry of N tenants, for benchmarks of anything that reads one.

    python bench/generate.py OUT --tenants 2000 [--seed 0]

or, from another benchmark or test:

    from bench import generate  # or importlib from this path
    generate.generate(pathlib.Path(out), tenants=2000)

The registry looks like a real city's: three pools (gov, industry, xinchuang), one
department per five tenants, tenants with 1-3 namespaces, owner groups, quotas of
varied size and unit, some asking for private networks (non-overlapping CIDRs, a
purpose of their own, so network policies find nothing) and some for shared
networks. Pool capacity is sized at twice what the tenants ask for, so capacity
policies find nothing either: the registry is valid, and every file is read and
checked in full by whoever loads it. The same N and seed give the same bytes.
"""

from __future__ import annotations

import argparse
import ipaddress
import pathlib
import random
import shutil
import sys

TENANTS_PER_DEPARTMENT = 5
POOLS = (  # name, kind, max MLPS level, architectures, share of tenants
    ("gov", "gov", 3, "[amd64]", 0.5),
    ("industry", "industry", 2, "[amd64]", 0.3),
    ("xinchuang", "xinchuang", 3, "[arm64, amd64, loong64]", 0.2),
)
SHARED = (  # name, cidr, purposes
    ("e-gov-extranet", "10.0.0.0/12", "[e-government, office-automation]"),
    ("video-sharing", "10.32.0.0/14", "[video-sharing]"),
    ("internet-zone", "172.20.0.0/16", "[internet-access]"),
)
PRIVATE_SPACE = ipaddress.ip_network("10.128.0.0/9")  # outside every shared network
NAMESPACES = ("app", "api", "web", "batch", "data", "ops", "portal", "gis", "etl")
SYSTEMS = ("zhengwu", "shenpi", "jianguan", "shuju", "bangong", "dangan", "fuwu", "yingji",
           "xinxi", "pingtai", "jiance", "tongji", "zhifa", "xietong", "wangge", "kaifa")
GIB = 2**30


def generate(out: pathlib.Path, *, tenants: int, seed: int = 0) -> pathlib.Path:
    """Write a registry of `tenants` tenants into `out` (replaced if it exists); return out."""
    if tenants < 1:
        raise ValueError("tenants must be at least 1")
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    (out / "tenants").mkdir(parents=True)
    departments = [f"gen-d{index:04d}" for index in range(-(-tenants // TENANTS_PER_DEPARTMENT))]
    subnets = PRIVATE_SPACE.subnets(new_prefix=24)
    asked = {name: [0, 0, 0] for name, *_ in POOLS}  # cores, memory GiB, storage GiB
    for index in range(tenants):
        department = departments[index // TENANTS_PER_DEPARTMENT]
        pool, max_level = _pick_pool(rng)
        cpu = rng.choice((2, 4, 8, 16, 32, 64, 128))
        memory = cpu * rng.choice((2, 4, 8))
        storage = rng.choice((100, 500, 1024, 4096, 10240))
        asked[pool] = [a + b for a, b in zip(asked[pool], (cpu, memory, storage), strict=True)]
        name = f"{department}-{SYSTEMS[index % len(SYSTEMS)]}{index}"
        text = _tenant(rng, name=name, department=department, pool=pool,
                       level=rng.randint(1, max_level), cpu=cpu, memory=memory, storage=storage,
                       subnets=subnets)
        folder = out / "tenants" / department
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    (out / "platform.yaml").write_text(_platform(asked), encoding="utf-8")
    (out / "departments.yaml").write_text(_departments(departments), encoding="utf-8")
    return out


def _pick_pool(rng: random.Random) -> tuple[str, int]:
    roll = rng.random()
    for name, _kind, level, _arch, share in POOLS:
        if roll < share:
            return name, level
        roll -= share
    return POOLS[0][0], POOLS[0][2]


def _tenant(rng: random.Random, *, name: str, department: str, pool: str, level: int, cpu: int,
            memory: int, storage: int, subnets: object) -> str:
    namespaces = rng.sample(NAMESPACES, rng.randint(1, 3))
    lines = [
        "apiVersion: citycloud.io/v1",
        "kind: Tenant",
        "metadata:",
        f"  name: {name}",
        f"  department: {department}",
        f"  description: 合成租户 {name}",
        "spec:",
        f"  pool: {pool}",
        f"  classification: {level}",
        f"  owners: [{department}-admins]",
        f"  quota: {{cpu: {cpu}, memory: {memory}Gi, storage: {_storage(storage)}}}",
        f"  namespaces: [{', '.join(namespaces)}]",
    ]
    if rng.random() < 0.3:
        assert hasattr(subnets, "__next__")
        cidr = next(subnets)
        lines += [
            "  networks:",
            f"    - name: {name.rsplit('-', 1)[-1]}-net",
            f"      cidr: {cidr}",
            f"      purpose: {name}-private",
            f"      sites: [site-{rng.randint(1, 40)}]",
        ]
    egress = [shared for shared, *_ in SHARED if rng.random() < 0.4]
    if egress:
        lines.append(f"  egress: [{', '.join(egress)}]")
    return "\n".join(lines) + "\n"


def _storage(gib: int) -> str:
    return f"{gib // 1024}Ti" if gib % 1024 == 0 else f"{gib}Gi"


def _platform(asked: dict[str, list[int]]) -> str:
    lines = ["apiVersion: citycloud.io/v1", "kind: Platform", "metadata:",
             "  name: generated-city", "spec:", "  pools:"]
    for name, kind, level, arch, _share in POOLS:
        cpu, memory, storage = (max(2 * value, 1) for value in asked[name])
        lines += [
            f"    - name: {name}",
            f"      kind: {kind}",
            f"      capacity: {{cpu: {cpu}, memory: {memory}Gi, storage: {storage}Gi}}",
            "      placement:",
            f"        nodeSelector: {{citycloud.io/pool: {name}}}",
            f"        taint: {{key: citycloud.io/pool, value: {name}, effect: NoSchedule}}",
            f"        architectures: {arch}",
            f"      maxClassification: {level}",
            f"      imageRegistries: [registry.{name}.example.gov.cn]",
        ]
    lines.append("  sharedNetworks:")
    for name, cidr, purposes in SHARED:
        lines += [f"    - name: {name}", f"      cidrs: [{cidr}]", f"      purposes: {purposes}"]
    lines += [
        "  policies:",
        "    security:",
        "      encryptedStorageClasses: {gov: [gov-sm4], xinchuang: [xc-sm4]}",
        "    placement:",
        "      cpuVendors: {xinchuang: [kunpeng, hygon, loongson]}",
    ]
    return "\n".join(lines) + "\n"


def _departments(codes: list[str]) -> str:
    lines = ["apiVersion: citycloud.io/v1", "kind: DepartmentList", "departments:"]
    for code in codes:
        lines += [
            f"  - code: {code}",
            f"    name: 合成部门 {code}",
            "    level: city",
            f"    owners: [{code}-admins]",
            f"    contacts: [{{name: 信息中心, email: it@{code}.example.gov.cn}}]",
            f"    costCentre: {code.upper()}",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=pathlib.Path, help="directory to write (replaced)")
    parser.add_argument("--tenants", type=int, default=2000, help="how many tenants")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same files)")
    args = parser.parse_args(argv)
    generate(args.out, tenants=args.tenants, seed=args.seed)
    print(f"wrote a registry of {args.tenants} tenants to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
