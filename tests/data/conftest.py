"""Shared fixture of the demo-world tests: one tiny world per session, generated once.

Set ``VLPEFT_TEST_DEMO_WORLD=<dir>`` to run the same checks on an existing world instead (e.g. the
default-size one of the pipeline): ``VLPEFT_TEST_DEMO_WORLD=data/demo pytest tests/data``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vlpeft.data.demo import generate


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if existing := os.environ.get("VLPEFT_TEST_DEMO_WORLD"):
        return Path(existing)
    out = tmp_path_factory.mktemp("demo") / "world"
    generate(out, seed=0, size="tiny", progress=False)
    return out
