"""Shared helpers of the PET tests: tiny VL models, a batch, and an independent name-based oracle of
which parameters each method should train (written from methods.md B.0, not from vlpeft.pet)."""

from __future__ import annotations

import re

import torch

from vlpeft.models import build_model
from vlpeft.pet import METHODS, apply_method

ARCH_BACKBONES = {"bart": "tiny-bart", "t5": "tiny-t5"}
TASKS = ["vqa", "gqa"]
FEAT = 16
ALL_METHODS = sorted(METHODS)
MULTIPLE = {"adapter_multiple", "compacter_multiple", "lora_multiple", "prompt_multiple"}
ADAPTER_FAMILY = {
    "adapter_single",
    "adapter_multiple",
    "adapter_half_shared",
    "compacter_single",
    "compacter_multiple",
    "hyperformer",
}


def tiny(arch: str, seed: int = 0, **config):
    torch.manual_seed(seed)
    return build_model(ARCH_BACKBONES[arch], feat_dim=FEAT, from_config=True, **config)


def tiny_with(arch: str, method: str, seed: int = 0, pet_seed: int | None = None, overrides=None, **config):
    model = tiny(arch, seed, **config)
    if pet_seed is not None:
        torch.manual_seed(pet_seed)
    apply_method(model, method, TASKS, overrides)
    return model


def batch(seed: int = 1, b: int = 2):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, 90, (b, 6), generator=g)
    mask = torch.ones_like(ids)
    mask[1, -2:] = 0
    vis = torch.randn(b, 1, 49, FEAT, generator=g)
    labels = torch.randint(3, 90, (b, 4), generator=g)
    return ids, mask, vis, labels


def logits(model, task: str, seed: int = 1) -> torch.Tensor:
    ids, mask, vis, labels = batch(seed)
    model.eval()
    with torch.no_grad():
        return model(ids, mask, vis, task, labels=labels).logits


def loss(model, task: str, seed: int = 1) -> torch.Tensor:
    ids, mask, vis, labels = batch(seed)
    return model(ids, mask, vis, task, labels=labels).loss


def _is_ln(name: str) -> bool:
    return bool(re.search(r"layer_?norm", name))


def is_pet_name(name: str) -> bool:
    """Parameters of added PET modules (not the backbone's own, not the visual projection)."""
    return any(k in name for k in (".adapter.", ".pet.", "lora_")) or name.startswith("prompt.")


def expected_trainable(method: str, arch: str, name: str) -> bool:
    """The methods.md B.0/B.1/B.2 rule, by parameter name."""
    if method == "full_finetuning":
        return True
    if name.startswith("visual_embedding."):
        return True
    backbone = name.startswith("backbone.")
    if method == "bitfit":
        return backbone and "bias" in name  # VL-PET --unfreeze_bias: T5's relative_attention_bias too
    if method.startswith("lora"):
        return "lora_" in name or (backbone and name.endswith("bias"))  # quirk F2
    if method.startswith("prompt"):
        return name.startswith("prompt.")
    if method in ADAPTER_FAMILY:
        return ".adapter." in name or (arch == "bart" and _is_ln(name))  # quirk F1: T5 LNs frozen
    # VL-PET and Compacter + G + LW: gates, ΔH, decoder VPA and the encoder LNs
    encoder = ".encoder." in name
    return ".pet." in name or ".adapter." in name or (encoder and _is_ln(name))


def belongs_to_other_task(name: str, other: str = "gqa") -> bool:
    return re.search(rf"(^|\.){other}(\.|$)", name) is not None
