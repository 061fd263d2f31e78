"""The one spelling of a torch device that every verb and the workflow config accept:
``auto`` (cuda when present, else cpu), ``cpu``, ``cuda`` or ``cuda:N``. Checking is torch-free (the
workflow checks configs without torch); ``resolve`` imports torch."""

from __future__ import annotations

import argparse
import re

DEVICE_PATTERN = r"^(auto|cpu|cuda(:[0-9]+)?)$"
DEVICE_HELP = "auto (cuda when present), cpu, cuda or cuda:N"


def check_device(name: str) -> str:
    """``name`` if it is a device spelling we accept, else a one-line ValueError."""
    if not isinstance(name, str) or not re.match(DEVICE_PATTERN, name):
        raise ValueError(f"device: expected {DEVICE_HELP}, got {name!r}")
    return name


def device_arg(name: str) -> str:
    """argparse ``type=`` for every ``--device`` flag."""
    try:
        return check_device(name)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def resolve(name: str):
    """The ``torch.device`` of ``name``; a CUDA device that is not there is a one-line ValueError."""
    import torch

    check_device(name)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {name}: no CUDA device is available")
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ValueError(f"device {name}: only {torch.cuda.device_count()} CUDA device(s)")
    return torch.device(name)
