"""Pulumi stacks that build the pools and tenants on Kubernetes, and node preparation.

The CLI uses these names: `Engine` (the Pulumi engine for a state directory and a
cluster), `Cluster`, `StateDir`, `operations` (apply, onboard, resize),
`offboarding`, `changes` (what a preview says), `errors` (the exception family).
Layout and reasons: stacks/README.md.
"""

from citycloud.stacks import changes, errors, layout, offboarding, operations
from citycloud.stacks.engine import Engine
from citycloud.stacks.layout import StateDir
from citycloud.stacks.programs import Cluster

__all__ = [
    "Cluster",
    "Engine",
    "StateDir",
    "changes",
    "errors",
    "layout",
    "offboarding",
    "operations",
]
