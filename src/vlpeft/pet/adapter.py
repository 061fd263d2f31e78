"""Sequential bottleneck adapters of VL-Adapter (docs/methods.md B.1.1 and B.1.3): single, multiple and
half-shared adapters, and Compacter as the same adapter with PHM Linears.

Our own layers: PEFT has no sequential (Houlsby) adapter on the sublayer output and no PHM layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from .base import (
    PETModule,
    TaskRouter,
    Wrapper,
    d_model,
    gelu_new,
    init_linear_,
    new_module_std,
    output_sites,
    per_task_modules,
    wrap,
)
from .phm import PHMLinear

if TYPE_CHECKING:  # annotations only
    from vlpeft.models.vl import VLModel


def make_linear(kind: str, fin: int, fout: int, *, init_std: float | None, phm_n: int = 2) -> nn.Module:
    """A plain ``nn.Linear`` (N(0, init_std), zero bias; PyTorch's default init when ``init_std`` is
    None) or a Compacter ``PHMLinear``."""
    if kind == "linear":
        linear = nn.Linear(fin, fout)
        init_linear_(linear, init_std)
        return linear
    if kind == "phm":
        return PHMLinear(fin, fout, phm_n)
    raise ValueError(f"unknown linear kind {kind!r} (expected 'linear' or 'phm')")


class MultiHeadDown(nn.Module):
    """N_h parallel down-projections whose outputs are concatenated (VL-PET multi-head ΔH)."""

    def __init__(self, heads: list[nn.Module]):
        super().__init__()
        self.heads = nn.ModuleList(heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([head(x) for head in self.heads], dim=-1)


class Bottleneck(PETModule):
    """``up(GELU_new(down(x)))``, no residual: down d -> r (optionally as N_h heads of r/N_h), up r -> d.

    ``down`` / ``up`` may be passed in to share a projection between tasks (half-shared adapters).
    """

    def __init__(
        self,
        d: int,
        r: int,
        *,
        linear: str = "linear",
        init_std: float | None = 0.02,
        phm_n: int = 2,
        num_heads: int = 1,
        down: nn.Module | None = None,
        up: nn.Module | None = None,
    ):
        super().__init__()
        if r % num_heads:
            raise ValueError(f"bottleneck r={r} is not divisible by num_heads={num_heads}")
        if down is None:
            heads = [make_linear(linear, d, r // num_heads, init_std=init_std, phm_n=phm_n) for _ in range(num_heads)]
            down = heads[0] if num_heads == 1 else MultiHeadDown(heads)
        self.down = down
        self.up = up if up is not None else make_linear(linear, r, d, init_std=init_std, phm_n=phm_n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(gelu_new(self.down(x)))


class OutputAdapterWrapper(Wrapper):
    """Applies ``h + adapter(h)`` to the wrapped sublayer's output (the first element if a tuple):
    on the sublayer output, before dropout / residual / LN (docs/methods.md B.1.1 placement)."""

    def __init__(self, base_layer: nn.Module, adapter: nn.Module):
        super().__init__(base_layer)
        self.adapter = adapter

    def forward(self, *args, **kwargs):
        out = self.base_layer(*args, **kwargs)
        if isinstance(out, tuple):
            return (out[0] + self.adapter(out[0]),) + tuple(out[1:])
        return out + self.adapter(out)


def _task_bottlenecks(tasks: list[str], d: int, r: int, cfg: dict, init_std: float | None) -> dict[str, nn.Module]:
    """One site's adapters per task: "single" (one object), "multiple", or "half_shared" (one
    projection, by default the up-projection, shared by all tasks: docs/methods.md B.1.1, F8)."""
    kw = dict(linear=cfg["linear"], init_std=init_std, phm_n=cfg["phm_n"])
    sharing = cfg["sharing"]
    if sharing in ("single", "multiple"):
        return per_task_modules(tasks, lambda: Bottleneck(d, r, **kw), shared=sharing == "single")
    if sharing == "half_shared":
        which = cfg["shared_projection"]
        if which not in ("up", "down"):
            raise ValueError(f"shared_projection must be 'up' or 'down', got {which!r}")
        shared = Bottleneck(d, r, **kw)
        return {t: Bottleneck(d, r, **kw, **{which: getattr(shared, which)}) for t in tasks}
    raise ValueError(f"unknown sharing {sharing!r} (expected 'single', 'multiple' or 'half_shared')")


def adapter_kinds(cfg: dict) -> tuple[str, ...]:
    return ("self_attn", "cross_attn", "ffn") if cfg["cross_attn_adapter"] else ("self_attn", "ffn")


def apply(model: VLModel, cfg: dict, tasks: list[str]) -> None:
    """Inject a routed sequential adapter after every attention / FFN sublayer (30 on BART-base, 60 on T5-base)."""
    backbone, ctx = model.backbone, model.task_context
    d = d_model(backbone)
    if d % cfg["reduction_factor"]:
        raise ValueError(f"d_model={d} is not divisible by reduction_factor={cfg['reduction_factor']}")
    r = d // cfg["reduction_factor"]
    std = new_module_std(model, cfg)  # T5: PyTorch defaults (docs/methods.md B.4)
    for site in output_sites(backbone, model.arch, kinds=adapter_kinds(cfg)):
        router = TaskRouter(ctx, _task_bottlenecks(tasks, d, r, cfg, std))
        wrap(backbone, site.path, lambda base: OutputAdapterWrapper(base, router))
