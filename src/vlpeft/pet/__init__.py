"""Parameter-efficient tuning methods of VL-Adapter and VL-PET, injected into a stock T5/BART.

Public API: ``METHODS``, ``method_config``, ``apply_method``, ``count_parameters``,
``save_adapter``, ``load_adapter`` (see docs/interfaces.md); imported lazily, so that
``vlpeft.pet.names`` (the method names) does not pay for torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "METHODS": "registry",
    "MethodSpec": "registry",
    "apply_method": "registry",
    "method_config": "registry",
    "count_parameters": "accounting",
    "load_adapter": "adapter_io",
    "save_adapter": "adapter_io",
}

__all__ = sorted(_EXPORTS)

# torch-free, and the submodule vlpeft.pet.method_config shares the function's name: importing the
# function here binds ``vlpeft.pet.method_config`` to the function, whatever is imported later.
from .method_config import method_config  # noqa: E402, F401


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
