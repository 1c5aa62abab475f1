"""The one family of citycloud's errors: each class carries the exit code a command ends with.

    CitycloudError            the root; `exit_code` on the class
    ├── InputError      2     what the user gave is wrong: registry files, a path, a flag, a
    │                         request (RegistryError, WriteError, ScaffoldError, ...)
    ├── PolicyViolations 1    findings no waiver excuses (policies.evaluation)
    ├── EngineError     3     the Pulumi engine could not apply (stacks.errors)
    ├── KubernetesError 3     the Kubernetes API refused or did not answer
    └── AnsibleError    3     node preparation failed (stacks.nodes.errors)

Each boundary raises its own subclass, mapping foreign errors in with `raise ... from err`;
cli/exits.py prints them and exits with `exit_code`, in one place. Lowest layer, so every
package may raise into the family.
"""

from __future__ import annotations

OK = 0
VIOLATIONS = 1
INVALID = 2
APPLY_FAILED = 3


class CitycloudError(Exception):
    """An error citycloud expects and explains; never a traceback (unless --debug)."""

    exit_code = APPLY_FAILED


class InputError(CitycloudError):
    """Something the user gave is wrong: say what, where, and how to fix it."""

    exit_code = INVALID


class EngineError(CitycloudError):
    """The Pulumi engine failed to apply a stack."""


class KubernetesError(CitycloudError):
    """The Kubernetes API refused a request or did not answer."""


class AnsibleError(CitycloudError):
    """Preparing nodes with Ansible failed."""
