"""A small city whose tenants each test gives the networks it needs (helpers for
tests/networks; imported by module name, as `conftest` names collide across folders).

Tenant files are written in one fixed layout, so a test can name the line a
finding must point at: network i of a tenant has its cidr on line
`cidr_line(i)`, its purpose on `cidr_line(i) + 1`, its sites on `+ 2`.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from collections.abc import Sequence

import clirun
import jsonout

from citycloud import tenants
from citycloud.policies import engine
from citycloud.tenants import diagnostics

PLATFORM = """\
apiVersion: citycloud.io/v1
kind: Platform
metadata:
  name: test-city
spec:
  pools:
    - name: gov
      kind: gov
      capacity: {{cpu: 1000, memory: 4000Gi, storage: 100Ti}}
      placement:
        architectures: [amd64]
  sharedNetworks:
    - name: e-gov-extranet
      cidrs: [10.0.0.0/12, "fd0e::/16"]
      purposes: [e-government, office-automation]
    - name: video-sharing
      cidrs: [10.32.0.0/14]
      purposes: [video-sharing]
{extra}"""
# Lines of platform.yaml: e-gov-extranet entry 13 (its cidrs 14), video-sharing entry 16.
EXTRANET_LINE, VIDEO_SHARING_LINE = 13, 16

TENANT = """\
apiVersion: citycloud.io/v1
kind: Tenant
metadata:
  name: {name}
  department: {department}
spec:
  pool: gov
  classification: 2
  owners: [{department}-admins]
  quota: {{cpu: 1, memory: 1Gi, storage: 1Gi}}
  namespaces: [app]
  egress: [{egress}]
  networks:
"""
NETWORK = """\
    - name: {name}
      cidr: {cidr}
      purpose: {purpose}
      sites: [{sites}]
"""


def cidr_line(index: int) -> int:
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

    def platform_extra(self, text: str) -> None:
        """Append lines under `spec:` of platform.yaml (indented two spaces)."""
        (self.root / "platform.yaml").write_text(PLATFORM.format(extra=text))

    def tenant(self, name: str, *networks: Net | str, egress: Sequence[str] = ()) -> str:
        """Write tenants/<department>/<name>.yaml (department: the name's first two parts)."""
        department = "-".join(name.split("-")[:2])
        self.departments.add(department)
        text = TENANT.format(name=name, department=department, egress=", ".join(egress))
        for index, net in enumerate(Net(n) if isinstance(n, str) else n for n in networks):
            text += NETWORK.format(name=net.name or f"net{index}", cidr=json.dumps(net.cidr),
                                   purpose=net.purpose, sites=", ".join(net.sites))
        path = self.root / "tenants" / department / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if self.owns_departments:
            self._write_departments()
        return path.relative_to(self.root).as_posix()

    def _write_departments(self) -> None:
        lines = ["apiVersion: citycloud.io/v1", "kind: DepartmentList",
                 "departments:" if self.departments else "departments: []"]
        for code in sorted(self.departments):
            lines += [f"  - code: {code}", f"    name: {code}", "    level: city",
                      f"    owners: [{code}-admins]"]
        (self.root / "departments.yaml").write_text("\n".join(lines) + "\n")

    def load(self) -> tenants.Platform:
        return tenants.load(self.root)

    def findings(self, code: str = "") -> list[diagnostics.Diagnostic]:
        """Findings of the network policies (all, or those of one policy id)."""
        rules = [p for p in engine.POLICIES.values() if p.set == "network"]
        found = engine.run(self.load(), rules)
        return [d for d in found if not code or d.code == code]


def new_city(root: pathlib.Path) -> City:
    """An empty city (two shared networks, no tenants) in `root`."""
    (root / "tenants").mkdir(parents=True)
    made = City(root)
    made.platform_extra("")
    made._write_departments()
    return made


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
