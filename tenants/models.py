"""The registry's documents as typed, immutable models: the public contract.

`platform.yaml`, `departments.yaml` and `tenants/<department>/<tenant>.yaml`
are parsed into these models and nothing else. Unknown fields are errors,
because a misspelt `quotas:` silently ignored is a department without limits.
Field names are camelCase in YAML (Kubernetes style) and snake_case here.
"""

from __future__ import annotations

import datetime
import enum
import re
from typing import Annotated, Literal

import pydantic
import pydantic_core
from pydantic import alias_generators

from citycloud.tenants import fields

API_VERSION = "citycloud.io/v1"


class Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=alias_generators.to_camel,
        populate_by_name=True,
        str_strip_whitespace=True,
    )


# ---- platform.yaml ----------------------------------------------------------


class PoolKind(enum.StrEnum):
    GOV = "gov"  # 政务域
    INDUSTRY = "industry"  # 产业域
    XINCHUANG = "xinchuang"  # 信创域, domestic CPUs and OSes


class Architecture(enum.StrEnum):
    """CPU architectures as Kubernetes reports them in `kubernetes.io/arch`."""

    AMD64 = "amd64"  # x86-64, also Hygon and Zhaoxin
    ARM64 = "arm64"  # Kunpeng, Phytium
    LOONG64 = "loong64"  # Loongson


class Resources(Model):
    cpu: fields.Quantity
    memory: fields.Quantity
    storage: fields.Quantity


class Overcommit(Model):
    """How far quota may exceed physical capacity, per resource (1 = no overcommit)."""

    cpu: float = pydantic.Field(default=1.0, ge=1.0, le=10.0)
    memory: float = pydantic.Field(default=1.0, ge=1.0, le=10.0)
    storage: float = pydantic.Field(default=1.0, ge=1.0, le=10.0)


class Taint(Model):
    key: str = pydantic.Field(min_length=1, max_length=253)
    value: str = pydantic.Field(default="", max_length=63)
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"


class Placement(Model):
    node_selector: dict[str, str] = pydantic.Field(default_factory=dict)
    taint: Taint | None = None
    architectures: tuple[Architecture, ...] = pydantic.Field(min_length=1)


class NodeOS(enum.StrEnum):
    """Operating systems of pool nodes, spelled as their vendors spell them."""

    OPENEULER = "openEuler"
    KYLIN = "Kylin"
    UOS = "UOS"
    DEBIAN = "Debian"
    UBUNTU = "Ubuntu"
    RHEL = "RHEL"
    ROCKY = "Rocky"
    ALMALINUX = "AlmaLinux"
    ANOLIS = "Anolis"


# Domestic OSes (信创): the only ones a xinchuang pool's nodes may run.
XINCHUANG_OSES = (NodeOS.OPENEULER, NodeOS.KYLIN, NodeOS.UOS)

# Host names, IP addresses and user names end up in an Ansible inventory, where
# "{{" would be a template: allow only the characters these values ever need.
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?")
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_INVENTORY = re.compile(r"\w[\w.-]*(/\w[\w.-]*)*\.ya?ml")  # no "..", no absolute path


def _host(value: str) -> str:
    if len(value) > 253 or not _HOST.fullmatch(value):
        raise pydantic_core.PydanticCustomError(
            "invalid_address", "{value} is not a host name or IP address such as "
            "\"10.8.0.11\" or \"node-01.gov.example.cn\"", {"value": repr(value[:80])})
    return value


def _user(value: str) -> str:
    if value and not _USER.fullmatch(value):
        raise pydantic_core.PydanticCustomError(
            "invalid_user", "{value} is not a login name: lower-case letters, digits, '_' "
            "and '-', at most 32 characters", {"value": repr(value[:80])})
    return value


HostAddress = Annotated[str, pydantic.AfterValidator(_host)]
LoginName = Annotated[str, pydantic.AfterValidator(_user)]


