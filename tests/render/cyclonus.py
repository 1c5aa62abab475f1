"""Cyclonus, a NetworkPolicy simulator nobody here wrote, as the judge of rendered policies.

reachability.py is our own model of the NetworkPolicy semantics, so it shares our
misreadings of them. Cyclonus (github.com/mattfenwick/cyclonus, built by
scripts/checkers/build.sh, `make controlplane`) answers the same question from its own
implementation, without a cluster: `cyclonus analyze --mode query-traffic` reads the
policies from a folder and a JSON list of traffic, and prints a verdict for each.

What it needs, and how it answers, read from its source (pkg/cli/analyze.go, pkg/kube/read.go,
pkg/matcher/traffic.go and policy.go of v0.5.6):

- `--policy-path` is walked and every file must parse, strictly, as one NetworkPolicy or a
  NetworkPolicyList, so the Namespaces are written to a folder of their own.
- Namespace and pod labels are part of each traffic, not read from objects: `traffic` takes a
  namespace's labels from its rendered Namespace plus kubernetes.io/metadata.name, which the
  API server sets. A pod's IP is matched against ipBlocks.
- There is no machine-readable output. Each traffic prints a block, `Traffic:` and a table
  echoing it, then `Is traffic allowed?` and a table whose footer reads `IS ALLOWED? | TRUE`
  (or FALSE). `query` accepts the answer only with one verdict per traffic, in order, each
  block echoing its traffic's port and namespaces; anything else is a CyclonusError.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

NAME_LABEL = "kubernetes.io/metadata.name"

_VERDICT = re.compile(r"^\|\s*IS ALLOWED\?\s*\|\s*(TRUE|FALSE)\s*\|", re.M)
_BLOCK = re.compile(r"^Traffic:$", re.M)


class CyclonusError(Exception):
    """Cyclonus failed, or answered something we cannot read."""


@dataclasses.dataclass(frozen=True)
class Pod:
    """A pod of the cluster, or with namespace "" an address outside it (a pod of another
    cluster: only its IP is known here, and only ipBlocks can match it)."""

    namespace: str
    ip: str
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Traffic:
    source: Pod
    destination: Pod
    port: int
    protocol: str = "TCP"


@dataclasses.dataclass(frozen=True)
class Verdict:
    allowed: bool
    text: str  # cyclonus's own block for this traffic, for failure messages


class Cluster:
    """Rendered manifests written where cyclonus reads them, and the labels of their
    namespaces (those not rendered, such as kube-system, have only their name label)."""

    def __init__(self, manifests: Iterable[Mapping[str, Any]], folder: pathlib.Path) -> None:
        manifests = list(manifests)
        self.folder = folder
        self.policies = [m for m in manifests if m["kind"] == "NetworkPolicy"]
        namespaces = [m for m in manifests if m["kind"] == "Namespace"]
        self.namespace_labels = {
            m["metadata"]["name"]: {**m["metadata"].get("labels", {}),
                                    NAME_LABEL: m["metadata"]["name"]} for m in namespaces}
        policy_folder = folder / "policies"
        policy_folder.mkdir(parents=True)
        for policy in self.policies:
            meta = policy["metadata"]
            # JSON is YAML to cyclonus's reader, and has no anchors for shared objects.
            (policy_folder / f"{meta['namespace']}.{meta['name']}.json").write_text(
                json.dumps(policy, indent=1), encoding="utf-8")
        (folder / "namespaces.json").write_text(json.dumps(namespaces, indent=1),
                                                encoding="utf-8")

    def labels_of(self, namespace: str) -> dict[str, str]:
        return self.namespace_labels.get(namespace, {NAME_LABEL: namespace})

    def ip_blocks(self) -> list[str]:
        """Every CIDR the policies name (pod IPs inside one would be matched by it)."""
        return [peer["ipBlock"]["cidr"] for policy in self.policies
                for direction, key in (("ingress", "from"), ("egress", "to"))
                for rule in policy["spec"].get(direction, ())
                for peer in rule.get(key, ()) if "ipBlock" in peer]

    def query(self, binary: pathlib.Path, traffics: Sequence[Traffic], *,
              timeout: float = 120) -> list[Verdict]:
        """Cyclonus's verdict on each traffic, in order (`timeout` in seconds: a whole
        city's namespace pairs take a few minutes on two busy cores)."""
        path = self.folder / f"traffic-{len(list(self.folder.glob('traffic-*.json')))}.json"
        path.write_text(json.dumps([self._traffic(t) for t in traffics], indent=1),
                        encoding="utf-8")
        command = [str(binary), "analyze", "--mode", "query-traffic",
                   "--policy-path", str(self.folder / "policies"), "--traffic-path", str(path)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        except (OSError, subprocess.SubprocessError) as err:
            raise CyclonusError(f"{' '.join(command)}: {err}") from err
        if done.returncode != 0:
            raise CyclonusError(f"{' '.join(command)} exited {done.returncode}:\n"
                                f"{done.stderr[-2000:]}")
        return _verdicts(done.stdout, traffics)

    def _traffic(self, traffic: Traffic) -> dict[str, Any]:
        def peer(pod: Pod) -> dict[str, Any]:
            if not pod.namespace:
                return {"IP": pod.ip}
            return {"Internal": {"PodLabels": dict(pod.labels),
                                 "NamespaceLabels": self.labels_of(pod.namespace),
                                 "Namespace": pod.namespace},
                    "IP": pod.ip}

        return {"Source": peer(traffic.source), "Destination": peer(traffic.destination),
                "Protocol": traffic.protocol, "ResolvedPort": traffic.port,
                "ResolvedPortName": ""}


def _verdicts(stdout: str, traffics: Sequence[Traffic]) -> list[Verdict]:
    blocks = _BLOCK.split(stdout)[1:]
    if len(blocks) != len(traffics):
        raise CyclonusError(f"cyclonus answered {len(blocks)} traffics, asked "
                            f"{len(traffics)}:\n{stdout[-3000:]}")
    verdicts = []
    for traffic, block in zip(traffics, blocks, strict=True):
        found = _VERDICT.findall(block)
        echoed = (f"| {traffic.port} () on {traffic.protocol}" in block
                  and f" {traffic.source.namespace or traffic.source.ip} " in block
                  and f" {traffic.destination.namespace or traffic.destination.ip} " in block)
        if len(found) != 1 or not echoed:
            raise CyclonusError(f"cannot read cyclonus's answer to {traffic}:\n{block}")
        verdicts.append(Verdict(allowed=found[0] == "TRUE", text=block.strip()))
    return verdicts
