"""A small valid registry, built here, that each registry test breaks in one place.

Built here (not copied from examples/) so that a test which breaks one line
can name that line: the line numbers noted below are part of the fixture's
contract, and the hostile-input corpus asserts on them. platform.yaml,
departments.yaml and HIS are laid out by registries.text (platform.yaml: line
11 the gov pool's architectures, 17 sharedNetworks, 19 its first cidrs);
VIDEO is literal text, one quota value a line, as the corpus edits it.
"""

from __future__ import annotations

import pathlib

import pytest
import registries

PLATFORM = registries.platform(
    registries.pool("gov", isolated=False, image_registries=None),
    registries.pool("xinchuang", cpu=50, memory="200Gi", storage="5Ti",
                    architectures=["arm64", "loong64"], isolated=False, image_registries=None),
    shared_networks=[registries.shared_network("e-gov-extranet", cidrs=["10.0.0.0/12"],
                                               purposes=["e-government"])])
DEPARTMENTS = [registries.department("wh-gongan", name="武汉市公安局"),
               registries.department("wh-weijian", name="武汉市卫生健康委员会")]

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

HIS = registries.tenant("wh-weijian-his", description=None, pool="xinchuang", cpu=4,
                        memory="16Gi", storage="500Gi", namespaces=["his"])

VIDEO_FILE = "tenants/wh-gongan/wh-gongan-video.yaml"


@pytest.fixture
def small_registry(tmp_path: pathlib.Path) -> pathlib.Path:
    """The valid two-department, two-tenant registry above, in tmp_path/registry."""
    root = registries.write(tmp_path / "registry", HIS, platform=PLATFORM,
                            departments=DEPARTMENTS)
    (root / VIDEO_FILE).parent.mkdir(parents=True, exist_ok=True)
    (root / VIDEO_FILE).write_text(VIDEO, encoding="utf-8")
    return root
