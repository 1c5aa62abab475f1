"""Pulumi's MockMonitor, recording what a program asks of the engine; and running programs.

The monitor keeps every RegisterResourceRequest: the type, name, parent,
dependencies, provider and the protect / retainOnDelete flags exactly as the
real engine would receive them, plus the deserialized inputs. Fixtures that
install it live in conftest.py; tests import this module by name.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc

WUHAN = pathlib.Path(__file__).resolve().parents[2] / "examples" / "wuhan"


class Mocks(pulumi.runtime.Mocks):
    """Resources come back with their inputs as outputs and the logical name as id."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


@dataclasses.dataclass(frozen=True)
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    protect: bool
    retain_on_delete: bool
    dependencies: tuple[str, ...]
    provider: str
    inputs: dict[str, Any]

    def manifest(self) -> dict[str, Any]:
        """The Kubernetes object the engine would be asked to create."""
        return dict(self.inputs)


class RecordingMonitor(mocks.MockMonitor):
    def __init__(self, mock: pulumi.runtime.Mocks) -> None:
        super().__init__(mock)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(Registration(
                type=request.type, name=request.name, urn=response.urn, parent=request.parent,
                custom=request.custom, protect=request.protect,
                retain_on_delete=request.retainOnDelete,
                dependencies=tuple(request.dependencies), provider=request.provider,
                inputs=json.loads(json.dumps(rpc.deserialize_properties(request.object)))))
        return response

    def of_type(self, prefix: str) -> list[Registration]:
        return [r for r in self.registrations if r.type.startswith(prefix)]

    @property
    def kubernetes_objects(self) -> list[Registration]:
        """The custom resources that are Kubernetes objects (not the provider)."""
        return [r for r in self.registrations
                if r.custom and r.type.startswith("kubernetes:")]


MockEngine = Callable[..., RecordingMonitor]


def run(program: Callable[[], None]) -> None:
    """Run a Pulumi program under the installed mocks until every registration is done."""

    @pulumi.runtime.test
    def body() -> pulumi.Output[None]:
        program()
        return pulumi.Output.from_input(None)

    body()

