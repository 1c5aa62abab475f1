"""Helpers of the node tests: a registry whose nodes are this very machine.

The playbooks run for real through ansible-runner against localhost
(`connection: local` in platform.yaml) with node_root in a temporary
directory, so the machine running the tests is never changed. Three pools
make three situations out of one machine:

- gov: the machine as it is (its CPU architecture and OS), so it is prepared;
- industry: a pool that runs only another architecture, and a node the
  registry declares with it: the facts check must refuse the machine;
- xinchuang: the machine declared as a Kylin node: the facts check must refuse
  its OS, since the xinchuang pool takes openEuler, Kylin and UOS only.
"""

from __future__ import annotations

import pathlib
import platform as host_platform
import shutil
from typing import Any

import pytest
import registries

# This machine, as the facts role names it (ansible_architecture -> kubernetes.io/arch).
KUBE_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "loongarch64": "loong64"}
OS_IDS = {"debian": "Debian", "ubuntu": "Ubuntu", "openeuler": "openEuler", "kylin": "Kylin",
          "uos": "UOS", "rhel": "RHEL", "rocky": "Rocky", "almalinux": "AlmaLinux",
          "anolis": "Anolis"}


def machine_arch() -> str:
    arch = KUBE_ARCH.get(host_platform.machine())
    if arch is None:
        pytest.skip(f"no Kubernetes architecture for {host_platform.machine()}")
    return arch


def machine_os() -> str:
    release = pathlib.Path("/etc/os-release")
    fields = dict(line.split("=", 1) for line in release.read_text().splitlines()
                  if "=" in line) if release.exists() else {}
    found = OS_IDS.get(fields.get("ID", "").strip('"'))
    if found is None:
        pytest.skip(f"this machine's OS ({fields.get('ID')}) is not one nodes may run")
    return found


def other_arch() -> str:
    return "arm64" if machine_arch() != "arm64" else "amd64"


def _local(name: str, address: str, *, arch: str, os: str) -> dict[str, Any]:
    return {"name": name, "address": address, "arch": arch, "os": os, "connection": "local"}


def make_node_registry(path: pathlib.Path, wuhan: pathlib.Path) -> pathlib.Path:
    """The Wuhan registry with this machine as the node of each of three pools."""
    root = pathlib.Path(shutil.copytree(wuhan, path))
    arch, os_name, other = machine_arch(), machine_os(), other_arch()

    def localise(data: dict[str, Any]) -> None:
        pools = registries.pools_of(data)
        gov = pools["gov"]
        gov["placement"]["architectures"] = sorted({*gov["placement"]["architectures"], arch})
        gov["nodes"] = {"timeServers": ["ntp1.whcloud.cn", "ntp2.whcloud.cn"],
                        "hosts": [_local("gov-here", "127.0.0.1", arch=arch, os=os_name)
                                  | {"cluster": "wh-gov-hankou"}]}  # the pool has two
        industry = pools["industry"]
        industry["placement"]["architectures"] = [other]
        industry["nodes"] = {"hosts": [_local("ind-kunpeng", "127.0.0.2", arch=other,
                                              os=os_name)]}
        pools["xinchuang"]["nodes"] = {"hosts": [_local("xc-kylin", "127.0.0.3", arch=arch,
                                                        os="Kylin")]}

    registries.edit_platform(root, localise)
    (root / "nodes" / "industry.yaml").unlink(missing_ok=True)
    return root


def seed_root(root: pathlib.Path) -> pathlib.Path:
    """A node root with a distribution's stock sshd_config, nothing else of ours."""
    (root / "etc" / "ssh").mkdir(parents=True)
    (root / "etc" / "ssh" / "sshd_config").write_text(
        "# stock sshd_config\nPermitRootLogin yes\nPasswordAuthentication yes\n")
    return root


def snapshot(root: pathlib.Path) -> dict[str, str]:
    """Every file and directory under root with its content, to prove nothing changed."""
    return {str(p.relative_to(root)): (p.read_text() if p.is_file() else "<dir>")
            for p in sorted(root.rglob("*"))}
