"""The method registry: every PET method of VL-Adapter and VL-PET, its paper defaults (which may
depend on the backbone), the paper's learning rate and text-prefix setting, and ``apply_method``.

One source of truth per fact: a method's hyper-parameters are its defaults in the torch-free
``vlpeft.pet.method_config`` (one typed dataclass per family), overridden by the run config
(``method_config(name, arch, method_overrides)``); this module adds the injectors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import adapter, hyperformer, lora, prompt, vl_pet
from .freeze import set_trainable
from .method_config import ARCHS, METHODS, MethodSpec, method_config

if TYPE_CHECKING:  # annotations only
    from vlpeft.models.vl import VLModel

__all__ = ["ARCHS", "INJECTORS", "METHODS", "MethodSpec", "apply_method", "method_config"]


def _nothing(model: VLModel, cfg: dict, tasks: list[str]) -> None:
    """Full fine-tuning and BitFit add no module; only the trainable rule differs."""


INJECTORS: dict[str, Callable[[VLModel, dict, list[str]], None]] = {
    "full": _nothing,
    "bitfit": _nothing,
    "adapter": adapter.apply,
    "hyperformer": hyperformer.apply,
    "lora": lora.apply,
    "prompt": prompt.apply,
    "vl_pet": vl_pet.apply,
}


def apply_method(
    model: VLModel, name: str, tasks: list[str], method_overrides: Mapping[str, Any] | None = None
) -> dict:
    """Inject ``name``'s modules into ``model`` (a VLModel), set ``requires_grad`` by its rule and
    return the resolved config. The applied method is recorded as ``model.pet_info``."""
    if getattr(model, "pet_info", None) is not None:
        raise ValueError(f"a PET method ({model.pet_info['method']!r}) is already applied to this model")
    tasks = list(tasks)
    if not tasks or len(set(tasks)) != len(tasks) or not all(isinstance(t, str) and t for t in tasks):
        raise ValueError(f"tasks must be a non-empty list of distinct task names, got {tasks!r}")
    cfg = method_config(name, model.arch, method_overrides)
    INJECTORS[METHODS[name].family](model, cfg, tasks)
    set_trainable(model, cfg)
    model.pet_info = {"method": name, "config": cfg, "tasks": tasks}
    return cfg
