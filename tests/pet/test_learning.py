"""Every method x {t5, bart}: after a few optimiser steps on real inputs, every trainable tensor has
changed (docs/methods.md B.4, item "zero-init leaves a path for the gradient"), except the tensors
the official code also leaves untouched, listed here with the reason."""

from __future__ import annotations

import pytest
import torch
from pet_helpers import ALL_METHODS, TASKS, loss, tiny_with

from vlpeft.constants import ARCHS
from vlpeft.pet.phm import PHMLinear
from vlpeft.pet.vl_pet import GatedModification

torch.set_num_threads(1)

# The box-position projection reads all-zero boxes for CLIP grids and video features (docs/methods.md
# D), so its weight gets an exactly zero gradient in the official code too (its bias and LN learn).
NEVER_MOVES = {"visual_embedding.absolute_vis_pos_embedding.0.weight"}


def _train(model, steps: int = 3) -> None:
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-2, weight_decay=0.0)  # no decay: only a gradient can move a tensor
    model.train()
    for step in range(steps):
        for task in TASKS:  # every task, so per-task ("multiple") modules get their steps too
            opt.zero_grad(set_to_none=True)
            loss(model, task, seed=step + 1).backward()
            opt.step()


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("method", ALL_METHODS)
def test_every_trainable_tensor_learns(method, arch):
    model = tiny_with(arch, method)
    named = {n: p for n, p in model.named_parameters() if p.requires_grad}
    before = {n: p.detach().clone() for n, p in named.items()}
    _train(model)
    unchanged = sorted(n for n, p in named.items() if torch.equal(p.detach(), before[n]))
    assert unchanged == sorted(NEVER_MOVES & set(named)), f"{method} on {arch}: these never moved: {unchanged}"


@pytest.mark.parametrize("gate", ["small", "large"])
def test_t5_phm_zero_init_keeps_the_rule(gate):
    """compacter_g_*_lw on T5: the zero-initialised PHM up-projections output zero (B and bias are
    zero) but keep their random rule, so B gets a gradient at the first step."""
    model = tiny_with("t5", f"compacter_g_{gate}_lw")
    ups = [m.delta.up for m in model.modules() if isinstance(m, GatedModification)]
    assert ups and all(isinstance(u, PHMLinear) for u in ups)
    for up in ups:
        assert torch.count_nonzero(up.W) == 0 and torch.count_nonzero(up.b) == 0
        assert torch.count_nonzero(up.phm_rule) == up.phm_rule.numel()
    loss(model, "vqa").backward()
    assert all(torch.count_nonzero(u.W.grad) > 0 for u in ups)


def test_phm_init_is_glorot_uniform_with_gain_sqrt2():
    """Official inits.py: xavier_uniform_(W[i], gain=sqrt(2)), bound = sqrt(2) * sqrt(6 / (fan_in + fan_out))."""
    torch.manual_seed(0)
    layer = PHMLinear(64, 32, n=2)
    bound = 2**0.5 * (6 / (32 + 16)) ** 0.5
    w = layer.W.detach()
    assert float(w.abs().max()) <= bound
    assert float(w.abs().max()) > 0.9 * bound  # without the gain, every entry would stay below bound / sqrt(2)


def test_t5_bitfit_trains_relative_attention_bias():
    """VL-PET's --unfreeze_bias trains every name containing "bias": on a stock T5 (no Linear biases)
    that is the relative position bias of the first encoder and decoder block (docs/methods.md B.3)."""
    model = tiny_with("t5", "bitfit")
    backbone = sorted(n for n, p in model.named_parameters() if p.requires_grad and n.startswith("backbone."))
    assert backbone == [
        "backbone.decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
        "backbone.encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
    ]


def _std(t: torch.Tensor) -> float:
    return float(t.detach().float().std())


def test_init_follows_the_backbone_init_rule():
    """BART's _init_weights re-initialises every Linear/Embedding a method adds N(0, 0.02) with zero
    bias; VL-T5's skips them, so they keep PyTorch's defaults (docs/methods.md B.4)."""
    bart = tiny_with("bart", "adapter_single")
    t5 = tiny_with("t5", "adapter_single")
    lin = lambda m: [x for n, x in m.named_modules() if n.endswith(".adapter.per_task.vqa.down")][0]  # noqa: E731
    assert torch.count_nonzero(lin(bart).bias) == 0 and abs(_std(lin(bart).weight) - 0.02) < 0.005
    assert torch.count_nonzero(lin(t5).bias) > 0  # PyTorch default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    bound = 1 / lin(t5).in_features ** 0.5
    assert float(lin(t5).bias.detach().abs().max()) <= bound
    prompt_t5 = tiny_with("t5", "prompt_single").prompt.per_task["vqa"]
    assert abs(_std(prompt_t5.embedding.weight) - 1.0) < 0.2  # nn.Embedding default N(0, 1)
    assert torch.count_nonzero(prompt_t5.mlp[0].bias) > 0


def test_hyperformer_init_per_backbone():
    """Hyperformer: BART's _init_weights makes the hyper-network Linears and the layer-id embedding
    N(0, 0.02); on T5 they keep their construction init, N(0, 0.01) Linears and an N(0, 1) embedding."""
    from vlpeft.pet.hyperformer import HyperController

    for arch, lin_std, emb_std in (("bart", 0.02, 0.02), ("t5", 0.01, 1.0)):
        ctrl = next(m for m in tiny_with(arch, "hyperformer").modules() if isinstance(m, HyperController))
        gen = next(iter(ctrl.generators.values())).up_weight
        assert abs(_std(gen.weight) - lin_std) < 0.2 * lin_std, arch
        assert torch.count_nonzero(gen.bias) == 0
        assert abs(_std(ctrl.layer_embeddings) - emb_std) < 0.2 * emb_std, arch
