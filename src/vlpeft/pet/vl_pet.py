"""VL-PET (docs/methods.md B.2): a modular modification ΔH plus a granularity-controlled gate G after the
self-attention and the FFN of every encoder layer, and a value-parallel adapter (VPA) on the decoder
cross-attention. ``delta_linear: phm`` builds ΔH and the VPA from PHM layers: the Compacter + G + LW
designs of VL-PET Table 9. Our own implementation: no installed library has these gates.

With X the sublayer input (the residual stream) and H the sublayer output:
- BART (post-LN): ``LN(X + Dropout(s * G ⊙ (H + ΔH)))``; the wrapped attention / fc2 return
  ``s * G ⊙ (H + ΔH)`` and the stock layer does dropout, residual and LN.
- T5 (pre-LN): ``X + Dropout(s * G ⊙ (H + ΔH))``, H = sublayer(LN(X)); the wrapper of the whole
  T5LayerSelfAttention / T5LayerFF calls the wrapped layer's own LN, sublayer and dropout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from .adapter import Bottleneck
from .base import (
    PETModule,
    Wrapper,
    bart_ffn_input_path,
    cross_value_sites,
    d_model,
    gelu_new,
    init_linear_,
    new_module_std,
    output_sites,
    t5_encoder_sublayers,
    wrap,
    zero_,
)

if TYPE_CHECKING:  # annotations only
    from transformers.models.t5.modeling_t5 import T5LayerFF, T5LayerSelfAttention

    from vlpeft.models.vl import VLModel

# ---------------------------------------------------------------------------------------------- gates


class LargeGate(PETModule):
    """Token- and channel-wise: ``σ(W_up GELU_new(W_down X))``, G: (B, N, d)."""

    def __init__(self, d: int, r_g: int, init_std: float | None, zero_init: bool):
        super().__init__()
        self.down, self.up = nn.Linear(d, r_g), nn.Linear(r_g, d)
        init_linear_(self.down, init_std)
        init_linear_(self.up, init_std)
        if zero_init:
            zero_(self.up)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.up(gelu_new(self.down(x))))


class MiddleXGate(PETModule):
    """Token-wise: ``σ(w·(X + Y) + b)``, G: (B, N, 1)."""

    def __init__(self, d: int, init_std: float | None, zero_init: bool):
        super().__init__()
        self.linear = nn.Linear(d, 1)
        init_linear_(self.linear, init_std)
        if zero_init:
            zero_(self.linear)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.linear(x + y))


class MiddleYGate(PETModule):
    """Channel-wise: ``G = 1 + z``, z ∈ R^d; no sigmoid, as in the code (quirk F7)."""

    def __init__(self, d: int, init_std: float | None, zero_init: bool):
        super().__init__()
        # BART: N(0, init_std). Not zero-initialised on T5 only by an override: then N(0, 0.02) as well.
        self.z = nn.Parameter(torch.zeros(d) if zero_init else torch.randn(d) * (init_std or 0.02))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return 1.0 + self.z


class SmallGate(PETModule):
    """Global: mean over tokens (padding included) of ``σ(w·[X ; Y] + b)``, G: (B, 1, 1)."""

    def __init__(self, d: int, init_std: float | None, zero_init: bool):
        super().__init__()
        self.linear = nn.Linear(2 * d, 1)
        init_linear_(self.linear, init_std)
        if zero_init:
            zero_(self.linear)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.linear(torch.cat([x, y], dim=-1))).mean(dim=1, keepdim=True)


GATES = ("small", "middlex", "middley", "large")


def make_gate(cfg: dict, d: int, init_std: float | None) -> PETModule:
    kw = dict(init_std=init_std, zero_init=cfg["zero_init"])
    gate = cfg["gate"]
    if gate == "large":
        return LargeGate(d, cfg["gate_dim"], **kw)
    if gate == "middlex":
        return MiddleXGate(d, **kw)
    if gate == "middley":
        return MiddleYGate(d, **kw)
    if gate == "small":
        return SmallGate(d, **kw)
    raise ValueError(f"unknown gate {gate!r} (expected one of {GATES})")


# ------------------------------------------------------------------------------------- the module


class GatedModification(PETModule):
    """``s * G(X, H + ΔH) ⊙ (H + ΔH)`` with ΔH a (multi-head) bottleneck on H."""

    def __init__(self, d: int, cfg: dict, init_std: float | None = 0.02):
        super().__init__()
        self.delta = Bottleneck(
            d, cfg["r"], linear=cfg["delta_linear"], init_std=init_std, phm_n=cfg["phm_n"], num_heads=cfg["num_heads"]
        )
        if cfg["zero_init"]:
            zero_(self.delta.up)
        self.gate = make_gate(cfg, d, init_std)
        self.scale = float(cfg["scale"])

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        y = h + self.delta(h)
        return self.scale * self.gate(x, y) * y


class _Stash:
    """Holds the BART FFN input X between the fc1 and fc2 calls of one layer."""

    value: torch.Tensor | None = None


class InputTap(Wrapper):
    """Wraps BART fc1: records its input (the FFN sublayer input X) for the fc2 wrapper."""

    def __init__(self, base_layer: nn.Module, stash: _Stash):
        super().__init__(base_layer)
        self.stash = stash

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.stash.value = x
        return self.base_layer(x)


class BartGatedOutput(Wrapper):
    """Wraps BART self_attn (X = its input) or fc2 (X from the fc1 tap); returns s·G⊙(H+ΔH) in place of H."""

    def __init__(self, base_layer: nn.Module, pet: GatedModification, stash: _Stash | None = None):
        super().__init__(base_layer)
        self.pet = pet
        self.stash = stash

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs):
        out = self.base_layer(hidden_states, *args, **kwargs)
        if self.stash is not None:
            x, self.stash.value = self.stash.value, None
        else:
            x = hidden_states
        if isinstance(out, tuple):
            return (self.pet(x, out[0]),) + tuple(out[1:])
        return self.pet(x, out)


class T5GatedSelfAttention(Wrapper):
    """Wraps T5LayerSelfAttention: ``X + Dropout(s·G⊙(H+ΔH))`` with H = SelfAttention(LN(X))."""

    base_layer: T5LayerSelfAttention  # the sublayer at a t5_encoder_sublayers "self_attn" site

    def __init__(self, base_layer: nn.Module, pet: GatedModification):
        super().__init__(base_layer)
        self.pet = pet

    def forward(self, hidden_states, attention_mask=None, position_bias=None, past_key_values=None, **kwargs):
        base = self.base_layer
        h, position_bias, weights = base.SelfAttention(
            base.layer_norm(hidden_states),
            mask=attention_mask,
            position_bias=position_bias,
            past_key_values=past_key_values,
            **kwargs,
        )
        return hidden_states + base.dropout(self.pet(hidden_states, h)), position_bias, weights


class T5GatedFF(Wrapper):
    """Wraps T5LayerFF: ``X + Dropout(s·G⊙(H+ΔH))`` with H = DenseReluDense(LN(X))."""

    base_layer: T5LayerFF  # the sublayer at a t5_encoder_sublayers "ffn" site

    def __init__(self, base_layer: nn.Module, pet: GatedModification):
        super().__init__(base_layer)
        self.pet = pet

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        base = self.base_layer
        h = base.DenseReluDense(base.layer_norm(hidden_states))
        return hidden_states + base.dropout(self.pet(hidden_states, h))


class ParallelAdapterWrapper(Wrapper):
    """Decoder cross-attention value-parallel adapter: ``V = W_v E + up(GELU_new(down(E)))``."""

    def __init__(self, base_layer: nn.Module, adapter: Bottleneck):
        super().__init__(base_layer)
        self.adapter = adapter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base_layer(x) + self.adapter(x)


# ------------------------------------------------------------------------------------------ inject


def _inject_encoder(model: VLModel, cfg: dict) -> None:
    backbone = model.backbone
    d = d_model(backbone)
    std = new_module_std(model, cfg)  # T5: PyTorch defaults (docs/methods.md B.4)
    if model.arch == "t5":
        for site in t5_encoder_sublayers(backbone):
            cls = T5GatedSelfAttention if site.kind == "self_attn" else T5GatedFF
            wrap(backbone, site.path, lambda base: cls(base, GatedModification(d, cfg, std)))
        return
    for site in output_sites(backbone, "bart", stacks=("encoder",), kinds=("self_attn", "ffn")):
        stash = None
        if site.kind == "ffn":
            stash = _Stash()
            wrap(backbone, bart_ffn_input_path(site), lambda base: InputTap(base, stash))
        wrap(backbone, site.path, lambda base: BartGatedOutput(base, GatedModification(d, cfg, std), stash))


def _inject_decoder_vpa(model: VLModel, cfg: dict) -> None:
    backbone = model.backbone
    d = d_model(backbone)
    for site in cross_value_sites(backbone, model.arch):
        vpa = Bottleneck(
            d,
            cfg["decoder_vpa_dim"],
            linear=cfg["delta_linear"],
            init_std=new_module_std(model, cfg),
            phm_n=cfg["phm_n"],
        )
        if cfg["zero_init"]:
            zero_(vpa.up)
        wrap(backbone, site.path, lambda base: ParallelAdapterWrapper(base, vpa))


def apply(model: VLModel, cfg: dict, tasks: list[str]) -> None:
    """Encoder ΔH + G modules and decoder VPAs, all shared by the tasks (docs/methods.md B.2)."""
    _inject_encoder(model, cfg)
    if cfg["decoder_vpa_dim"]:
        _inject_decoder_vpa(model, cfg)