class Node(Model):
    """A machine of a pool, prepared by `citycloud nodes prepare`."""

    name: fields.DNSLabel  # the Kubernetes node name and the inventory host name
    address: HostAddress  # where SSH connects
    arch: Architecture  # what `kubernetes.io/arch` will say; checked against the machine
    os: NodeOS  # checked against the machine too
    ssh_user: LoginName = ""  # default: the pool's sshUser
    ssh_port: int = pydantic.Field(default=22, ge=1, le=65535)
    # The cluster of its pool it joins; needed where the pool has several clusters.
    cluster: str = pydantic.Field(default="", max_length=63)
    # "local" prepares the machine citycloud runs on (an image build, or tests with a
    # temporary node root) instead of connecting over SSH.
    connection: Literal["ssh", "local"] = "ssh"


class NodeInventory(Model):
    """A file of nodes that `nodes.inventory` in platform.yaml points at."""

    api_version: Literal["citycloud.io/v1"]
    kind: Literal["NodeInventory"]
    hosts: tuple[Node, ...] = ()


class PoolNodes(Model):
    """The machines of a pool: listed here, or in a NodeInventory file (not both)."""

    hosts: tuple[Node, ...] = ()
    # A NodeInventory file relative to the registry root, e.g. nodes/xinchuang.yaml.
    inventory: str = ""
    # Who SSH logs in as (then sudo); "" lets your SSH configuration decide.
    ssh_user: LoginName = ""
    time_servers: tuple[HostAddress, ...] = pydantic.Field(default=(), max_length=8)  # NTP

    @pydantic.field_validator("inventory")
    @classmethod
    def _inside_registry(cls, value: str) -> str:
        if value and (len(value) > 200 or not _INVENTORY.fullmatch(value)):
            raise pydantic_core.PydanticCustomError(
                "invalid_inventory", "must be a .yaml file inside the registry, relative to "
                "its root, such as \"nodes/xinchuang.yaml\"")
        return value

    @pydantic.model_validator(mode="after")
    def _one_source(self) -> PoolNodes:
        if self.hosts and self.inventory:
            raise ValueError("list nodes under 'hosts' or name an 'inventory' file, not both")
        return self


class StorageClassRef(Model):
    """A StorageClass the pool's storage (CSI) provides: referenced, never created by citycloud."""

    name: fields.DNSLabel
    default: bool = False
    description: str = ""


class Pool(Model):
    name: fields.DNSLabel
    kind: PoolKind
    display_name: str = ""
    # Physical capacity; a pool on several clusters gives each cluster's instead
    # (Platform.pool_capacity sums them): one place per figure.
    capacity: Resources | None = None
    overcommit: Overcommit = Overcommit()
    placement: Placement
    max_classification: int = pydantic.Field(default=3, ge=1, le=4)
    dedicated: bool = False  # MLPS level 4 tenants need a pool of their own
    image_registries: tuple[str, ...] = ()
    nodes: PoolNodes | None = None  # the machines, for `citycloud nodes prepare`
    # The only classes its tenants' volumes may use (the pool-storage guardrail), published in
    # the pool's contract; none listed: no such guardrail.
    storage_classes: tuple[StorageClassRef, ...] = ()
    # CSI drivers whose inline volumes tenants below the restricted level may mount (the
    # volume-types guardrail); none listed: no inline CSI volumes at all.
    inline_csi_drivers: tuple[str, ...] = ()
    # Who administers the platform in this pool: with system:masters, the only ones who may
    # change the objects citycloud manages in tenant namespaces.
    admin_groups: tuple[fields.DNSLabel, ...] = pydantic.Field(
        default=("citycloud-platform-admins",), min_length=1)

    @pydantic.field_validator("storage_classes")
    @classmethod
    def _one_default(cls, value: tuple[StorageClassRef, ...]) -> tuple[StorageClassRef, ...]:
        if sum(ref.default for ref in value) > 1:
            raise pydantic_core.PydanticCustomError(
                "several_defaults", "at most one storage class may be the default")
        return value


