"""Command-line helpers shared by several verbs (`vlpeft train`, `evaluate`, `params`): the one place
that spells a shared flag, so a config key, its flag and its Python parameter keep one name.

- ``parse_key_values``: ``--method-override KEY=VALUE`` pairs -> dict (config ``method_overrides``);
- ``add_run_arguments``: the data, feature, backbone and device flags of `train` and `evaluate`;
- ``task_list``: a ``--tasks a,b`` value -> list;
- ``default_of``: a dataclass field's default, so a CLI default is never a second copy of it.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
from typing import Any

from vlpeft.device import DEVICE_HELP, device_arg

METHOD_OVERRIDE_FLAG = "--method-override"  # config key method_overrides; Python parameter method_overrides


def parse_key_values(pairs: list[str], flag: str = METHOD_OVERRIDE_FLAG) -> dict[str, Any]:
    """``["k=v", ...]`` -> dict; values parsed as JSON (numbers, true/false, lists), else strings."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} {pair!r}: expected KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def add_method_override_argument(parser: argparse.ArgumentParser, help_: str) -> None:
    """``--method-override KEY=VALUE`` (repeatable) into ``args.method_overrides``."""
    parser.add_argument(
        METHOD_OVERRIDE_FLAG, dest="method_overrides", action="append", default=[], metavar="KEY=VALUE", help=help_
    )


def task_list(value: str | None) -> list[str]:
    """``"vqa, gqa"`` -> ``["vqa", "gqa"]``; None or empty -> ``[]``."""
    return [t.strip() for t in value.split(",") if t.strip()] if value else []


def default_of(owner: Any, name: str) -> Any:
    """The default of ``name``: a field of dataclass ``owner`` or a parameter of function ``owner`` (a CLI
    default derived, never repeated)."""
    if dataclasses.is_dataclass(owner):
        defaults = {f.name: f.default for f in dataclasses.fields(owner)}
        missing: Any = dataclasses.MISSING
    else:
        defaults = {p.name: p.default for p in inspect.signature(owner).parameters.values()}
        missing = inspect.Parameter.empty
    if name not in defaults:
        raise AttributeError(f"{owner.__name__} has no field or parameter {name!r}")
    if defaults[name] is missing:
        raise TypeError(f"{owner.__name__}.{name} has no plain default")
    return defaults[name]


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by `vlpeft train` and `vlpeft evaluate`: data, features, backbone, device."""
    parser.add_argument("--data", required=True, help="dataset directory data/<ds> (annotations/<task>/<split>.jsonl)")
    parser.add_argument("--features-image", help="image feature cache (HDF5, (49, C) grids); image runs")
    parser.add_argument("--features-video", help="video feature cache (HDF5, (T, D) frames); video runs")
    parser.add_argument(
        "--backbone",
        required=True,
        help="backbone: local model directory or hub name (a project config name with --from-config)",
    )
    parser.add_argument(
        "--device",
        default="auto",
        type=device_arg,
        help=f"{DEVICE_HELP}; fp32 unless the run was trained with --precision bf16",
    )
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
