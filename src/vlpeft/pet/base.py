"""Shared building blocks of every PET method: module wrapping (PEFT-style, the wrapped layer kept as
``base_layer``), task routing, the injection sites of a stock T5/BART, and initialisation helpers.

Nothing here knows a particular method; the method modules (adapter, hyperformer, lora, prompt,
vl_pet) compose these pieces.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:  # annotations only
    from transformers import PreTrainedModel

    from vlpeft.models.vl import VLModel


class PETModule(nn.Module):
    """Marker base class: every parameter of a PETModule is trainable under its method's rule."""


def gelu_new(x: torch.Tensor) -> torch.Tensor:
    """GELU_new (tanh approximation), the activation of every adapter in both papers."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


# ----------------------------------------------------------------------------------------- wrapping


class Wrapper(nn.Module):
    """Wraps an existing submodule; unknown attributes are looked up on ``base_layer`` so code that
    reads e.g. ``attn.layer_idx`` or ``linear.weight`` keeps working (as PEFT's tuner layers do)."""

    def __init__(self, base_layer: nn.Module):
        super().__init__()
        self.base_layer = base_layer

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "base_layer":
                raise
            return getattr(self.base_layer, name)


def replace_submodule(root: nn.Module, path: str, new: nn.Module) -> None:
    """Set ``root.<path> = new`` (path is dotted, list indices included)."""
    parent_path, _, attr = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    setattr(parent, attr, new)


def wrap(root: nn.Module, path: str, make: Callable[[nn.Module], nn.Module]) -> nn.Module:
    """Replace the submodule at ``path`` by ``make(old)`` and return the wrapper."""
    wrapper = make(root.get_submodule(path))
    replace_submodule(root, path, wrapper)
    return wrapper


# ------------------------------------------------------------------------------------------ routing


class TaskRouter(PETModule):
    """One module per task key, chosen by ``ctx.task`` at every call (docs/methods.md B.0 task routing).

    "single" registers the same object under every key (its parameters are counted once);
    "multiple" registers one object per task.
    """

    def __init__(self, ctx, per_task: dict[str, nn.Module]):
        super().__init__()
        self.ctx = ctx
        self.per_task = nn.ModuleDict(per_task)

    def current(self) -> nn.Module:
        task = getattr(self.ctx, "task", None)
        if not isinstance(task, str) or task not in self.per_task:
            raise KeyError(
                f"PET module has no entry for task {task!r} (known tasks: {sorted(self.per_task)}); "
                "set model.task_context.task before the forward pass"
            )
        return self.per_task[task]

    def forward(self, *args, **kwargs):
        return self.current()(*args, **kwargs)


def per_task_modules(tasks: list[str], make: Callable[[], nn.Module], shared: bool) -> dict[str, nn.Module]:
    """``{task: module}``: one object for all tasks when ``shared``, else one per task."""
    if shared:
        module = make()
        return {t: module for t in tasks}
    return {t: make() for t in tasks}


# ----------------------------------------------------------------------------------- injection sites


@dataclass(frozen=True)
class Site:
    """One sublayer of the backbone where a method may inject a module."""

    path: str  # dotted path inside the HF backbone
    stack: str  # "encoder" | "decoder"
    layer: int  # layer index inside its stack
    kind: str  # "self_attn" | "cross_attn" | "ffn"


def _stacks(backbone: PreTrainedModel, arch: str) -> dict[str, tuple[str, int]]:
    cfg = backbone.config
    if arch == "bart":
        return {
            "encoder": ("model.encoder.layers", cfg.encoder_layers),
            "decoder": ("model.decoder.layers", cfg.decoder_layers),
        }
    if arch == "t5":
        return {"encoder": ("encoder.block", cfg.num_layers), "decoder": ("decoder.block", cfg.num_decoder_layers)}
    raise ValueError(f"unknown arch {arch!r} (expected 't5' or 'bart')")


# Sublayer output modules (docs/methods.md B.1.1 placement: on the sublayer output, before
# dropout/residual/LN), relative to one layer of the stack.
_OUTPUT_MODULES = {
    ("bart", "encoder"): [("self_attn", "self_attn"), ("ffn", "fc2")],
    ("bart", "decoder"): [("self_attn", "self_attn"), ("cross_attn", "encoder_attn"), ("ffn", "fc2")],
    ("t5", "encoder"): [("self_attn", "layer.0.SelfAttention"), ("ffn", "layer.1.DenseReluDense")],
    ("t5", "decoder"): [
        ("self_attn", "layer.0.SelfAttention"),
        ("cross_attn", "layer.1.EncDecAttention"),
        ("ffn", "layer.2.DenseReluDense"),
    ],
}

# Whole sublayers (T5 pre-LN: LN + sublayer + dropout + residual), for methods that need the
# residual stream X as well as the sublayer output H (VL-PET on T5).
_T5_SUBLAYERS = {"self_attn": "layer.0", "ffn": "layer.1"}

# Value projections of the decoder cross-attention (VL-PET value-parallel adapter).
_CROSS_VALUE = {"bart": "encoder_attn.v_proj", "t5": "layer.1.EncDecAttention.v"}


def output_sites(
    backbone: PreTrainedModel,
    arch: str,
    stacks: Iterable[str] = ("encoder", "decoder"),
    kinds: Iterable[str] = ("self_attn", "cross_attn", "ffn"),
) -> list[Site]:
    """Sublayer-output modules, encoder first, in layer order."""
    sites = []
    for stack, (prefix, n) in _stacks(backbone, arch).items():
        if stack not in stacks:
            continue
        for i in range(n):
            for kind, rel in _OUTPUT_MODULES[(arch, stack)]:
                if kind in kinds:
                    sites.append(Site(f"{prefix}.{i}.{rel}", stack, i, kind))
    return sites


def t5_encoder_sublayers(backbone: PreTrainedModel) -> list[Site]:
    prefix, n = _stacks(backbone, "t5")["encoder"]
    return [Site(f"{prefix}.{i}.{rel}", "encoder", i, kind) for i in range(n) for kind, rel in _T5_SUBLAYERS.items()]


def bart_ffn_input_path(site: Site) -> str:
    """The fc1 beside a BART fc2 site: its input is the FFN sublayer input X."""
    return site.path.rsplit(".", 1)[0] + ".fc1"


def cross_value_sites(backbone: PreTrainedModel, arch: str) -> list[Site]:
    prefix, n = _stacks(backbone, arch)["decoder"]
    return [Site(f"{prefix}.{i}.{_CROSS_VALUE[arch]}", "decoder", i, "cross_value") for i in range(n)]


def d_model(backbone: PreTrainedModel) -> int:
    return int(backbone.config.d_model)


# ------------------------------------------------------------------------------------------- init


def init_linear_(linear: nn.Linear, std: float | None) -> None:
    """BART ``_init_weights`` for new Linears: N(0, std) weight, zero bias (docs/methods.md B.4).

    ``std=None`` keeps PyTorch's default initialisation, as VL-T5's ``_init_weights`` (which skips
    plain ``nn.Linear``/``nn.Embedding``) leaves it."""
    if std is None:
        return
    nn.init.normal_(linear.weight, std=std)
    if linear.bias is not None:
        nn.init.zeros_(linear.bias)


def new_module_std(model: VLModel, cfg: dict) -> float | None:
    """The init std of plain Linears/Embeddings a method adds (docs/methods.md B.4): BART's
    ``_init_weights`` re-initialises them N(0, init_std); VL-T5's skips them (None = PyTorch defaults)."""
    return cfg.get("init_std") if model.arch == "bart" else None


def zero_(module: nn.Module) -> None:
    """Zero-initialise ``module`` (the T5 zero-init flags of VL-PET, docs/methods.md B.4).

    Plain parameters are zeroed. A layer with a ``zero_init_`` method (the PHM layer) zeroes only
    what keeps a path for the gradient: a PHM layer with both its rule and its W at zero never moves."""
    with torch.no_grad():
        handled: set[int] = set()
        for m in module.modules():
            zero_init = getattr(m, "zero_init_", None)
            if zero_init is not None:
                zero_init()
                handled |= {id(p) for p in m.parameters()}
        for p in module.parameters():
            if id(p) not in handled:
                p.zero_()
