"""Malformed and hostile registry inputs: each one exact error, exit 2, nothing written.

Every case takes the small valid registry of conftest.py, breaks one thing the
way a pull request could, and runs the real CLI on it. The error must name the
file, line and field of the mistake with its stable code, and be the only
error (one mistake, one message); `render` and `tenant new` on the same
registry must leave the disk exactly as it was.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pathlib
import stat
from collections.abc import Callable

import jsonout
import pytest
import registries

from citycloud import tenants

Break = Callable[[pathlib.Path], object]

VIDEO = "tenants/wh-gongan/wh-gongan-video.yaml"
HIS = "tenants/wh-weijian/wh-weijian-his.yaml"


@dataclasses.dataclass(frozen=True)
class Expected:
    file: str
    line: int
    field: str
    code: str
    hint: str | None = None  # checked when given
    message: str | None = None  # a part of the message, checked when given


# ---- ways to break a registry ------------------------------------------------


def edit(rel: str, old: str, new: str) -> Break:
    def apply(root: pathlib.Path) -> None:
        text = (root / rel).read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} is not once in {rel}"
        (root / rel).write_text(text.replace(old, new), encoding="utf-8")
    return apply


def write(rel: str, content: str | bytes) -> Break:
    def apply(root: pathlib.Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        (root / rel).write_bytes(data)
    return apply


def insert(rel: str, after: str, data: bytes) -> Break:
    """Insert raw bytes (not necessarily UTF-8) after the text `after`."""
    def apply(root: pathlib.Path) -> None:
        raw, anchor = (root / rel).read_bytes(), after.encode()
        assert raw.count(anchor) == 1, f"{after!r} is not once in {rel}"
        (root / rel).write_bytes(raw.replace(anchor, anchor + data))
    return apply


def append(rel: str, text: str) -> Break:
    def apply(root: pathlib.Path) -> None:
        with (root / rel).open("a", encoding="utf-8") as handle:
            handle.write(text)
    return apply


def remove(rel: str) -> Break:
    return lambda root: (root / rel).unlink()


def move(src: str, dst: str) -> Break:
    def apply(root: pathlib.Path) -> None:
        (root / dst).parent.mkdir(parents=True, exist_ok=True)
        (root / src).rename(root / dst)
    return apply


def copy(src: str, dst: str) -> Break:
    return lambda root: (root / dst).write_bytes((root / src).read_bytes())


def symlink(rel: str, target: str) -> Break:
    """Replace `rel` by a link to `target`, relative to the registry's parent folder."""
    def apply(root: pathlib.Path) -> None:
        link = root / rel
        if link.exists() or link.is_symlink():
            link.unlink()
        destination = root.parent / target
        if not destination.exists() and target.endswith(".yaml"):
            destination.write_text((root / VIDEO).read_text() if link != root / VIDEO else "")
        link.symlink_to(destination)
    return apply


def chain(*steps: Break) -> Break:
    def apply(root: pathlib.Path) -> None:
        for step in steps:
            step(root)
    return apply


def fifo(rel: str) -> Break:
    return lambda root: os.mkfifo(root / rel)


def add(document: registries.Document) -> Break:
    """Write a document where the registry keeps it (registries.put)."""
    return lambda root: registries.put(root, document)


def with_hosts(hosts: str) -> Break:
    """VIDEO with a `hosts:` line (line 20) after its last one."""
    last = "  egress: [e-gov-extranet]\n"
    return edit(VIDEO, last, f"{last}  hosts: {hosts}\n")


BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]"
       for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
) + "\n"
GBK_DESCRIPTION = b"  description: " + "视频监控".encode("gbk") + b"\n"
DEEP_LISTS = "a: " + "[" * 10_000 + "]" * 10_000 + "\n"
DEEP_MAPPINGS = "a: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n"
QUANTITY_RULE = 'must be a quantity of zero or more, such as "64", "500m", "256Gi" or "10Ti"'

# ---- the corpus ------------------------------------------------------------------

