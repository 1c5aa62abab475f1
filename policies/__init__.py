"""Shared security, standards, capacity and placement policies over the Platform model.

Importing the package registers every built-in policy set. Other packages use
these names only: `evaluate` (validate, the exporter, the GitOps flow),
`Report` and `PolicyViolations` (exit code 1), `POLICIES` and `Policy` (the
catalogue `citycloud policies` shows) and `render_pool_guardrails` (the pool
stacks).
"""

from citycloud.policies import (
    capacity,
    engine,
    guardrails,
    networks,
    placement,
    security,
    standards,
    waivers,
)
from citycloud.policies.engine import POLICIES, Policy, PolicyViolations, Report, Waived, evaluate
from citycloud.policies.guardrails import render_pool_guardrails

__all__ = [
    "POLICIES",
    "Policy",
    "PolicyViolations",
    "Report",
    "Waived",
    "capacity",
    "engine",
    "evaluate",
    "guardrails",
    "networks",
    "placement",
    "render_pool_guardrails",
    "security",
    "standards",
    "waivers",
]
