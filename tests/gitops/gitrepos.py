"""A registry in a real git repository, and pull requests made on branches of it.

Every test gets its own repository in tmp_path (git init, commits with a fixed
author; no network). The registry passes every policy on main, so a finding in
a test is one the test's change introduced. (conftest.py points git at a
configuration of its own, so no user or system setting leaks in.)
"""

from __future__ import annotations

import os
import pathlib
import subprocess

PLATFORM = """\
apiVersion: citycloud.io/v1
kind: Platform
metadata:
  name: test-city
spec:
  pools:
    - name: gov
      kind: gov
      capacity: {cpu: 100, memory: 400Gi, storage: 10Ti}
      placement:
        nodeSelector: {citycloud.io/pool: gov}
        taint: {key: citycloud.io/pool, value: gov}
        architectures: [amd64]
      imageRegistries: [registry.wuhan.gov.cn]
    - name: xinchuang
      kind: xinchuang
      capacity: {cpu: 50, memory: 200Gi, storage: 5Ti}
      placement:
        nodeSelector: {citycloud.io/pool: xinchuang}
        taint: {key: citycloud.io/pool, value: xinchuang}
        architectures: [arm64]
      imageRegistries: [registry.wuhan.gov.cn]
  sharedNetworks:
    - name: e-gov-extranet
      cidrs: [10.0.0.0/12]
      purposes: [e-government]
  policies:
    placement:
      cpuVendors: {xinchuang: [kunpeng]}
"""

DEPARTMENTS = """\
apiVersion: citycloud.io/v1
kind: DepartmentList
departments:
  - code: wh-gongan
    name: 武汉市公安局
    level: city
    owners: [wh-gongan-admins, wh-gongan-ops]
    contacts: [{name: duty desk, email: duty@gongan.wuhan.gov.cn}]
    costCentre: cc-gongan
  - code: wh-weijian
    name: 武汉市卫生健康委员会
    level: city
    owners: [wh-weijian-admins]
    contacts: [{name: duty desk, email: duty@wjw.wuhan.gov.cn}]
    costCentre: cc-weijian
"""


def tenant(name: str, department: str, *, pool: str = "gov", cpu: str = "8",
           memory: str = "32Gi", storage: str = "1Ti", namespaces: str = "app") -> str:
    return f"""\
apiVersion: citycloud.io/v1
kind: Tenant
metadata:
  name: {name}
  department: {department}
  description: 业务系统
spec:
  pool: {pool}
  classification: 2
  owners: [{department}-admins]
  quota: {{cpu: {cpu}, memory: {memory}, storage: {storage}}}
  namespaces: [{namespaces}]
"""


VIDEO_FILE = "tenants/wh-gongan/wh-gongan-video.yaml"
HIS_FILE = "tenants/wh-weijian/wh-weijian-his.yaml"

REGISTRY = {
    "platform.yaml": PLATFORM,
    "departments.yaml": DEPARTMENTS,
    VIDEO_FILE: tenant("wh-gongan-video", "wh-gongan", cpu="8"),
    HIS_FILE: tenant("wh-weijian-his", "wh-weijian", pool="xinchuang", cpu="4",
                     memory="16Gi", storage="500Gi"),
    ".gitignore": ".citycloud/\n",
}

PLATFORM_AUTHOR = ("Platform Team", "platform@wuhan.gov.cn")
GONGAN_AUTHOR = ("Li Gongan", "li@gongan.wuhan.gov.cn")


class Repo:
    """A git repository holding a registry at `registry` (its root, or a folder of it)."""

    def __init__(self, top: pathlib.Path, registry: pathlib.Path) -> None:
        self.top = top
        self.registry = registry

    def git(self, *args: str, author: tuple[str, str] = PLATFORM_AUTHOR) -> str:
        env = {**os.environ, "GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1],
               "GIT_COMMITTER_NAME": author[0], "GIT_COMMITTER_EMAIL": author[1]}
        done = subprocess.run(["git", *args], cwd=self.top, env=env, check=True,
                              capture_output=True, text=True)
        return done.stdout.strip()

    def write(self, rel: str, text: str) -> None:
        path = self.registry / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def commit(self, message: str, *, author: tuple[str, str] = PLATFORM_AUTHOR) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message, author=author)
        return self.git("rev-parse", "HEAD")

    def branch(self, name: str) -> None:
        self.git("checkout", "-q", "-b", name)

    def checkout(self, name: str) -> None:
        self.git("checkout", "-q", name)

    def merge(self, branch: str) -> str:
        """Merge a pull request into main the way a forge does: a merge commit."""
        self.checkout("main")
        self.git("merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch)
        return self.git("rev-parse", "HEAD")


def make_repo(top: pathlib.Path, *, folder: str = "") -> Repo:
    top.mkdir(parents=True)
    repo = Repo(top, top / folder if folder else top)
    repo.git("init", "-q", "-b", "main")
    for rel, text in REGISTRY.items():
        repo.write(rel, text)
    repo.commit("registry: two departments, two tenants")
    return repo
