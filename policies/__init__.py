"""Shared security, standards, capacity, placement, network and sharing policies over the
Platform model.

Importing the package registers every built-in policy set. Other packages use
these names only: `evaluate` (validate, the exporter, the GitOps flow),
`Report` and `PolicyViolations` (exit code 1), `POLICIES` and `Policy` (the
catalogue `citycloud policies` shows). The guardrails that hold the same lines in the
cluster are rendered with the pools' objects (tenants.guardrails).
"""

from citycloud.policies import (
    capacity,
    engine,
    evaluation,
    networks,
    placement,
    security,
    sharing,
    standards,
    waivers,
)
from citycloud.policies.engine import POLICIES, Policy
from citycloud.policies.evaluation import PolicyViolations, Report, evaluate
from citycloud.policies.waivers import Waived

__all__ = [
    "POLICIES",
    "Policy",
    "PolicyViolations",
    "Report",
    "Waived",
    "capacity",
    "engine",
    "evaluate",
    "evaluation",
    "networks",
    "placement",
    "security",
    "sharing",
    "standards",
    "waivers",
]