class Cluster(Model):
    """A Kubernetes cluster of a pool, at a site (data centre). Credentials never enter the
    registry: the run-time kubeconfig has a context per cluster (`context`, default the
    cluster's name)."""

    name: fields.DNSLabel
    pool: fields.DNSLabel
    site: fields.DNSLabel
    context: str = pydantic.Field(default="", max_length=253)
    # Physical capacity; required where the pool has several clusters (a pool with one
    # cluster may keep its figures on the pool).
    capacity: Resources | None = None
    # Where its pods' traffic comes from, as other clusters see it (routed pod networks):
    # what a shared-service flow to or from a tenant on another cluster is allowed by.
    pod_cidrs: tuple[fields.CIDR, ...] = pydantic.Field(default=(), max_length=20)
    display_name: str = ""

    @property
    def kube_context(self) -> str:
        return self.context or self.name


class SharedNetwork(Model):
    name: fields.DNSLabel
    display_name: str = ""
    cidrs: tuple[fields.CIDR, ...] = pydantic.Field(min_length=1)
    purposes: tuple[fields.DNSLabel, ...] = pydantic.Field(min_length=1)
    sites: tuple[str, ...] = ()


class SharedService(Model):
    """A kind of system the city runs once for every department (统一身份认证, 数据共享交换...)
    and the tenant's published service that provides it."""

    kind: fields.DNSLabel  # e.g. identity, data-exchange, office-automation, gis, video-sharing
    display_name: str = ""
    tenant: fields.DNSLabel
    service: fields.DNSLabel


class PlatformMetadata(Model):
    name: fields.DNSLabel
    display_name: str = ""


class PolicySets(Model):
    """Which policy sets run; a set switched off here is off for every tenant."""

    security: bool = True
    standards: bool = True
    capacity: bool = True
    placement: bool = True
    network: bool = True
    sharing: bool = True


class Ceiling(Model):
    """The most a department may hold across all pools; an absent resource has no ceiling."""

    cpu: fields.Quantity | None = None
    memory: fields.Quantity | None = None
    storage: fields.Quantity | None = None


class SecuritySettings(Model):
    # MLPS level from which namespaces run Pod Security "restricted" and pool guardrails
    # refuse privileged pods (等保 2.0 level 3 by default).
    restricted_from_level: int = pydantic.Field(default=3, ge=1, le=4)
    # Pool -> storage classes that encrypt at rest; required where MLPS >= restricted level.
    encrypted_storage_classes: dict[fields.DNSLabel, tuple[fields.DNSLabel, ...]] = (
        pydantic.Field(default_factory=dict))
    # Networks that carry management traffic; no tenant may reach into them.
    management_networks: tuple[fields.CIDR, ...] = ()
    # Registries no pool may approve: public hubs outside the city's control.
    public_registries: tuple[str, ...] = (
        "docker.io", "registry-1.docker.io", "index.docker.io", "quay.io", "ghcr.io", "gcr.io",
        "registry.k8s.io", "public.ecr.aws")


class StandardsSettings(Model):
    # Every department code starts with this (the city's prefix, e.g. "wh-"); "" = any.
    department_prefix: str = pydantic.Field(default="", max_length=20)
    # Longest tenant name, so that "<tenant>-<namespace>" stays readable and within 63.
    max_tenant_name_length: int = pydantic.Field(default=40, ge=8, le=60)
    # Namespace short names that say nothing about the system, or imitate platform ones.
    reserved_namespaces: tuple[str, ...] = ("default", "system", "kube", "test", "tmp", "temp")
    # Cost centres look like this (a regular expression); "" only asks that there is one.
    cost_centre_pattern: str = pydantic.Field(default="", max_length=200)


class CapacitySettings(Model):
    # Warn when a pool's allocation passes this share of physical x overcommit (0..1).
    pool_warning: float = pydantic.Field(default=0.85, gt=0, le=1)
    # No single tenant may hold more than this share of its pool's allocatable capacity.
    max_tenant_share: float = pydantic.Field(default=1.0, gt=0, le=1)
    department_ceilings: dict[fields.DNSLabel, Ceiling] = pydantic.Field(default_factory=dict)


