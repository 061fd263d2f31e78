"""The "updated parameters (%)" column (docs/methods.md E): trainable / all parameters of the whole
instantiated model (backbone with resized vocabulary, visual projection, every added PET module,
other tasks' copies included), each tensor counted once (``parameters()`` deduplicates)."""

from __future__ import annotations

from torch import nn


def count_parameters(model: nn.Module) -> tuple[int, int, float]:
    """``(trainable, total, percent)`` over the deduplicated ``model.parameters()``."""
    trainable = total = 0
    for p in model.parameters():
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return trainable, total, (100.0 * trainable / total if total else 0.0)
