"""Helpers of the render tests: the Wuhan platform, loaded once (made-up tenants: registries)."""

from __future__ import annotations

import functools
import pathlib

from citycloud import tenants

WUHAN = pathlib.Path(__file__).resolve().parents[2] / "examples" / "wuhan"


@functools.cache
def wuhan_platform() -> tenants.Platform:
    """Loaded once per session (hypothesis tests cannot take function-scoped fixtures)."""
    return tenants.load(WUHAN)