class CpuVendor(enum.StrEnum):
    """Domestic (信创) CPU vendors; each reports one `kubernetes.io/arch`."""

    KUNPENG = "kunpeng"
    PHYTIUM = "phytium"
    HYGON = "hygon"
    ZHAOXIN = "zhaoxin"
    LOONGSON = "loongson"


class PlacementSettings(Model):
    # Pool -> the CPU vendors its nodes have; declared architectures must match them.
    cpu_vendors: dict[fields.DNSLabel, tuple[CpuVendor, ...]] = pydantic.Field(
        default_factory=dict)


class PoolFlow(Model):
    """Tenants of the `consumer` pool may call services published in the `provider` pool."""

    consumer: fields.DNSLabel
    provider: fields.DNSLabel


class SharingSettings(Model):
    # Within a pool every consented flow is allowed; across pools only these pairs (an
    # internet-facing industry pool calling into the government extranet needs a decision).
    allowed_pool_flows: tuple[PoolFlow, ...] = pydantic.Field(default=(), max_length=100)


class PolicySettings(Model):
    """The `policies:` section of platform.yaml: which rules run, and their thresholds."""

    sets: PolicySets = PolicySets()
    disabled: tuple[str, ...] = ()  # single policy ids switched off, e.g. standards.contacts
    security: SecuritySettings = SecuritySettings()
    standards: StandardsSettings = StandardsSettings()
    capacity: CapacitySettings = CapacitySettings()
    placement: PlacementSettings = PlacementSettings()
    sharing: SharingSettings = SharingSettings()


class PlatformSpec(Model):
    pools: tuple[Pool, ...] = pydantic.Field(min_length=1)
    # The Kubernetes clusters of the pools; a pool with none runs on the one cluster the
    # command line names (--kubeconfig, --context), as before clusters were declared.
    clusters: tuple[Cluster, ...] = pydantic.Field(default=(), max_length=500)
    shared_networks: tuple[SharedNetwork, ...] = ()
    # Where department networks are carved from ('networks allocate'); none = RFC 1918 + ULA.
    address_pools: tuple[fields.CIDR, ...] = pydantic.Field(default=(), max_length=1000)
    # The city's shared services by kind: a tenant that runs its own system of such a kind
    # is building a duplicate (policy sharing.duplicate-system).
    shared_services: tuple[SharedService, ...] = pydantic.Field(default=(), max_length=100)
    policies: PolicySettings = PolicySettings()


class PlatformFile(Model):
    api_version: Literal["citycloud.io/v1"]
    kind: Literal["Platform"]
    metadata: PlatformMetadata
    spec: PlatformSpec


# ---- departments.yaml -------------------------------------------------------


class Level(enum.StrEnum):
    CITY = "city"
    DISTRICT = "district"
    TOWN = "town"


