"""Preparing the machines of a pool with Ansible: kubelet labels and taints, security baseline.

The nodes of a pool are listed in platform.yaml (or a NodeInventory file it
names); `inventory.build` turns them into an Ansible inventory, and
`runs.run_pool` runs the playbook shipped here through ansible-runner, in
check mode (what would change) or for real, streaming per-host progress.
"""

from citycloud.stacks.nodes import events, inventory, runs
from citycloud.stacks.nodes.errors import (
    InvalidRequest,
    NodesError,
    PreparationFailed,
    RunnerFailed,
)
from citycloud.stacks.nodes.runs import Mode, Part, RunResult, run, run_pool

__all__ = [
    "InvalidRequest",
    "Mode",
    "NodesError",
    "Part",
    "PreparationFailed",
    "RunResult",
    "RunnerFailed",
    "events",
    "inventory",
    "run",
    "run_pool",
    "runs",
]
