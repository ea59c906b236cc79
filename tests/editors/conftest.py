"""Editor tests need tools the Python install does not bring (nvim, node modules, code-server, chromium).

Locally they are skipped when a tool is missing; with PATINA_REQUIRE_EDITORS=1 (set by .ci/run,
which installs them) a missing tool is a failure, so CI cannot pass by skipping.
"""

from __future__ import annotations

import os

import pytest


def require(condition: bool, what: str) -> None:
    if condition:
        return
    if os.environ.get("PATINA_REQUIRE_EDITORS") == "1":
        pytest.fail(f"{what} is missing (PATINA_REQUIRE_EDITORS=1)")
    pytest.skip(f"{what} is missing; .ci/run installs it")