class Contact(Model):
    name: str = pydantic.Field(min_length=1, max_length=100)
    email: str = pydantic.Field(default="", max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+$")
    phone: str = pydantic.Field(default="", max_length=40, pattern=r"^$|^\+?[0-9][0-9 -]*$")


class Department(Model):
    code: fields.DNSLabel
    name: str = pydantic.Field(min_length=1, max_length=100)
    level: Level
    owners: tuple[fields.DNSLabel, ...] = pydantic.Field(min_length=1)
    contacts: tuple[Contact, ...] = ()
    cost_centre: str = ""


class DepartmentsFile(Model):
    api_version: Literal["citycloud.io/v1"]
    kind: Literal["DepartmentList"]
    departments: tuple[Department, ...]


# ---- tenants/<department>/<tenant>.yaml -------------------------------------


class Quota(Model):
    cpu: fields.Quantity
    memory: fields.Quantity
    storage: fields.Quantity
    # Node-local disk (logs, emptyDir, writable layers); without it only the LimitRange's
    # per-container default bounds it.
    ephemeral_storage: fields.Quantity | None = None
    pods: int | None = pydantic.Field(default=None, ge=1, le=100_000)


class PrivateNetwork(Model):
    """A private network segment a tenant asks for (业务专网)."""

    name: fields.DNSLabel
    cidr: fields.CIDR
    purpose: fields.DNSLabel
    sites: tuple[str, ...] = ()


class ServicePort(Model):
    port: int = pydantic.Field(ge=1, le=65535)
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"


class Audience(Model):
    """Who may consume a published service: named departments, the tenants of named pools,
    or the whole city. Nobody unless said: publishing is a decision, not a default."""

    departments: tuple[fields.DNSLabel, ...] = pydantic.Field(default=(), max_length=200)
    pools: tuple[fields.DNSLabel, ...] = pydantic.Field(default=(), max_length=20)
    city: bool = False


class Service(Model):
    """A service a tenant publishes for other departments' tenants (its side of a grant)."""

    name: fields.DNSLabel
    namespace: fields.DNSLabel  # one of the tenant's `namespaces` (the short name)
    ports: tuple[ServicePort, ...] = pydantic.Field(min_length=1, max_length=20)
    kind: fields.DNSLabel  # what kind of system it is: identity, data-exchange, gis, ...
    audience: Audience
    # Consumers must be at least this MLPS level (data must not flow down the levels).
    min_classification: int | None = pydantic.Field(default=None, ge=1, le=4)
    description: str = pydantic.Field(default="", max_length=200)


class Consumption(Model):
    """A service of another tenant this tenant calls (its side of a grant)."""

    tenant: fields.DNSLabel
    service: fields.DNSLabel
    # The consuming tenant's namespaces (short names) that call it; empty: all of them.
    namespaces: tuple[fields.DNSLabel, ...] = pydantic.Field(default=(), max_length=50)


class TenantMetadata(Model):
    name: fields.DNSLabel
    department: fields.DNSLabel
    description: str = ""


class TenantSpec(Model):
    pool: fields.DNSLabel
    # Clusters of the pool it runs on: one, or two at two sites for disaster recovery (its
    # namespaces and quota on each). Needed where the pool has several clusters.
    clusters: tuple[fields.DNSLabel, ...] = pydantic.Field(default=(), max_length=2)
    classification: int = pydantic.Field(ge=1, le=4)  # MLPS (等保 2.0) level
    owners: tuple[fields.DNSLabel, ...] = pydantic.Field(min_length=1)
    quota: Quota
    namespaces: tuple[fields.DNSLabel, ...] = pydantic.Field(min_length=1, max_length=50)
    networks: tuple[PrivateNetwork, ...] = ()
    egress: tuple[fields.DNSLabel, ...] = ()
    # Host names the platform's ingress serves for this tenant; no other tenant may claim them.
    hosts: tuple[fields.DNSName, ...] = pydantic.Field(default=(), max_length=100)
    # Shared services: what this tenant publishes, and what it calls of others' (a flow
    # exists only when both sides say so; tenants.sharing resolves them).
    services: tuple[Service, ...] = pydantic.Field(default=(), max_length=50)
    consumes: tuple[Consumption, ...] = pydantic.Field(default=(), max_length=200)


class Tenant(Model):
    api_version: Literal["citycloud.io/v1"]
    kind: Literal["Tenant"]
    metadata: TenantMetadata
    spec: TenantSpec

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def department(self) -> str:
        return self.metadata.department

    def namespace_names(self) -> list[str]:
        return [namespace_name(self.name, short) for short in self.spec.namespaces]


def namespace_name(tenant: str, short: str) -> str:
    """Tenant namespaces are prefixed by the tenant; the loader refuses the rare name two
    tenants would both make (namespace_collision)."""
    return f"{tenant}-{short}"


# ---- waivers.yaml (optional) --------------------------------------------------


class Waiver(Model):
    """An approved, time-limited exception: one policy does not apply to one tenant."""

    policy: str = pydantic.Field(min_length=1, max_length=100, pattern=r"^[a-z]+\.[a-z0-9-]+$")
    tenant: fields.DNSLabel
    reason: str = pydantic.Field(min_length=10, max_length=1000)
    approver: str = pydantic.Field(min_length=1, max_length=100)
    expires: datetime.date


class WaiverList(Model):
    api_version: Literal["citycloud.io/v1"]
    kind: Literal["WaiverList"]
    waivers: tuple[Waiver, ...] = ()
