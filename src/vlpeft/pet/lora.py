"""LoRA on the query and value projections of every attention (docs/methods.md B.1.4), through Hugging
Face PEFT: ``inject_adapter_in_model`` once ("single": one adapter) or once per task ("multiple").

Routing "multiple" by task: a forward pre-hook on each LoRA layer passes PEFT's own per-sample
``adapter_names`` argument, so every forward uses the current task's adapter without PEFT's
``set_adapter`` (which would flip ``requires_grad`` of the other tasks' adapters).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only
    from vlpeft.models.vl import VLModel

TARGETS = {"bart": ["q_proj", "v_proj"], "t5": ["q", "v"]}
SINGLE = "single"


class _RouteByTask:
    """Forward pre-hook: ``adapter_names = [ctx.task] * batch`` (a class, so deepcopy keeps its ctx)."""

    def __init__(self, ctx, known: list[str]):
        self.ctx, self.known = ctx, known

    def __call__(self, module, args, kwargs):
        task = getattr(self.ctx, "task", None)
        if task not in self.known:
            raise KeyError(f"LoRA has no adapter for task {task!r} (known tasks: {self.known})")
        x = args[0] if args else kwargs["input"]
        kwargs["adapter_names"] = [task] * x.shape[0]
        return args, kwargs


def apply(model: VLModel, cfg: dict, tasks: list[str]) -> None:
    from peft import LoraConfig, inject_adapter_in_model  # imported here: peft costs seconds to import
    from peft.tuners.lora import LoraLayer

    backbone = model.backbone
    config = LoraConfig(
        r=cfg["r"],
        lora_alpha=cfg["alpha"],
        lora_dropout=cfg["dropout"],
        target_modules=TARGETS[model.arch],
        bias="none",
    )
    single = cfg["sharing"] == "single"
    if cfg["sharing"] not in ("single", "multiple"):
        raise ValueError(f"LoRA sharing must be 'single' or 'multiple', got {cfg['sharing']!r}")
    for name in [SINGLE] if single else tasks:
        with warnings.catch_warnings():  # one adapter per task is the point of "multiple"
            warnings.filterwarnings("ignore", message="Already found a `peft_config`")
            inject_adapter_in_model(config, backbone, adapter_name=name)
    if not single:
        for module in backbone.modules():
            if isinstance(module, LoraLayer):
                module.register_forward_pre_hook(_RouteByTask(model.task_context, list(tasks)), with_kwargs=True)


def is_lora_parameter(name: str) -> bool:
    return "lora_" in name