CASES = [
    # unknown fields, with a hint at the field meant
    pytest.param(edit(VIDEO, "  quota:\n", "  quotas:\n"),
                 Expected(VIDEO, 10, "spec.quotas", "extra_forbidden", "did you mean 'quota'?"),
                 id="unknown-field-misspelt"),
    pytest.param(edit(VIDEO, "    storage: 1Ti\n", "    storage: 1Ti\n    gpu: 2\n"),
                 Expected(VIDEO, 14, "spec.quota.gpu", "extra_forbidden", "did you mean 'cpu'?"),
                 id="unknown-field-nested"),
    pytest.param(edit(VIDEO, "metadata:", "metdata:"),
                 Expected(VIDEO, 3, "metdata", "extra_forbidden", "did you mean 'metadata'?"),
                 id="unknown-field-top-level"),
    pytest.param(edit(VIDEO, "  pool: gov\n", "  pool: gov\n  zzz: 1\n"),
                 Expected(VIDEO, 8, "spec.zzz", "extra_forbidden",
                          "known fields: classification, clusters, consumes, egress, hosts, "
                          "namespaces, networks, owners, pool, quota, services"),
                 id="unknown-field-nothing-close"),
    # wrong types
    pytest.param(edit(VIDEO, "classification: 3", "classification: three"),
                 Expected(VIDEO, 8, "spec.classification", "int_parsing"),
                 id="wrong-type-classification-text"),
    pytest.param(edit(VIDEO, "owners: [wh-gongan-admins]", "owners: wh-gongan-admins"),
                 Expected(VIDEO, 9, "spec.owners", "tuple_type", message="must be a list"),
                 id="wrong-type-owners-not-a-list"),
    pytest.param(edit(VIDEO, "  quota:\n    cpu: 8\n    memory: 32Gi\n    storage: 1Ti\n",
                      "  quota: 5\n"),
                 Expected(VIDEO, 10, "spec.quota", "model_type", message="must be a mapping"),
                 id="wrong-type-quota-scalar"),
    pytest.param(edit(VIDEO, "pool: gov", "pool:"),
                 Expected(VIDEO, 7, "spec.pool", "string_type"), id="wrong-type-null"),
    pytest.param(edit(VIDEO, "  owners: [wh-gongan-admins]\n", ""),
                 Expected(VIDEO, 6, "spec.owners", "missing", message="is required"),
                 id="missing-required-field"),
    # quantities
    pytest.param(edit(VIDEO, "cpu: 8", "cpu: -8"),
                 Expected(VIDEO, 11, "spec.quota.cpu", "invalid_quantity", message=QUANTITY_RULE),
                 id="quantity-negative"),
    pytest.param(edit(VIDEO, "cpu: 8", "cpu: 12 cores"),
                 Expected(VIDEO, 11, "spec.quota.cpu", "invalid_quantity"),
                 id="quantity-12-cores"),
    pytest.param(edit(VIDEO, "cpu: 8", "cpu: 1e999"),
                 Expected(VIDEO, 11, "spec.quota.cpu", "invalid_quantity"),
                 id="quantity-1e999"),
    pytest.param(edit(VIDEO, "cpu: 8", "cpu: .inf"),
                 Expected(VIDEO, 11, "spec.quota.cpu", "invalid_quantity"),
                 id="quantity-infinity"),
    pytest.param(edit(VIDEO, "memory: 32Gi", "memory: 32 GB"),
                 Expected(VIDEO, 12, "spec.quota.memory", "invalid_quantity"),
                 id="quantity-unit-with-space"),
    pytest.param(edit(VIDEO, "cpu: 8", "cpu: '" + "9" * 100_000 + "'"),
                 Expected(VIDEO, 11, "spec.quota.cpu", "invalid_quantity"),
                 id="quantity-huge-string"),
    pytest.param(edit(VIDEO, "cpu: 8", "cpu: " + "9" * 5_000),
                 Expected(VIDEO, 11, "", "yaml_value", message="not a valid int"),
                 id="quantity-huge-number"),
    pytest.param(edit(VIDEO, "cpu: 8", "cpu: true"),
                 Expected(VIDEO, 11, "spec.quota.cpu", "invalid_quantity"),
                 id="quantity-boolean"),
    pytest.param(edit(VIDEO, "    storage: 1Ti\n", "    storage: 1Ti\n    pods: -1\n"),
                 Expected(VIDEO, 14, "spec.quota.pods", "greater_than_equal"),
                 id="pods-negative"),
    pytest.param(edit(VIDEO, "    storage: 1Ti\n", "    storage: 1Ti\n    pods: 1\n"),
                 Expected(VIDEO, 14, "spec.quota.pods", "quota_too_small"),
                 id="pods-fewer-than-namespaces"),
    # networks
    pytest.param(edit(VIDEO, "10.64.0.0/16", "10.64.0.0/33"),
                 Expected(VIDEO, 17, "spec.networks[0].cidr", "invalid_cidr"),
                 id="cidr-prefix-too-long"),
    pytest.param(edit(VIDEO, "10.64.0.0/16", "10.64.300.0/24"),
                 Expected(VIDEO, 17, "spec.networks[0].cidr", "invalid_cidr"),
                 id="cidr-octet-out-of-range"),
    pytest.param(edit(VIDEO, "10.64.0.0/16", "10.64.1.0/16"),
                 Expected(VIDEO, 17, "spec.networks[0].cidr", "cidr_host_bits",
                          message="the network is 10.64.0.0/16"),
                 id="cidr-host-bits"),
    pytest.param(edit(VIDEO, "10.64.0.0/16", "42"),
                 Expected(VIDEO, 17, "spec.networks[0].cidr", "invalid_cidr"),
                 id="cidr-a-number"),
    pytest.param(edit("platform.yaml", "cidrs: [10.0.0.0/12]", "cidrs: [10.1.0.0/12]"),
                 Expected("platform.yaml", 19, "spec.sharedNetworks[0].cidrs[0]",
                          "cidr_host_bits"),
                 id="shared-network-host-bits"),
    # names
    pytest.param(edit(VIDEO, "[video, analytics]", "[Video, analytics]"),
                 Expected(VIDEO, 14, "spec.namespaces[0]", "invalid_name"),
                 id="name-upper-case"),
    pytest.param(edit(VIDEO, "owners: [wh-gongan-admins]", "owners: [wh_gongan_admins]"),
                 Expected(VIDEO, 9, "spec.owners[0]", "invalid_name"),
                 id="name-underscores"),
    pytest.param(edit(VIDEO, "owners: [wh-gongan-admins]", f"owners: [{'a' * 64}]"),
                 Expected(VIDEO, 9, "spec.owners[0]", "invalid_name"),
                 id="name-too-long"),
    pytest.param(edit(VIDEO, "[video, analytics]", "[视频, analytics]"),
                 Expected(VIDEO, 14, "spec.namespaces[0]", "invalid_name"),
                 id="name-chinese"),
    pytest.param(chain(edit(VIDEO, "name: wh-gongan-video", "name: video"),
                       move(VIDEO, "tenants/wh-gongan/video.yaml")),
                 Expected("tenants/wh-gongan/video.yaml", 4, "metadata.name", "name_prefix"),
                 id="tenant-name-without-department-prefix"),
    pytest.param(move(VIDEO, "tenants/wh-weijian/wh-gongan-video.yaml"),
                 Expected("tenants/wh-weijian/wh-gongan-video.yaml", 5, "metadata.department",
                          "wrong_folder", "move the file to tenants/wh-gongan/"),
                 id="tenant-in-another-departments-folder"),
    pytest.param(move(VIDEO, "tenants/wh-gongan/wh-gongan-cams.yaml"),
                 Expected("tenants/wh-gongan/wh-gongan-cams.yaml", 4, "metadata.name",
                          "file_name", "rename the file to wh-gongan-video.yaml"),
                 id="file-name-not-tenant-name"),
    pytest.param(copy(VIDEO, "tenants/wh-gongan/wh-gongan-video2.yaml"),
                 Expected("tenants/wh-gongan/wh-gongan-video2.yaml", 4, "metadata.name",
                          "duplicate_tenant"),
                 id="duplicate-tenant-name"),
    # references
    pytest.param(edit(VIDEO, "pool: gov", "pool: govt"),
                 Expected(VIDEO, 7, "spec.pool", "unknown_pool", "did you mean 'gov'?"),
                 id="unknown-pool"),
    pytest.param(add(registries.tenant("wh-jiaoyu-app", description=None, cpu=1, storage="1Gi")),
                 Expected("tenants/wh-jiaoyu/wh-jiaoyu-app.yaml", 5, "metadata.department",
                          "unknown_department"),
                 id="unknown-department"),
    pytest.param(edit(VIDEO, "egress: [e-gov-extranet]", "egress: [e-gov-extrnet]"),
                 Expected(VIDEO, 19, "spec.egress[0]", "unknown_network",
                          "did you mean 'e-gov-extranet'?"),
                 id="unknown-shared-network"),
    # namespaces
    pytest.param(chain(edit(VIDEO, "[video, analytics]", "[video, analytics, video-x]"),
                       add(registries.tenant("wh-gongan-video-video", description=None, cpu=1,
                                             storage="1Gi", namespaces=["x"]))),
                 Expected("tenants/wh-gongan/wh-gongan-video-video.yaml", 11,
                          "spec.namespaces[0]", "namespace_collision",
                          message="'wh-gongan-video-video-x' is also claimed by tenant "
                                  "'wh-gongan-video'"),
                 id="namespace-collision"),
    # host names the platform's ingress serves
    pytest.param(with_hosts("['*.gongan.wuhan.gov.cn']"),
                 Expected(VIDEO, 20, "spec.hosts[0]", "invalid_hostname"), id="wildcard-host"),
    pytest.param(with_hosts("[Video.Gongan.cn]"),
                 Expected(VIDEO, 20, "spec.hosts[0]", "invalid_hostname"), id="upper-case-host"),
    pytest.param(with_hosts("[10.0.0.1]"),
                 Expected(VIDEO, 20, "spec.hosts[0]", "invalid_hostname"), id="ip-address-host"),
    pytest.param(with_hosts("[video.gongan.cn, video.gongan.cn]"),
                 Expected(VIDEO, 20, "spec.hosts[1]", "duplicate_host"), id="host-listed-twice"),
    pytest.param(chain(with_hosts("[video.gongan.cn]"),
                       add(registries.tenant("wh-gongan-web", description=None, cpu=1,
                                             storage="1Gi", hosts=["video.gongan.cn"]))),
                 Expected("tenants/wh-gongan/wh-gongan-web.yaml", 12, "spec.hosts[0]",
                          "host_collision",
                          message="host 'video.gongan.cn' is also claimed by tenant "
                                  "'wh-gongan-video'"),
                 id="host-collision"),
    pytest.param(edit(VIDEO, "[video, analytics]", f"[video, {'a' * 48}]"),
                 Expected(VIDEO, 14, "spec.namespaces[1]", "namespace_too_long"),
                 id="namespace-too-long"),
    pytest.param(edit(VIDEO, "[video, analytics]", "[video, video]"),
                 Expected(VIDEO, 14, "spec.namespaces[1]", "duplicate_namespace"),
                 id="namespace-listed-twice"),
    pytest.param(edit(VIDEO, "[video, analytics]", "[]"),
                 Expected(VIDEO, 14, "spec.namespaces", "too_short"),
                 id="namespaces-empty"),
    # values out of range
    pytest.param(edit(VIDEO, "classification: 3", "classification: 5"),
                 Expected(VIDEO, 8, "spec.classification", "less_than_equal"),
                 id="classification-5"),
    pytest.param(edit(VIDEO, "apiVersion: citycloud.io/v1", "apiVersion: citycloud.io/v2"),
                 Expected(VIDEO, 1, "apiVersion", "literal_error"), id="wrong-api-version"),
    pytest.param(edit(VIDEO, "kind: Tenant", "kind: Tenants"),
                 Expected(VIDEO, 2, "kind", "literal_error"), id="wrong-kind"),
    pytest.param(edit("platform.yaml", "        architectures: [amd64]\n",
                      "        architectures: [x86]\n"),
                 Expected("platform.yaml", 11, "spec.pools[0].placement.architectures[0]",
                          "enum"),
                 id="unknown-cpu-architecture"),
    pytest.param(edit("platform.yaml", "  sharedNetworks:\n",
                      "    - name: gov\n      kind: gov\n      capacity: {cpu: 1, memory: 1Gi, "
                      "storage: 1Gi}\n      placement: {architectures: [amd64]}\n"
                      "  sharedNetworks:\n"),
                 Expected("platform.yaml", 17, "spec.pools[2].name", "duplicate_pool"),
                 id="duplicate-pool"),
    pytest.param(append("departments.yaml", "  - code: wh-gongan\n    name: 公安\n    level: city\n"
                        "    owners: [wh-gongan-admins]\n"),
                 Expected("departments.yaml", 12, "departments[2].code", "duplicate_department"),
                 id="duplicate-department"),
    # YAML that is hostile or broken
    pytest.param(write(VIDEO, BILLION_LAUGHS),
                 Expected(VIDEO, 1, "", "yaml_alias"), id="alias-bomb-billion-laughs"),
    pytest.param(edit(VIDEO, "pool: gov", "pool: &p gov"),
                 Expected(VIDEO, 7, "", "yaml_alias"), id="anchor"),
    pytest.param(edit(VIDEO, "  pool: gov\n", "  pool: gov\n  pool: xinchuang\n"),
                 Expected(VIDEO, 8, "", "duplicate_key", message="(first on line 7)"),
                 id="duplicate-key"),
    pytest.param(append(VIDEO, "---\nkind: Tenant\n"),
                 Expected(VIDEO, 20, "", "multiple_documents"), id="multiple-documents"),
    pytest.param(append(VIDEO, "# " + "x" * (1024 * 1024) + "\n"),
                 Expected(VIDEO, 0, "", "file_too_large"), id="huge-file"),
    pytest.param(write(VIDEO, "a: [" + ",".join(["1"] * 100_001) + "]\n"),
                 Expected(VIDEO, 1, "", "too_many_values"), id="too-many-values"),
    pytest.param(write(VIDEO, b"\x7fELF\x02\x01\x01\x00\x00\x00"),
                 Expected(VIDEO, 0, "", "binary_file"), id="binary-file"),
    pytest.param(insert(VIDEO, "  department: wh-gongan\n", GBK_DESCRIPTION),
                 Expected(VIDEO, 6, "", "not_utf8", message="is not UTF-8 text"),
                 id="non-utf8-gbk"),
    pytest.param(symlink(VIDEO, "outside.yaml"),
                 Expected(VIDEO, 0, "", "outside_registry"), id="symlink-outside-registry"),
    pytest.param(symlink(VIDEO, "missing.yml"),
                 Expected(VIDEO, 0, "", "unreadable"), id="symlink-broken"),
    pytest.param(fifo("tenants/wh-gongan/wh-gongan-pipe.yaml"),
                 Expected("tenants/wh-gongan/wh-gongan-pipe.yaml", 0, "", "unreadable"),
                 id="fifo-not-a-file"),
    pytest.param(write(VIDEO, DEEP_LISTS),
                 Expected(VIDEO, 1, "", "too_deep"), id="deeply-nested-lists"),
    pytest.param(write(VIDEO, DEEP_MAPPINGS),
                 Expected(VIDEO, 1, "", "too_deep"), id="deeply-nested-mappings"),
    pytest.param(write(VIDEO, ""),
                 Expected(VIDEO, 1, "", "not_a_mapping", message="not an empty file"),
                 id="empty-file"),
    pytest.param(write(VIDEO, "- wh-gongan-video\n- gov\n"),
                 Expected(VIDEO, 1, "", "not_a_mapping", message="not a list"),
                 id="list-instead-of-mapping"),
    pytest.param(write(VIDEO, "just some text\n"),
                 Expected(VIDEO, 1, "", "not_a_mapping"), id="scalar-instead-of-mapping"),
    pytest.param(edit(VIDEO, "  pool: gov", "  pool: [gov"),
                 Expected(VIDEO, 8, "", "yaml_syntax"), id="yaml-syntax-error"),
    pytest.param(edit(VIDEO, "  pool: gov", "\tpool: gov"),
                 Expected(VIDEO, 7, "", "yaml_syntax"), id="tab-indentation"),
    pytest.param(edit(VIDEO, "pool: gov", "pool: !!python/object/apply:os.system [ls]"),
                 Expected(VIDEO, 7, "", "yaml_value"), id="python-object-tag"),
    pytest.param(edit(VIDEO, "pool: gov", "pool: 2020-13-45"),
                 Expected(VIDEO, 7, "", "yaml_value", message="not a valid timestamp"),
                 id="impossible-date"),
    pytest.param(edit(VIDEO, "  pool: gov\n", "  ? [pool]\n  : gov\n"),
                 Expected(VIDEO, 7, "", "complex_key"), id="list-as-key"),
    # files where they do not belong, or missing
    pytest.param(remove("platform.yaml"),
                 Expected("platform.yaml", 0, "", "missing_file"), id="missing-platform-yaml"),
    pytest.param(remove("departments.yaml"),
                 Expected("departments.yaml", 0, "", "missing_file"),
                 id="missing-departments-yaml"),
    pytest.param(write("tenants/wh-gongan/notes.txt", "todo\n"),
                 Expected("tenants/wh-gongan/notes.txt", 0, "", "misplaced_file"),
                 id="misplaced-file-wrong-suffix"),
    pytest.param(move(VIDEO, "tenants/wh-gongan-video.yaml"),
                 Expected("tenants/wh-gongan-video.yaml", 0, "", "misplaced_file"),
                 id="misplaced-file-not-in-department-folder"),
    pytest.param(move(VIDEO, "tenants/wh-gongan/video/wh-gongan-video.yaml"),
                 Expected("tenants/wh-gongan/video/wh-gongan-video.yaml", 0, "",
                          "misplaced_file"),
                 id="misplaced-file-too-deep"),
]


