"""A small stand-in for the API server's ValidatingAdmissionPolicy evaluation, for unit tests.

A fake, and the test docstrings say so: no API server can run in the unit
suite, so guardrails' CEL runs here in cel-python (Google's CEL semantics, the
language Kubernetes embeds). It follows the parts of admission the guardrails
use: resource rules and operations, the binding's namespace selector,
`variables` in order, `object` and `oldObject` (null where the operation has none),
`namespaceObject`, `request` with its `userInfo`, Kubernetes' escaping of
reserved property names as documented (`in` -> `__in__`; not `namespace`, see
_RESERVED) and the `split` string extension. The real API server runs the same objects in the
control-plane end-to-end tests.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import celpy
from celpy import celtypes

# CEL keywords Kubernetes escapes when they are object property names. Not `namespace`: on
# kube-apiserver 1.37 a RoleBinding subject's `s.namespace` is its namespace and
# `has(s.__namespace__)` is false (tests/e2e/test_guardrails.py shows it on the real server).
_RESERVED = {"in", "as", "break", "const", "continue", "else", "for", "function",
             "if", "import", "let", "loop", "package", "return", "var", "void", "while",
             "true", "false", "null"}
_MAPS = {"labels", "annotations", "nodeSelector"}  # map-typed: keys are data, not properties
_ENV = celpy.Environment()


def _split(text: celtypes.StringType, separator: celtypes.StringType) -> celtypes.ListType:
    return celtypes.ListType([celtypes.StringType(p) for p in str(text).split(str(separator))])


def escape(value: Any, *, is_map: bool = False) -> Any:
    if isinstance(value, dict):
        return {(k if is_map or k not in _RESERVED else f"__{k}__"): escape(v, is_map=k in _MAPS)
                for k, v in value.items()}
    if isinstance(value, list):
        return [escape(v) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class Request:
    group: str
    resource: str
    object: dict[str, Any] | None  # None for DELETE
    namespace: dict[str, Any]  # the Namespace object, as tenants.render makes it
    operation: str = "CREATE"
    version: str = "v1"
    old_object: dict[str, Any] | None = None  # set for UPDATE and DELETE
    username: str = "citycloud-platform"
    groups: tuple[str, ...] = ("system:authenticated",)


def denials(guardrails: list[dict[str, Any]], request: Request) -> list[str]:
    """The messages of every guardrail that refuses the request; [] when it is admitted."""
    bindings = {b["spec"]["policyName"]: b for b in guardrails
                if b["kind"] == "ValidatingAdmissionPolicyBinding"}
    refused = []
    for policy in guardrails:
        if policy["kind"] != "ValidatingAdmissionPolicy":
            continue
        binding = bindings[policy["metadata"]["name"]]
        if not (_matches(policy, request) and _selects(binding, request.namespace)):
            continue
        refused += _evaluate(policy["spec"], request)
    return refused


def _matches(policy: dict[str, Any], request: Request) -> bool:
    return any(request.group in rule["apiGroups"] and request.resource in rule["resources"]
               and request.operation in rule["operations"]
               for rule in policy["spec"]["matchConstraints"]["resourceRules"])


def _selects(binding: dict[str, Any], namespace: dict[str, Any]) -> bool:
    selector = binding["spec"]["matchResources"]["namespaceSelector"]
    labels = namespace["metadata"].get("labels", {})
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", ()):
        assert expression["operator"] == "In", "only In is used by the guardrails"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _evaluate(spec: dict[str, Any], request: Request) -> list[str]:
    activation: dict[str, Any] = {
        "object": celpy.json_to_cel(escape(request.object)),
        "oldObject": celpy.json_to_cel(escape(request.old_object)),
        "namespaceObject": celpy.json_to_cel(escape(request.namespace)),
        "request": celpy.json_to_cel({
            "operation": request.operation, "namespace": request.namespace["metadata"]["name"],
            "resource": {"group": request.group, "version": request.version,
                         "resource": request.resource},
            "userInfo": {"username": request.username, "groups": list(request.groups)}}),
    }
    variables: dict[str, Any] = {}
    for variable in spec.get("variables", ()):
        activation["variables"] = celtypes.MapType(variables)
        variables[celtypes.StringType(variable["name"])] = _run(variable["expression"], activation)
    activation["variables"] = celtypes.MapType(variables)
    refused = []
    for validation in spec["validations"]:
        try:
            admitted = _run(validation["expression"], activation)
        except celpy.CELEvalError as err:  # failurePolicy: Fail
            refused.append(f"{validation['message']} (evaluation error: {err})")
            continue
        if admitted is not True and admitted != celtypes.BoolType(True):
            refused.append(validation["message"])
    return refused


@functools.cache
def _program(expression: str) -> Any:
    return _ENV.program(_ENV.compile(expression), functions={"split": _split})


def _run(expression: str, activation: dict[str, Any]) -> Any:
    result = _program(expression).evaluate(activation)
    if isinstance(result, celpy.CELEvalError):
        raise result
    return result
