"""A small valid registry, written inline, that each registry test breaks in one place.

Written inline (not copied from examples/) so that a test which breaks one
line can name that line: the line numbers noted below are part of the
fixture's contract, and the hostile-input corpus asserts on them.
"""

from __future__ import annotations

import pathlib

import pytest

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
        architectures: [amd64]
    - name: xinchuang
      kind: xinchuang
      capacity: {cpu: 50, memory: 200Gi, storage: 5Ti}
      placement:
        architectures: [arm64, loong64]
  sharedNetworks:
    - name: e-gov-extranet
      cidrs: [10.0.0.0/12]
      purposes: [e-government]
"""

DEPARTMENTS = """\
apiVersion: citycloud.io/v1
kind: DepartmentList
departments:
  - code: wh-gongan
    name: 武汉市公安局
    level: city
    owners: [wh-gongan-admins]
  - code: wh-weijian
    name: 武汉市卫生健康委员会
    level: city
    owners: [wh-weijian-admins]
"""

# Lines: 1 apiVersion, 2 kind, 4 metadata.name, 5 metadata.department, 7 spec.pool,
# 8 classification, 9 owners, 11/12/13 quota.cpu/memory/storage, 14 namespaces,
# 16 networks[0].name, 17 networks[0].cidr, 18 networks[0].purpose, 19 egress.
VIDEO = """\
apiVersion: citycloud.io/v1
kind: Tenant
metadata:
  name: wh-gongan-video
  department: wh-gongan
spec:
  pool: gov
  classification: 3
  owners: [wh-gongan-admins]
  quota:
    cpu: 8
    memory: 32Gi
    storage: 1Ti
  namespaces: [video, analytics]
  networks:
    - name: cameras
      cidr: 10.64.0.0/16
      purpose: video-surveillance
  egress: [e-gov-extranet]
"""

HIS = """\
apiVersion: citycloud.io/v1
kind: Tenant
metadata:
  name: wh-weijian-his
  department: wh-weijian
spec:
  pool: xinchuang
  classification: 2
  owners: [wh-weijian-admins]
  quota: {cpu: 4, memory: 16Gi, storage: 500Gi}
  namespaces: [his]
"""

VIDEO_FILE = "tenants/wh-gongan/wh-gongan-video.yaml"
HIS_FILE = "tenants/wh-weijian/wh-weijian-his.yaml"

FILES = {
    "platform.yaml": PLATFORM,
    "departments.yaml": DEPARTMENTS,
    VIDEO_FILE: VIDEO,
    HIS_FILE: HIS,
}


@pytest.fixture
def small_registry(tmp_path: pathlib.Path) -> pathlib.Path:
    """The valid two-department, two-tenant registry above, in tmp_path/registry."""
    root = tmp_path / "registry"
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root
