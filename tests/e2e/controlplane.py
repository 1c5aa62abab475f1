"""A real Kubernetes control plane on 127.0.0.1 for the end-to-end tests, as envtest starts one.

etcd, kube-apiserver and kube-controller-manager, built from their Go modules by
scripts/controlplane/build.sh (`make controlplane`), started as child processes
with throw-away certificates made here: a CA, the API server's serving
certificate for 127.0.0.1, an admin client certificate in `system:masters`, and
the service-account signing key pair. Nothing listens outside 127.0.0.1, every
port is a free one, every file is under one work directory.

Each process runs in its own process group and is stopped by PID (SIGTERM to
its group, SIGKILL after a grace period), newest first, also when a test or the
start itself fails; `stop` then checks that no process of those groups is left.
On Linux the children also get PR_SET_PDEATHSIG, so even a SIGKILLed pytest
takes them down with it.

The controller-manager runs only the controllers the tests need: quota status
(ResourceQuota admission refuses everything until the controller has filled
status.hard), namespace deletion, service accounts (pods need `default`),
ClusterRole aggregation (the built-in `admin` role tenants' owners are bound to
is empty without it), PVC protection, ValidatingAdmissionPolicy type checking,
and the garbage collector (the Pulumi provider deletes in the foreground: an
object keeps its `foregroundDeletion` finalizer until the collector removes
it). Fewer controllers start faster on a 2-core machine.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import datetime
import ipaddress
import json
import os
import pathlib
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import realparts
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")
PULUMI_BINARIES = ("pulumi", "pulumi-resource-kubernetes")
ENV_BIN = "CITYCLOUD_CONTROLPLANE_BIN"
ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "scripts" / "controlplane" / "build.sh"

ADMISSION_PLUGINS = (
    # On by default, named so the test cluster does not depend on the defaults.
    "NamespaceLifecycle", "LimitRanger", "ServiceAccount", "ResourceQuota", "PodSecurity",
    "ValidatingAdmissionPolicy", "StorageObjectInUseProtection",
    # Off by default: the placement defaults render.py writes on tenant namespaces.
    "PodNodeSelector", "PodTolerationRestriction",
)
CONTROLLERS = (
    "namespace-controller", "resourcequota-controller", "serviceaccount-controller",
    "serviceaccount-token-controller", "clusterrole-aggregation-controller",
    "persistentvolumeclaim-protection-controller", "root-ca-certificate-publisher-controller",
    "validatingadmissionpolicy-status-controller", "garbage-collector-controller",
)
_PR_SET_PDEATHSIG = 1


class ControlPlaneError(Exception):
    """The control plane could not be found or started; the message says why."""


def find_bin_dir() -> tuple[pathlib.Path, list[str]]:
    """The directory with the built binaries, and the names missing from it."""
    try:
        directory = realparts.built_dir(ENV_BIN, BUILD_SCRIPT)
    except OSError as err:
        raise ControlPlaneError(str(err)) from err
    missing = [name for name in (*BINARIES, *PULUMI_BINARIES)
               if not os.access(directory / name, os.X_OK)]
    return directory, missing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---- certificates -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Certificates:
    directory: pathlib.Path

    def path(self, name: str) -> str:
        return str(self.directory / name)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())  # P-256: fast, and every component takes it


def _write_key(path: pathlib.Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _name(common: str, organization: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
    if organization:
        parts.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(parts)


def write_certificates(directory: pathlib.Path) -> Certificates:
    """CA, API server serving cert (127.0.0.1, localhost), admin client cert, SA key pair."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1)
    ca_key = _key()
    ca_name = _name("citycloud-e2e-ca")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    (directory / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    _write_key(directory / "ca.key", ca_key)

    def leaf(name: str, subject: x509.Name, usage: x509.ObjectIdentifier,
             alt: list[x509.GeneralName] | None = None) -> None:
        key = _key()
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(end)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if alt:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        (directory / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(directory / f"{name}.key", key)

    leaf("apiserver", _name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH,
         [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
    leaf("admin", _name("citycloud-e2e-admin", "system:masters"), ExtendedKeyUsageOID.CLIENT_AUTH)
    sa_key = _key()
    _write_key(directory / "sa.key", sa_key)
    (directory / "sa.pub").write_bytes(sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return Certificates(directory)


# ---- processes ----------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the process that started us dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclasses.dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: pathlib.Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, *, grace: float = 10.0) -> None:
        """SIGTERM to the process group, SIGKILL after `grace` seconds, then reap."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)
            try:
                self.popen.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # Others of its group (none expected) go too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)

    def group_alive(self) -> bool:
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager under `work`, binaries from `bin_dir`."""

    def __init__(self, bin_dir: pathlib.Path, work: pathlib.Path) -> None:
        self.bin_dir = bin_dir
        self.work = work
        self.processes: list[Process] = []
        self.api_port = free_port()
        self.url = f"https://127.0.0.1:{self.api_port}"
        self.kubeconfig = work / "admin.kubeconfig"
        self.certs = Certificates(work / "pki")
        self.timings: dict[str, float] = {}

    # ---- start / stop ---------------------------------------------------------------------

    def start(self) -> None:
        started = time.monotonic()
        try:
            self.certs = write_certificates(self.work / "pki")
            self._write_kubeconfig()
            self._mark("certificates", started)
            self._start_etcd()
            self._mark("etcd", started)
            self._start_apiserver()
            self._mark("kube-apiserver", started)
            self._start_controller_manager()
            self._mark("kube-controller-manager", started)
        except BaseException:
            self.stop()
            raise

    def _mark(self, what: str, started: float) -> None:
        self.timings[what] = time.monotonic() - started

    def stop(self, *, grace: float = 5.0) -> list[str]:
        """Stop everything, newest first; return the names of groups that would not die."""
        for process in reversed(self.processes):
            started = time.monotonic()
            process.stop(grace=grace)  # throw-away data: a clean shutdown is nice, not needed
            self.timings[f"stop {process.name}"] = time.monotonic() - started
        left = [f"{p.name} (pid {p.pid})" for p in self.processes if p.group_alive()]
        self.processes = [p for p in self.processes if p.group_alive()]
        return left

    def _spawn(self, name: str, args: list[str]) -> Process:
        log = self.work / f"{name}.log"
        with log.open("wb") as handle:
            popen = subprocess.Popen(
                [str(self.bin_dir / name), *args], stdin=subprocess.DEVNULL, stdout=handle,
                stderr=subprocess.STDOUT, cwd=self.work, start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def _wait(self, process: Process, what: str, ready: Callable[[], bool],
              timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if process.popen.poll() is not None:
                raise ControlPlaneError(
                    f"{process.name} exited ({process.popen.returncode}) before {what}:\n"
                    f"{process.tail()}")
            with contextlib.suppress(OSError, ValueError, urllib.error.URLError):
                if ready():
                    return
            if time.monotonic() > deadline:
                raise ControlPlaneError(f"{process.name}: no {what} after {timeout:.0f}s:\n"
                                        f"{process.tail()}")
            time.sleep(0.1)

    def restart(self) -> None:
        """Start it again after `stop`: the same ports, certificates and etcd data, as a
        cluster that comes back after an outage."""
        self._start_etcd()
        self._start_apiserver()
        self._start_controller_manager()

    def _start_etcd(self) -> None:
        # A restart keeps etcd's ports: its data names its peer address.
        client, peer = self._etcd_ports = getattr(self, "_etcd_ports", None) or (
            free_port(), free_port())
        self.etcd_url = f"http://127.0.0.1:{client}"
        process = self._spawn("etcd", [
            "--name=e2e", f"--data-dir={self.work / 'etcd'}",
            f"--listen-client-urls={self.etcd_url}", f"--advertise-client-urls={self.etcd_url}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=e2e=http://127.0.0.1:{peer}",
            "--unsafe-no-fsync=true",  # throw-away data: no fsync, much faster on a busy disk
            "--log-level=warn",
        ])
        self._wait(process, "/health", lambda: _http_ok(f"{self.etcd_url}/health"), 30)

    def _start_apiserver(self) -> None:
        c = self.certs.path
        process = self._spawn("kube-apiserver", [
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={self.api_port}", f"--cert-dir={self.work / 'apiserver-certs'}",
            f"--tls-cert-file={c('apiserver.crt')}",
            f"--tls-private-key-file={c('apiserver.key')}",
            f"--client-ca-file={c('ca.crt')}",
            f"--service-account-issuer={self.url}",
            f"--service-account-key-file={c('sa.pub')}",
            f"--service-account-signing-key-file={c('sa.key')}",
            "--authorization-mode=Node,RBAC",
            f"--enable-admission-plugins={','.join(ADMISSION_PLUGINS)}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--allow-privileged=true",  # as on real clusters: refusing is the guardrails' job
            "--endpoint-reconciler-type=none",
            "--profiling=false",
        ])
        self._wait(process, "/readyz", lambda: self._get("/readyz") is not None, 180)

    def _start_controller_manager(self) -> None:
        c = self.certs.path
        port = free_port()
        kubeconfig = str(self.kubeconfig)
        process = self._spawn("kube-controller-manager", [
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1", f"--secure-port={port}",
            f"--cert-dir={self.work / 'kcm-certs'}",
            f"--controllers={','.join(CONTROLLERS)}",
            f"--service-account-private-key-file={c('sa.key')}",
            f"--root-ca-file={c('ca.crt')}",
            "--use-service-account-credentials=true",
            "--leader-elect=false",
            "--profiling=false",
        ])
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE  # its serving cert is self-signed, made at start
        self._wait(process, "/healthz",
                   lambda: _http_ok(f"https://127.0.0.1:{port}/healthz", context=insecure), 90)

    # ---- clients ------------------------------------------------------------------------------

    def _write_kubeconfig(self) -> None:
        c = self.certs.path
        config = {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "e2e", "cluster": {
                "server": self.url, "certificate-authority": c("ca.crt")}}],
            "users": [{"name": "admin", "user": {
                "client-certificate": c("admin.crt"), "client-key": c("admin.key")}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}],
            "current-context": "e2e",
        }
        self.kubeconfig.write_text(json.dumps(config, indent=2), encoding="utf-8")

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.certs.path("ca.crt"))
        context.load_cert_chain(self.certs.path("admin.crt"), self.certs.path("admin.key"))
        return context

    def _get(self, path: str) -> Any:
        """GET as admin; the decoded JSON (or text), None unless 200."""
        with urllib.request.urlopen(f"{self.url}{path}", context=self.ssl_context(),
                                    timeout=5) as response:
            if response.status != 200:
                return None
            body = response.read().decode()
        try:
            return json.loads(body)
        except ValueError:
            return body

    def api_client(self, *, impersonate: str | None = None,
                   groups: tuple[str, ...] = ()) -> Any:
        """A kubernetes ApiClient as admin, or impersonating `impersonate` in `groups`."""
        import kubernetes

        client = kubernetes.config.new_client_from_config(config_file=str(self.kubeconfig))
        if impersonate:
            client.set_default_header("Impersonate-User", impersonate)
            # The client keeps one value per header; requests repeat Impersonate-Group per
            # group, which a comma-joined value is not. One group is what the tests need.
            if len(groups) > 1:
                raise ValueError("impersonate at most one group with this client")
            for group in groups:
                client.set_default_header("Impersonate-Group", group)
        return client


@contextlib.contextmanager
def running(planes: Mapping[str, ControlPlane]) -> Iterator[Mapping[str, ControlPlane]]:
    """Several control planes, started one after the other from this thread and stopped
    together. Not from a pool of threads: each child dies with the thread that started it
    (PR_SET_PDEATHSIG), so the pool's threads would take them down as they end."""
    try:
        for plane in planes.values():
            plane.start()
        yield planes
    finally:
        left = [p for plane in planes.values() for p in plane.stop()]
        if left:
            raise ControlPlaneError(f"still running after stop: {', '.join(left)}")


def kubeconfig_of(planes: Mapping[str, ControlPlane], path: pathlib.Path, *,
                  current: str | None = None) -> pathlib.Path:
    """One kubeconfig with a context per control plane, named after it, as a city keeps one
    file for all its clusters; `current` is its current context (None: it has none)."""
    config: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "clusters": [],
                              "users": [], "contexts": []}
    if current is not None:
        config["current-context"] = current
    for name, plane in planes.items():
        own = json.loads(plane.kubeconfig.read_text(encoding="utf-8"))
        config["clusters"].append({"name": name, "cluster": own["clusters"][0]["cluster"]})
        config["users"].append({"name": name, "user": own["users"][0]["user"]})
        config["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def _http_ok(url: str, *, context: ssl.SSLContext | None = None) -> bool:
    with urllib.request.urlopen(url, context=context, timeout=5) as response:
        return bool(response.status == 200)
