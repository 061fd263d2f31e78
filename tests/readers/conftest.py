"""Fixtures of the reader tests: tiny published layouts in temporary folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from readers_data import write_nlvr_official, write_value, write_vlt5


@pytest.fixture
def vlt5_root(tmp_path: Path) -> Path:
    return write_vlt5(tmp_path / "datasets")


@pytest.fixture
def value_root(tmp_path: Path) -> Path:
    return write_value(tmp_path / "datasets" / "video")


@pytest.fixture
def nlvr_official_root(tmp_path: Path) -> Path:
    return write_nlvr_official(tmp_path / "nlvr")
