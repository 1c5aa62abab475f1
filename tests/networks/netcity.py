"""A small city whose tenants each test gives the networks it needs (helpers for
tests/networks; imported by module name, as `conftest` names collide across folders).

Tenant files are written in one fixed layout, so a test can name the line a
finding must point at: network i of a tenant has its cidr on line
`cidr_line(i)`, its purpose on `cidr_line(i) + 1`, its sites on `+ 2`.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Sequence
from typing import Any

import clirun
import jsonout
import registries

from citycloud import tenants
from citycloud.policies import engine
from citycloud.tenants import diagnostics

POOL = registries.pool("gov", cpu=1000, memory="4000Gi", storage="100Ti", isolated=False,
                       image_registries=None)
SHARED = [
    registries.shared_network("e-gov-extranet", cidrs=["10.0.0.0/12", "fd0e::/16"],
                              purposes=["e-government", "office-automation"]),
    registries.shared_network("video-sharing", cidrs=["10.32.0.0/14"],
                              purposes=["video-sharing"]),
]
# Lines of platform.yaml: e-gov-extranet entry 13 (its cidrs 14), video-sharing entry 16.
EXTRANET_LINE, VIDEO_SHARING_LINE = 13, 16


def cidr_line(index: int) -> int:
    """Egress is line 12 of a tenant's file, `networks:` 13; then 4 lines a network."""
    return 15 + 4 * index


@dataclasses.dataclass(frozen=True)
class Net:
    cidr: str
    purpose: str = "records"
    sites: tuple[str, ...] = ()
    name: str = ""


@dataclasses.dataclass
class City:
    root: pathlib.Path
    departments: set[str] = dataclasses.field(default_factory=set)
    owns_departments: bool = True  # False: departments.yaml is someone else's (examples/)

    def platform(self, *shared: registries.Document, **spec: Any) -> None:
        """Write platform.yaml: shared networks after the two of SHARED, `spec` fields after."""
        registries.put(self.root, _platform(*shared, **spec))

    def tenant(self, name: str, *networks: Net | str, egress: Sequence[str] = (),
               **spec: Any) -> str:
        """Write tenants/<department>/<name>.yaml (department: the name's first two parts);
        `spec` adds fields such as clusters."""
        department = "-".join(name.split("-")[:2])
        self.departments.add(department)
        nets = [Net(n) if isinstance(n, str) else n for n in networks]
        path = registries.put(self.root, registries.tenant(
            name, description=None, cpu=1, storage="1Gi", egress=egress, networks=[
                {"name": net.name or f"net{index}", "cidr": net.cidr, "purpose": net.purpose,
                 "sites": list(net.sites)} for index, net in enumerate(nets)] or None, **spec))
        if self.owns_departments:
            self._write_departments()
        return path.relative_to(self.root).as_posix()

    def _write_departments(self) -> None:
        registries.put(self.root, registries.department_list(
            *(registries.department(code) for code in sorted(self.departments))))

    def load(self) -> tenants.Platform:
        return tenants.load(self.root)

    def findings(self, code: str = "") -> list[diagnostics.Diagnostic]:
        """Findings of the network policies (all, or those of one policy id)."""
        rules = [p for p in engine.POLICIES.values() if p.set == "network"]
        found = engine.run(engine.Context(self.load()), rules)
        return [d for d in found if not code or d.code == code]


def _platform(*shared: registries.Document, **spec: Any) -> registries.Document:
    return registries.platform(POOL, shared_networks=[*SHARED, *shared], **spec)


def new_city(root: pathlib.Path) -> City:
    """An empty city (two shared networks, no tenants) in `root`."""
    return City(registries.write(root, platform=_platform(), departments=[]))


@dataclasses.dataclass(frozen=True)
class Run:
    exit_code: int
    output: str  # stdout and stderr, as a user sees them

    def json(self) -> object:
        """The report of -o json output (held to the envelope's schema)."""
        return jsonout.data(self.output)

    def envelope(self) -> dict[str, object]:
        return jsonout.envelope(self.output)


def citycloud(registry: pathlib.Path, *args: str) -> Run:
    result = clirun.invoke("--registry", registry, *args, env={"COLUMNS": "300"})
    return Run(result.exit_code, result.output)
