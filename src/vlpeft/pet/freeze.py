"""Which parameters train (docs/methods.md B.0): freeze everything, then unfreeze by the method's rule.

Rule keys of a resolved method config:
- ``train_all``: full fine-tuning (backbone incl. shared embeddings / LM head, visual projection).
- ``train_layer_norms``: "all" (VL-Adapter ``--unfreeze_layer_norms``), "encoder" (VL-PET
  ``--unfreeze_encoder_layer_norms``: encoder LNs incl. the embedding / final LN) or "none".
- ``t5_layer_norms_frozen_quirk``: quirk F1, with "all" the T5 LNs stay frozen (paper-faithful).
- ``train_biases``: every ``*bias`` of the backbone (BitFit; LoRA quirk F2), LN biases included;
  with ``bias_names: contains`` (BitFit) every name containing "bias", so T5's
  ``relative_attention_bias`` too (docs/methods.md B.3).
Always trainable: the visual projection and every PET module (``PETModule``, PEFT's ``lora_*``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn
from transformers.models.t5.modeling_t5 import T5LayerNorm

from .base import PETModule
from .lora import is_lora_parameter

if TYPE_CHECKING:  # annotations only
    from vlpeft.models.vl import VLModel


def _layer_norms(root: nn.Module, include_t5: bool) -> list[nn.Module]:
    kinds = (nn.LayerNorm, T5LayerNorm) if include_t5 else (nn.LayerNorm,)
    return [m for m in root.modules() if isinstance(m, kinds)]


def _unfreeze(modules: list[nn.Module]) -> None:
    for m in modules:
        m.requires_grad_(True)


def set_trainable(model: VLModel, cfg: dict) -> None:
    """Set ``requires_grad`` on every parameter of ``model`` by the rule keys of ``cfg``."""
    model.requires_grad_(False)
    if cfg.get("train_all", False):
        model.requires_grad_(True)
        return
    backbone = model.backbone
    # Visual projection: its own parameters only, never a tensor it shares with the backbone
    # (the frozen token embeddings used as object-order embeddings stay frozen, B.0).
    backbone_ids = {id(p) for p in backbone.parameters()}
    for p in model.visual_embedding.parameters():
        if id(p) not in backbone_ids:
            p.requires_grad_(True)
    _unfreeze([m for m in model.modules() if isinstance(m, PETModule)])
    for name, p in backbone.named_parameters():
        if is_lora_parameter(name):
            p.requires_grad_(True)
    norms = cfg.get("train_layer_norms", "none")
    include_t5 = not cfg.get("t5_layer_norms_frozen_quirk", False)
    if norms == "all":
        _unfreeze(_layer_norms(backbone, include_t5))
    elif norms == "encoder":
        _unfreeze(_layer_norms(backbone.get_encoder(), include_t5=True))
    elif norms != "none":
        raise ValueError(f"train_layer_norms must be 'all', 'encoder' or 'none', got {norms!r}")
    if cfg.get("train_biases", False):
        contains = cfg.get("bias_names", "suffix") == "contains"  # BitFit: VL-PET's "bias" in name
        for name, p in backbone.named_parameters():
            if ("bias" in name) if contains else name.endswith("bias"):
                p.requires_grad_(True)