def snapshot(top: pathlib.Path) -> dict[str, str]:
    """Every path under `top` with what it is: file digest, link target, or kind."""
    found = {}
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            path = pathlib.Path(folder, name)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                found[str(path)] = "-> " + os.readlink(path)
            elif stat.S_ISREG(mode):
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                found[str(path)] = stat.filemode(mode)
    return found


def test_the_unbroken_registry_loads(small_registry: pathlib.Path) -> None:
    """Each case below breaks one thing of a registry that is valid input (policies aside)."""
    assert sorted(tenants.load(small_registry).tenants) == ["wh-gongan-video", "wh-weijian-his"]


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize(("breaks", "expected"), CASES)
def test_validate_names_the_one_mistake(small_registry: pathlib.Path, citycloud, breaks: Break,
                                        expected: Expected) -> None:
    breaks(small_registry)

    result = citycloud("-r", small_registry, "validate", "-o", "json")

    assert result.exit_code == 2, result.output
    report = jsonout.data(result.stdout)
    assert jsonout.envelope(result.stdout)["error"] == {
        "message": "registry is invalid: 1 error(s)", "exitCode": 2}
    assert report["errors"] == 1, report["diagnostics"]
    [found] = report["diagnostics"]
    assert (found["file"], found["line"], found["field"], found["code"], found["severity"]) == (
        expected.file, expected.line, expected.field, expected.code, "error")
    assert found["message"]
    if expected.hint is not None:
        assert found["hint"] == expected.hint
    if expected.message is not None:
        assert expected.message in found["message"]


@pytest.mark.parametrize(("breaks", "expected"), CASES)
def test_nothing_is_written_and_people_see_the_same_error(
        small_registry: pathlib.Path, citycloud, breaks: Break, expected: Expected) -> None:
    breaks(small_registry)
    top = small_registry.parent
    before = snapshot(top)

    table = citycloud("-r", small_registry, "validate")
    render = citycloud("-r", small_registry, "render", top / "out")
    new = citycloud("-r", small_registry, "tenant", "new", "wh-gongan", "wh-gongan-new")
    plan = citycloud("-r", small_registry, "plan")

    assert (table.exit_code, render.exit_code, new.exit_code, plan.exit_code) == (2, 2, 2, 2)
    assert not (top / "out").exists()
    assert snapshot(top) == before
    # People read the same error, as file:line field: message [code], without a traceback.
    where = f"{expected.file}:{expected.line}" if expected.line else expected.file
    for result in (table, render, new, plan):
        assert where in result.stderr and f"[{expected.code}]" in result.stderr
        assert "Traceback" not in result.output
