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
from collections.abc import Mapping
from typing import Any

import registries

WUHAN_IMAGES = ["registry.wuhan.gov.cn"]
PLATFORM = registries.platform(
    registries.pool("gov", image_registries=WUHAN_IMAGES),
    registries.pool("xinchuang", cpu=50, memory="200Gi", storage="5Ti", architectures=["arm64"],
                    image_registries=WUHAN_IMAGES),
    shared_networks=[registries.shared_network("e-gov-extranet", cidrs=["10.0.0.0/12"],
                                               purposes=["e-government"])],
    policies={"placement": {"cpuVendors": {"xinchuang": ["kunpeng"]}}})
DEPARTMENTS = [
    registries.department("wh-gongan", name="武汉市公安局",
                          owners=["wh-gongan-admins", "wh-gongan-ops"],
                          contacts=[{"name": "duty desk", "email": "duty@gongan.wuhan.gov.cn"}],
                          cost_centre="cc-gongan"),
    registries.department("wh-weijian", name="武汉市卫生健康委员会",
                          contacts=[{"name": "duty desk", "email": "duty@wjw.wuhan.gov.cn"}],
                          cost_centre="cc-weijian"),
]
TENANTS = [
    registries.tenant("wh-gongan-video", cpu=8, memory="32Gi", storage="1Ti"),
    registries.tenant("wh-weijian-his", pool="xinchuang", cpu=4, memory="16Gi", storage="500Gi"),
]
VIDEO_FILE = "tenants/wh-gongan/wh-gongan-video.yaml"
HIS_FILE = "tenants/wh-weijian/wh-weijian-his.yaml"

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

    def write(self, rel: str, content: str | Mapping[str, Any]) -> None:
        """Write a file of the registry: text as it is, a document laid out by registries."""
        path = self.registry / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else registries.text(content)
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


def base_registry(root: pathlib.Path) -> pathlib.Path:
    """The registry on main, in `root`: two departments, two tenants, and a .gitignore."""
    registries.write(root, *TENANTS, platform=PLATFORM, departments=DEPARTMENTS)
    (root / ".gitignore").write_text(".citycloud/\n", encoding="utf-8")
    return root


def make_repo(top: pathlib.Path, *, folder: str = "") -> Repo:
    repo = Repo(top, top / folder if folder else top)
    base_registry(repo.registry)
    repo.git("init", "-q", "-b", "main")
    repo.commit("registry: two departments, two tenants")
    return repo
