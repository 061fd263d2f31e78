"""Optimiser, learning-rate schedule and loss of the training recipe (docs/methods.md C.1, C.9)."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

# The original's list, matched as substrings of parameter names (BERT naming): BART/T5 layer norms
# are called ``*layer_norm.weight`` / ``layernorm_embedding.weight``, so they DO get weight decay
# (quirk F5). ``fix_no_decay`` also exempts every parameter of a normalisation module.
NO_DECAY = ("bias", "LayerNorm.weight")

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-6
WEIGHT_DECAY = 0.01


def _norm_param_names(model: nn.Module) -> set[str]:
    """Names of the parameters owned by normalisation modules (LayerNorm, T5LayerNorm, RMSNorm...)."""
    names = set()
    for mod_name, mod in model.named_modules():
        if "norm" in type(mod).__name__.lower():
            names |= {f"{mod_name}.{p}" if mod_name else p for p, _ in mod.named_parameters(recurse=False)}
    return names


def decay_split(model: nn.Module, fix_no_decay: bool = False) -> tuple[list[str], list[str]]:
    """(decayed, not decayed) names of the trainable parameters, in ``named_parameters`` order."""
    norms = _norm_param_names(model) if fix_no_decay else set()
    decay: list[str] = []
    no_decay: list[str] = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        exempt = any(nd in name for nd in NO_DECAY) or name in norms
        (no_decay if exempt else decay).append(name)
    return decay, no_decay


def build_optimizer(
    model: nn.Module, lr: float, weight_decay: float = WEIGHT_DECAY, fix_no_decay: bool = False
) -> torch.optim.AdamW:
    """AdamW(eps 1e-6, betas (0.9, 0.999)) over the trainable parameters, two decay groups."""
    params = dict(model.named_parameters())
    decay, no_decay = decay_split(model, fix_no_decay)
    if not decay and not no_decay:
        raise ValueError("the model has no trainable parameters: did the PET method freeze everything?")
    groups = [
        {"params": [params[n] for n in decay], "weight_decay": weight_decay},
        {"params": [params[n] for n in no_decay], "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    # On the CPU the fused kernel: 1.3 ms a step instead of 8.6 for the demo backbone (~15 % of a
    # step); on CUDA torch's default (foreach), as the official scripts ran.
    on_cpu = all(params[n].device.type == "cpu" for n in decay + no_decay)
    return torch.optim.AdamW(groups, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, fused=True if on_cpu else None)


def build_scheduler(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_ratio: float = 0.1
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``int(total_steps * warmup_ratio)`` steps, then linear decay to 0 (the same
    schedule as transformers' get_linear_schedule_with_warmup, whose import costs ~10 s of CPU here)."""
    warmup = int(total_steps * warmup_ratio)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, functools.partial(_linear_lr, warmup, total_steps))


def _linear_lr(warmup: int, total: int, step: int) -> float:
    if step < warmup:
        return step / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


def sequence_loss(
    logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None = None, reduction: str = "sequence"
) -> torch.Tensor:
    """Token cross-entropy averaged per sequence, times a per-example weight, averaged over the batch.

    ``labels`` uses -100 for padding. ``weights`` (B,) is the VQA soft score of the sampled answer
    (1 elsewhere). Our own reduction: HF's built-in loss averages over all tokens of the batch.
    ``reduction="token"`` is that all-token mean instead (COCO captioning's ``reduce_loss=True``,
    docs/methods.md C.9); ``weights`` then multiply each token's loss.
    """
    if reduction not in ("sequence", "token"):
        raise ValueError(f"loss reduction must be 'sequence' or 'token', got {reduction!r}")
    b, length, vocab = logits.shape
    # flattened (N, V) form: the 2-D nll kernel has no deterministic CUDA implementation
    ce = F.cross_entropy(
        logits.float().reshape(-1, vocab), labels.reshape(-1), ignore_index=-100, reduction="none"
    ).view(b, length)
    mask = (labels != -100).to(ce.dtype)
    if reduction == "token":
        if weights is not None:
            ce = ce * weights.to(ce).unsqueeze(1)
        return (ce * mask).sum() / mask.sum().clamp(min=1.0)
    per_seq = (ce * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    if weights is not None:
        per_seq = per_seq * weights.to(per_seq)
    return per_seq.mean()
