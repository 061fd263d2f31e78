import math

import pytest
import torch
from torch import nn
from transformers.models.t5.modeling_t5 import T5LayerNorm

from vlpeft.train.optim import build_optimizer, build_scheduler, decay_split, sequence_loss


class Block(nn.Module):
    """Names as in BART/T5 (``*layer_norm``) and in BERT (``LayerNorm``)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.self_attn_layer_norm = nn.LayerNorm(4)
        self.final_layer_norm = T5LayerNorm(4)
        self.LayerNorm = nn.LayerNorm(4)
        self.frozen = nn.Linear(4, 4)
        self.frozen.requires_grad_(False)


def test_no_decay_quirk_decays_layer_norm_weights():
    decay, no_decay = decay_split(Block())
    # "LayerNorm.weight" / "bias" substrings only: BART/T5 LN weights ARE decayed (quirk F5)
    assert decay == ["fc.weight", "self_attn_layer_norm.weight", "final_layer_norm.weight"]
    assert no_decay == ["fc.bias", "self_attn_layer_norm.bias", "LayerNorm.weight", "LayerNorm.bias"]


def test_fix_no_decay_exempts_every_norm():
    decay, no_decay = decay_split(Block(), fix_no_decay=True)
    assert decay == ["fc.weight"]
    assert set(no_decay) == {
        "fc.bias",
        "self_attn_layer_norm.weight",
        "self_attn_layer_norm.bias",
        "final_layer_norm.weight",
        "LayerNorm.weight",
        "LayerNorm.bias",
    }


def test_optimizer_settings():
    opt = build_optimizer(Block(), lr=1e-3)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.01, 0.0]
    assert all(g["eps"] == 1e-6 and tuple(g["betas"]) == (0.9, 0.999) for g in opt.param_groups)
    assert opt.defaults["fused"] is True  # the CPU's fused kernel (CUDA: torch's default, as the official scripts)


def test_fused_cpu_step_matches_the_per_tensor_adamw():
    torch.manual_seed(0)
    model = Block()
    twin = Block()
    twin.load_state_dict(model.state_dict())
    ours = build_optimizer(twin, lr=1e-2)
    params, (decay, no_decay) = dict(model.named_parameters()), decay_split(model)
    ref_all = torch.optim.AdamW(
        [
            {"params": [params[n] for n in decay], "weight_decay": 0.01},
            {"params": [params[n] for n in no_decay], "weight_decay": 0.0},
        ],
        lr=1e-2,
        betas=(0.9, 0.999),
        eps=1e-6,
        foreach=False,
    )
    x = torch.randn(8, 4)
    for _ in range(5):
        for m, opt in ((model, ref_all), (twin, ours)):
            opt.zero_grad()
            (m.LayerNorm(m.final_layer_norm(m.self_attn_layer_norm(m.fc(x)))) ** 2).sum().backward()
            opt.step()
    for (name, a), b in zip(model.named_parameters(), twin.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)


def test_optimizer_refuses_a_frozen_model():
    frozen = nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable"):
        build_optimizer(frozen, lr=1e-3)


def test_schedule_warms_up_then_decays_to_zero():
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=2.0)
    sched = build_scheduler(opt, total_steps=20, warmup_ratio=0.1)  # 2 warm-up steps
    lrs = []
    for _ in range(20):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    assert lrs[:4] == [0.0, 1.0, 2.0, pytest.approx(2.0 * 17 / 18)]
    assert lrs[-1] == pytest.approx(2.0 / 18) and sched.get_last_lr()[0] == 0.0
    assert all(a >= b for a, b in zip(lrs[2:], lrs[3:]))


def test_loss_is_per_sequence_mean_times_weight_then_batch_mean():
    # two sequences, vocab 2: seq 0 has 2 real tokens, seq 1 one token + padding
    logits = torch.tensor([[[0.0, 0.0], [math.log(3.0), 0.0]], [[0.0, math.log(3.0)], [5.0, -5.0]]])
    labels = torch.tensor([[0, 1], [1, -100]])
    weights = torch.tensor([1.0, 0.3])
    ce_00, ce_01 = math.log(2.0), math.log(4.0)  # p=1/2; p(1) = 1/(3+1)
    ce_10 = math.log(4.0 / 3.0)  # p(1) = 3/4
    expected = ((ce_00 + ce_01) / 2 * 1.0 + ce_10 / 1 * 0.3) / 2
    assert sequence_loss(logits, labels, weights).item() == pytest.approx(expected, rel=1e-6)
    # unweighted: padding never counts and short sequences are not down-weighted by length
    assert sequence_loss(logits, labels).item() == pytest.approx(((ce_00 + ce_01) / 2 + ce_10) / 2, rel=1e-6)
