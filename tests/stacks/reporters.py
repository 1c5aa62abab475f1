"""A Reporter for tests that drive stacks.operations and stacks.offboarding directly."""

from __future__ import annotations

from typing import Any

from citycloud.stacks import changes, layout, offboarding, operations


class Quiet:
    """A Reporter that confirms everything and prints nothing."""

    def begin(self, phase: str, total: int) -> None:
        pass

    def journal(self, ref: layout.StackRef, phase: str) -> changes.Journal:
        return changes.Journal()

    def finished(self, outcome: operations.Outcome, phase: str) -> None:
        pass

    def confirm(self, outcomes: Any) -> bool:
        return True

    def confirm_offboard(self, plan: offboarding.Plan) -> bool:
        return True
