"""Hyperformer as the VL-Adapter code configures it (docs/methods.md B.1.2): adapters whose weights a
hyper-network generates from (task embedding, layer-id embedding). Our own implementation: no
installed library provides Hyperformer.

- one 512-d trainable task embedding per task, shared by the encoder and decoder controllers;
- per controller (one for the encoder, one for the decoder): layer-id embeddings, the TaskHyperNet
  ``Linear(1024,128)-ReLU-Linear(128,8)`` + ``LayerNorm(8)``, and separate weight generators per
  block type (self-attn, FFN, and cross-attn in the decoder);
- the generated adapter sits where the sequential adapter sits (B.1.1), with GELU_new and a residual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from .adapter import OutputAdapterWrapper, adapter_kinds
from .base import PETModule, d_model, gelu_new, init_linear_, output_sites, wrap

if TYPE_CHECKING:  # annotations only
    from vlpeft.models.vl import VLModel


class TaskEmbeddings(PETModule):
    """One randomly initialised trainable vector per task."""

    def __init__(self, tasks: list[str], dim: int):
        super().__init__()
        self.emb = nn.ParameterDict({t: nn.Parameter(torch.randn(dim)) for t in tasks})

    def forward(self, task: str) -> torch.Tensor:
        if task not in self.emb:
            raise KeyError(f"hyperformer has no task embedding for task {task!r} (known: {sorted(self.emb)})")
        return self.emb[task]


class WeightGenerator(PETModule):
    """Generates one adapter's down (r x d, r) and up (d x r, d) weights from the projected embedding."""

    def __init__(self, d: int, r: int, proj: int, init_std: float | None):
        super().__init__()
        self.d, self.r = d, r
        self.down_weight = nn.Linear(proj, r * d)
        self.down_bias = nn.Linear(proj, r)
        self.up_weight = nn.Linear(proj, d * r)
        self.up_bias = nn.Linear(proj, d)
        for lin in (self.down_weight, self.down_bias, self.up_weight, self.up_bias):
            init_linear_(lin, init_std)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (
            self.down_weight(z).view(self.r, self.d),
            self.down_bias(z),
            self.up_weight(z).view(self.d, self.r),
            self.up_bias(z),
        )


class HyperController(PETModule):
    """Layer-id embeddings + TaskHyperNet + LN + one weight generator per block type, for one stack."""

    def __init__(
        self, d: int, r: int, num_layers: int, block_types: list[str], cfg: dict, backbone_std: float | None = None
    ):
        super().__init__()
        dim, hidden, proj = cfg["task_embedding_dim"], cfg["task_hidden_dim"], cfg["projected_task_embedding_dim"]
        # Built with N(0, hypernet_init_std) Linears and an nn.Embedding (N(0, 1)) of layer ids; BART's
        # _init_weights then re-initialises both N(0, 0.02); VL-T5's leaves them (docs/methods.md B.4).
        std = cfg["hypernet_init_std"] if backbone_std is None else backbone_std
        self.layer_embeddings = nn.Parameter(
            torch.randn(num_layers, dim) * (1.0 if backbone_std is None else backbone_std)
        )
        first, second = nn.Linear(2 * dim, hidden), nn.Linear(hidden, proj)
        self.task_hypernet = nn.Sequential(first, nn.ReLU(), second)
        for lin in (first, second):
            init_linear_(lin, std)
        self.layer_norm = nn.LayerNorm(proj, eps=1e-6)
        self.generators = nn.ModuleDict({bt: WeightGenerator(d, r, proj, std) for bt in block_types})

    def forward(self, task_embedding: torch.Tensor, layer: int, block_type: str) -> tuple[torch.Tensor, ...]:
        z = torch.cat([task_embedding, self.layer_embeddings[layer]])
        z = self.layer_norm(self.task_hypernet(z))
        return self.generators[block_type](z)


class HyperAdapter(PETModule):
    """The adapter at one site: asks the controller for the current task's weights, then applies them."""

    def __init__(self, ctx, task_embeddings: TaskEmbeddings, controller: HyperController, layer: int, block_type: str):
        super().__init__()
        self.ctx = ctx
        self.task_embeddings = task_embeddings
        self.controller = controller
        self.layer, self.block_type = layer, block_type

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        emb = self.task_embeddings(self.ctx.task)
        down_w, down_b, up_w, up_b = self.controller(emb, self.layer, self.block_type)
        return F.linear(gelu_new(F.linear(h, down_w, down_b)), up_w, up_b)


def apply(model: VLModel, cfg: dict, tasks: list[str]) -> None:
    backbone, ctx = model.backbone, model.task_context
    d = d_model(backbone)
    r = d // cfg["reduction_factor"]
    kinds = adapter_kinds(cfg)
    sites = output_sites(backbone, model.arch, kinds=kinds)
    task_embeddings = TaskEmbeddings(tasks, cfg["task_embedding_dim"])
    controllers = {}
    for stack in ("encoder", "decoder"):
        stack_sites = [s for s in sites if s.stack == stack]
        block_types = sorted({s.kind for s in stack_sites})
        num_layers = 1 + max(s.layer for s in stack_sites)
        controllers[stack] = HyperController(
            d, r, num_layers, block_types, cfg, backbone_std=model.config.init_std if model.arch == "bart" else None
        )
    for site in sites:
        adapter = HyperAdapter(ctx, task_embeddings, controllers[site.stack], site.layer, site.kind)
        wrap(backbone, site.path, lambda base: OutputAdapterWrapper(base, adapter))
