"""`vlpeft --version` and the LICENSE."""

import tomllib
from pathlib import Path

import pytest

from vlpeft.cli import main

ROOT = Path(__file__).parents[2]


def test_version_is_the_package_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert capsys.readouterr().out == f"vlpeft {version}\n"


def test_license_is_mit():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 vlpeft contributors" in text
