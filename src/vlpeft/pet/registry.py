"""The method registry: every PET method of VL-Adapter and VL-PET, its paper defaults (which may
depend on the backbone), the paper's learning rate and text-prefix setting, and ``apply_method``.

One source of truth per fact: a method's hyper-parameters are the defaults below, overridden by the
run config (``method_config(name, arch, overrides)``); nothing else stores them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

from torch import nn

from . import adapter, hyperformer, lora, prompt, vl_pet
from .freeze import set_trainable
from .names import METHOD_NAMES

ARCHS = ("bart", "t5")


@dataclass(frozen=True)
class MethodSpec:
    """One registry entry: ``family`` picks the injector; ``defaults`` hold every hyper-parameter
    (plus the paper's ``lr`` / ``lr_video`` / ``use_task_prompt`` / ``use_task_prompt_video``);
    ``arch_defaults`` override them per backbone."""

    name: str
    family: str
    paper: str
    defaults: Mapping[str, Any]
    arch_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def _nothing(model: nn.Module, cfg: dict, tasks: list[str]) -> None:
    """Full fine-tuning and BitFit add no module; only the trainable rule differs."""


INJECTORS: dict[str, Callable[[nn.Module, dict, list[str]], None]] = {
    "full": _nothing,
    "bitfit": _nothing,
    "adapter": adapter.apply,
    "hyperformer": hyperformer.apply,
    "lora": lora.apply,
    "prompt": prompt.apply,
    "vl_pet": vl_pet.apply,
}

_NO_RULES = dict(train_all=False, train_layer_norms="none", train_biases=False)
# VL-Adapter's adapter-family scripts pass --unfreeze_layer_norms; on T5 it is a no-op (quirk F1).
_ADAPTER_RULES = dict(_NO_RULES, train_layer_norms="all", t5_layer_norms_frozen_quirk=True)
_ADAPTER = dict(_ADAPTER_RULES, reduction_factor=8, sharing="single", shared_projection="up", linear="linear",
                phm_n=2, cross_attn_adapter=True, init_std=0.02)
_HYPERFORMER = dict(_ADAPTER_RULES, reduction_factor=8, cross_attn_adapter=True, task_embedding_dim=512,
                    task_hidden_dim=128, projected_task_embedding_dim=8, hypernet_init_std=0.01)
_LORA = dict(_NO_RULES, train_biases=True, r=128, alpha=32, dropout=0.1, sharing="single")  # F2: all biases
_PROMPT = dict(_NO_RULES, prompt_len=40, mid_dim=800, sharing="single", init_std=0.02)
_VL_PET = dict(_NO_RULES, train_layer_norms="encoder", delta_linear="linear", phm_n=2, num_heads=4, r=96,
               scale=1.0, decoder_vpa_dim=96, zero_init=False, init_std=0.02)
# README commands: T5 r = r_g = 192, s = 0.3, zero-init flags, lr 3e-4 (methods.md B.2).
_VL_PET_T5 = dict(r=192, scale=0.3, zero_init=True, lr=3e-4, lr_video=None)


def _lr(lr: float, lr_video: float | None, prompt_: bool, prompt_video: bool = True) -> dict:
    return dict(lr=lr, lr_video=lr_video, use_task_prompt=prompt_, use_task_prompt_video=prompt_video)


def _spec(name: str, family: str, paper: str, defaults: dict, arch_defaults: dict | None = None) -> MethodSpec:
    return MethodSpec(name, family, paper, MappingProxyType(defaults),
                      MappingProxyType({a: MappingProxyType(d) for a, d in (arch_defaults or {}).items()}))


def _vl_pet_specs() -> list[MethodSpec]:
    specs = []
    for gate, label in [("small", "small"), ("middlex", "middleX"), ("middley", "middleY"), ("large", "large")]:
        large = {"gate_dim": 96} if gate == "large" else {}
        large_t5 = {"gate_dim": 192} if gate == "large" else {}
        specs.append(_spec(
            f"vl_pet_{gate}", "vl_pet", f"VL-PET-{label} (VL-PET Table 2; = VL-Adapter + G_{label} + LW, Table 9)",
            dict(_VL_PET, gate=gate, **large, **_lr(1e-3, 7e-4, True)), {"t5": dict(_VL_PET_T5, **large_t5)}))
        specs.append(_spec(
            f"compacter_g_{gate}_lw", "vl_pet", f"Compacter + G_{label} + LW (VL-PET Table 9): ΔH and VPA from PHM layers",
            dict(_VL_PET, gate=gate, delta_linear="phm", num_heads=1, **large, **_lr(1e-3, None, True)),
            {"t5": dict(_VL_PET_T5, **large_t5)}))
    return specs


_SPECS = [
    _spec("full_finetuning", "full", "Full fine-tuning (lr 1e-4 image, 3e-5 video)",
          dict(_NO_RULES, train_all=True, **_lr(1e-4, 3e-5, False))),
    _spec("bitfit", "bitfit", "BitFit (VL-PET bitfit.sh): every bias + visual projection",
          dict(_NO_RULES, train_biases=True, **_lr(1e-3, None, True))),
    _spec("adapter_single", "adapter", "Single Adapter (VL-Adapter); on T5 the published 7.98 % row (LST) uses r=192",
          dict(_ADAPTER, **_lr(1e-3, 3e-4, True)), {"t5": {"reduction_factor": 4}}),
    _spec("adapter_multiple", "adapter", "Multiple Adapters (VL-Adapter)",
          dict(_ADAPTER, sharing="multiple", **_lr(3e-4, None, False))),
    _spec("adapter_half_shared", "adapter", "Half-shared Adapters (shared up-projection, F8; no script)",
          dict(_ADAPTER, sharing="half_shared", **_lr(3e-4, None, False))),
    _spec("hyperformer", "hyperformer", "Hyperformer (VL-Adapter)", dict(_HYPERFORMER, **_lr(1e-3, None, False))),
    _spec("compacter_single", "adapter", "Single Compacter (PHM adapter, n=2, rule not shared)",
          dict(_ADAPTER, linear="phm", **_lr(1e-3, None, True))),
    _spec("compacter_multiple", "adapter", "Multiple Compacters",
          dict(_ADAPTER, linear="phm", sharing="multiple", **_lr(1e-3, None, False))),
    _spec("lora_single", "lora", "Single LoRA (q, v of every attention); T5 row from LST uses r=150",
          dict(_LORA, **_lr(1e-3, 3e-4, True)), {"t5": {"r": 150}}),
    _spec("lora_multiple", "lora", "Multiple LoRA", dict(_LORA, sharing="multiple", **_lr(1e-3, None, False)),
          {"t5": {"r": 150}}),
    _spec("prompt_single", "prompt", "Single Prompt (input prompts, MLP reparameterisation)",
          dict(_PROMPT, **_lr(1e-3, 3e-4, True))),
    _spec("prompt_multiple", "prompt", "Multiple Prompts", dict(_PROMPT, sharing="multiple", **_lr(1e-3, None, False))),
    *_vl_pet_specs(),
]

# Registry order = the order of the papers' tables (used as the default row order).
METHODS: Mapping[str, MethodSpec] = MappingProxyType({s.name: s for s in _SPECS})
if tuple(METHODS) != METHOD_NAMES:
    raise RuntimeError("vlpeft.pet.names.METHOD_NAMES must list the registry's methods in table order")


def _coerce(name: str, key: str, value: Any, default: Any) -> Any:
    """Convert an override to the default's type (``--set r=64`` arrives as a string or a number)."""
    if default is None or value is None:
        return value
    bad = ValueError(f"method {name!r}: setting {key!r} expects a {type(default).__name__}, got {value!r}")
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise bad
    if isinstance(value, bool):
        raise bad
    try:
        if isinstance(default, int):
            number = float(value)
            if not number.is_integer():
                raise bad
            return int(number)
        if isinstance(default, float):
            return float(value)
    except (TypeError, ValueError):
        raise bad from None
    if not isinstance(value, str):
        raise bad
    return value


def method_config(name: str, arch: str, overrides: Mapping[str, Any] | None = None) -> dict:
    """The resolved hyper-parameters of ``name`` on ``arch``: defaults, arch defaults, then overrides.

    An unknown override key is a ``ValueError`` naming the key and the method.
    """
    if name not in METHODS:
        raise ValueError(f"unknown PET method {name!r}; known methods: {', '.join(METHODS)}")
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r} (expected one of {ARCHS})")
    spec = METHODS[name]
    cfg = dict(spec.defaults)
    cfg.update(spec.arch_defaults.get(arch, {}))
    for key, value in (overrides or {}).items():
        if key not in cfg:
            raise ValueError(f"unknown setting {key!r} for method {name!r}; known settings: {', '.join(sorted(cfg))}")
        cfg[key] = _coerce(name, key, value, cfg[key])
    return dict(sorted(cfg.items()))


def apply_method(model: nn.Module, name: str, tasks: list[str], overrides: Mapping[str, Any] | None = None) -> dict:
    """Inject ``name``'s modules into ``model`` (a VLModel), set ``requires_grad`` by its rule and
    return the resolved config. The applied method is recorded as ``model.pet_info``."""
    if getattr(model, "pet_info", None) is not None:
        raise ValueError(f"a PET method ({model.pet_info['method']!r}) is already applied to this model")
    tasks = list(tasks)
    if not tasks or len(set(tasks)) != len(tasks) or not all(isinstance(t, str) and t for t in tasks):
        raise ValueError(f"tasks must be a non-empty list of distinct task names, got {tasks!r}")
    cfg = method_config(name, model.arch, overrides)
    INJECTORS[METHODS[name].family](model, cfg, tasks)
    set_trainable(model, cfg)
    model.pet_info = {"method": name, "config": cfg, "tasks": tasks}
    return cfg
