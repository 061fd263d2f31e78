"""count_parameters on the full-size backbones (built under the meta device) equals counts derived
by hand from methods.md B and E."""

from __future__ import annotations

import pytest
import torch

from vlpeft.models import build_model
from vlpeft.pet import apply_method, count_parameters
from vlpeft.tasks import IMAGE_TASKS

D = 768
BART_BASE = 139_420_416 + 200 * D  # public config (E) + 200 added tokens (B.0)
T5_BASE = 222_903_552 + 72 * D  # 32128 -> 32200 rows
# visual projection (D): W_f 2048->768, LN, W_p 5->768, LN, E_img Embedding(2, 768)
VIS_BART = (2048 * D + D) + 2 * D + (5 * D + D) + 2 * D + 2 * D
VIS_T5 = (2048 * D + D) + D + (5 * D + D) + D + 2 * D  # T5 RMS norms have no bias
ADAPTER = D * 96 + 96 + 96 * D + D  # Linear(768, 96) + Linear(96, 768)
BART_LNS = (1 + 2 * 6 + 1 + 3 * 6) * 2 * D  # encoder 13 + decoder 19 LNs, weight and bias


def counts(backbone: str, method: str, overrides=None):
    with torch.device("meta"):
        model = build_model(backbone, feat_dim=2048, from_config=True)
        apply_method(model, method, list(IMAGE_TASKS), overrides)
    return count_parameters(model)


def test_backbones_alone():
    assert counts("bart-base", "full_finetuning")[:2] == (BART_BASE + VIS_BART,) * 2
    assert counts("t5-base", "full_finetuning")[:2] == (T5_BASE + VIS_T5,) * 2


def test_adapter_single_bart():
    added = 30 * ADAPTER
    trainable, total, pct = counts("bart-base", "adapter_single")
    assert (trainable, total) == (added + BART_LNS + VIS_BART, BART_BASE + VIS_BART + added)
    assert round(pct, 2) == 4.18  # VL-Adapter Table 1


def test_adapter_multiple_and_half_shared_bart():
    trainable, total, _ = counts("bart-base", "adapter_multiple")
    assert total == BART_BASE + VIS_BART + 4 * 30 * ADAPTER
    down, up = D * 96 + 96, 96 * D + D
    trainable, total, pct = counts("bart-base", "adapter_half_shared")
    assert total == BART_BASE + VIS_BART + 30 * (4 * down + up)
    assert round(pct, 2) == 8.36


def test_hyperformer_bart():
    generators = 9 * (D * 96) + 9 * D + 9 * (96 * D) + 9 * 96  # Linear(8, k) = 9k
    controller = 6 * 512 + (1024 * 128 + 128) + (128 * 8 + 8) + 2 * 8
    added = 4 * 512 + 2 * controller + (2 + 3) * generators
    trainable, total, pct = counts("bart-base", "hyperformer")
    assert (trainable, total) == (added + BART_LNS + VIS_BART, BART_BASE + VIS_BART + added)
    assert round(pct, 2) == 5.79


def test_compacter_single_bart():
    phm = lambda i, o: 8 + i * o // 2 + o  # noqa: E731  rule 2x2x2, B 2x(i/2)x(o/2), bias
    added = 30 * (phm(D, 96) + phm(96, D))
    trainable, total, pct = counts("bart-base", "compacter_single")
    assert (trainable, total) == (added + BART_LNS + VIS_BART, BART_BASE + VIS_BART + added)
    assert round(pct, 2) == 2.70


def test_lora_single_bart_trains_all_biases():
    lora = 18 * 2 * 128 * (D + D)  # q, v of 6 enc self + 6 dec self + 6 dec cross attentions
    biases = 6 * (4 * D + 3072 + D + 2 * D) + 6 * (8 * D + 3072 + D + 3 * D) + 2 * D
    trainable, total, pct = counts("bart-base", "lora_single")
    assert (trainable, total) == (lora + biases + VIS_BART, BART_BASE + VIS_BART + lora)
    assert round(pct, 2) == 5.93


def test_vl_pet_small_t5():
    delta = D * 192 + 192 + 192 * D + D  # 4 heads of 48 = one Linear(768, 192) in count
    gate = 2 * D + 1
    encoder = 24 * (delta + gate)
    vpa = 12 * ADAPTER
    encoder_lns = 25 * D
    trainable, total, pct = counts("t5-base", "vl_pet_small")
    assert (trainable, total) == (encoder + vpa + encoder_lns + VIS_T5, T5_BASE + VIS_T5 + encoder + vpa)
    assert round(pct, 2) == 4.51  # VL-PET Table 2


def test_vl_pet_large_bart():
    gate = 2 * D * 96 + 96 + D
    added = 12 * (ADAPTER + gate) + 6 * ADAPTER
    trainable, total, pct = counts("bart-base", "vl_pet_large")
    assert (trainable, total) == (added + 13 * 2 * D + VIS_BART, BART_BASE + VIS_BART + added)
    assert round(pct, 2) == 4.16


def test_t5_layer_norm_quirk():
    """Quirk F1: --unfreeze_layer_norms does nothing on T5; fixing it trains all 62 T5 LNs."""
    added = 60 * (D * 192 + 192 + 192 * D + D)  # T5 default: reduction 4 (the LST row, 7.98 %)
    faithful = counts("t5-base", "adapter_single")
    assert faithful[0] == added + VIS_T5 and round(faithful[2], 2) == 7.98
    fixed = counts("t5-base", "adapter_single", {"t5_layer_norms_frozen_quirk": False})
    assert fixed[0] == faithful[0] + (2 * 12 + 1 + 3 * 12 + 1) * D


@pytest.mark.parametrize(
    "method,pct",
    [
        ("prompt_single", 2.00),
        ("bitfit", 1.21),
        ("lora_multiple", 17.71),
        ("compacter_g_small_lw", 2.08),
        ("vl_pet_middley", 2.98),
    ],
)
def test_more_paper_percentages_bart(method, pct):
    assert round(counts("bart-base", method)[2], 2) == pct
