"""Input-level prompt tuning with an MLP reparameterisation (docs/methods.md B.1.5): per task (or one
shared) ``Embedding(40, d) -> Linear(d, 800) -> Tanh -> Linear(800, d)``, prepended to the encoder
input by the model (``VLModel.prompt``). Our own module: PEFT's prompt tuning prepends to the
whole ``inputs_embeds`` and has no per-task routing, so it cannot express the VL-Adapter placement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from .base import PETModule, d_model, init_linear_, new_module_std, per_task_modules

if TYPE_CHECKING:  # annotations only
    from vlpeft.models.vl import VLModel


class InputPrompt(PETModule):
    def __init__(self, length: int, d: int, mid: int, init_std: float | None):
        super().__init__()
        self.embedding = nn.Embedding(length, d)
        first, second = nn.Linear(d, mid), nn.Linear(mid, d)
        self.mlp = nn.Sequential(first, nn.Tanh(), second)
        if init_std is not None:  # None: PyTorch defaults, as on VL-T5 (docs/methods.md B.4)
            nn.init.normal_(self.embedding.weight, std=init_std)
        init_linear_(first, init_std)
        init_linear_(second, init_std)

    def forward(self, batch_size: int) -> torch.Tensor:
        return self.mlp(self.embedding.weight).unsqueeze(0).expand(batch_size, -1, -1)


class TaskPrompts(PETModule):
    """``prompt(task, batch_size) -> (B, P, d)``: the contract of ``VLModel.prompt``."""

    def __init__(self, per_task: dict[str, nn.Module]):
        super().__init__()
        self.per_task = nn.ModuleDict(per_task)

    def forward(self, task: str, batch_size: int) -> torch.Tensor:
        if task not in self.per_task:
            raise KeyError(f"prompt tuning has no prompt for task {task!r} (known tasks: {sorted(self.per_task)})")
        return self.per_task[task](batch_size)


def apply(model: VLModel, cfg: dict, tasks: list[str]) -> None:
    if cfg["sharing"] not in ("single", "multiple"):
        raise ValueError(f"prompt sharing must be 'single' or 'multiple', got {cfg['sharing']!r}")
    d = d_model(model.backbone)
    std = new_module_std(model, cfg)
    make = lambda: InputPrompt(cfg["prompt_len"], d, cfg["mid_dim"], std)  # noqa: E731
    model.prompt = TaskPrompts(per_task_modules(tasks, make, shared=cfg["sharing"] == "single"))
