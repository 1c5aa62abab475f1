"""The citycloud-shard program for the `pulumi` CLI: wiring only (logic: stacks.programs)."""

from citycloud.stacks import programs

programs.main_shard()
