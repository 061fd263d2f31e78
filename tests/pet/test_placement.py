"""Where modules go and what they compute, checked against the methods.md formulas on one layer."""

from __future__ import annotations

import torch
from pet_helpers import tiny_with

from vlpeft.pet.adapter import OutputAdapterWrapper
from vlpeft.pet.vl_pet import ParallelAdapterWrapper

torch.set_num_threads(1)


def _count(model, cls):
    return sum(isinstance(m, cls) for m in model.modules())


def test_adapter_sites():
    # 2 layers each: BART/T5 encoder 2 sites per layer, decoder 3 (self, cross, FFN)
    assert _count(tiny_with("bart", "adapter_single"), OutputAdapterWrapper) == 2 * 2 + 3 * 2
    assert _count(tiny_with("t5", "hyperformer"), OutputAdapterWrapper) == 2 * 2 + 3 * 2
    no_cross = tiny_with("bart", "adapter_single", overrides={"cross_attn_adapter": False})
    assert _count(no_cross, OutputAdapterWrapper) == 2 * 2 + 2 * 2
    assert _count(tiny_with("t5", "vl_pet_small"), ParallelAdapterWrapper) == 2


def test_half_shared_shares_the_up_projection_only():
    router = tiny_with("bart", "adapter_half_shared").backbone.model.decoder.layers[1].fc2.adapter
    vqa, gqa = router.per_task["vqa"], router.per_task["gqa"]
    assert vqa.up is gqa.up and vqa.down is not gqa.down


def test_bart_vl_pet_ffn_formula():
    """BART: out = LN(X + Dropout(s * G ⊙ (H + ΔH))) with X the FFN input (eval: no dropout)."""
    model = tiny_with("bart", "vl_pet_middlex", overrides={"scale": 0.7}).eval()
    layer = model.backbone.model.encoder.layers[0]
    pet = layer.fc2.pet
    x = torch.randn(2, 5, 32)
    with torch.no_grad():
        h = layer.fc2.base_layer(layer.activation_fn(layer.fc1.base_layer(x)))
        y = h + pet.delta(h)
        expected = layer.final_layer_norm(x + 0.7 * torch.sigmoid(pet.gate.linear(x + y)) * y)
        # run only the FFN half of the stock layer: fc1 -> act -> fc2 -> residual -> LN
        got = layer.final_layer_norm(x + layer.fc2(layer.activation_fn(layer.fc1(x))))
    assert torch.allclose(got, expected, atol=1e-6)


def test_t5_vl_pet_self_attention_formula():
    """T5: out = X + Dropout(s * G ⊙ (H + ΔH)), H = SelfAttention(LN(X)), G small = mean σ(w[X; Y] + b)."""
    model = tiny_with("t5", "vl_pet_small", overrides={"zero_init": False}).eval()
    sub = model.backbone.encoder.block[0].layer[0]
    x = torch.randn(2, 5, 32)
    with torch.no_grad():
        h = sub.base_layer.SelfAttention(sub.base_layer.layer_norm(x))[0]
        y = h + sub.pet.delta(h)
        g = torch.sigmoid(sub.pet.gate.linear(torch.cat([x, y], -1))).mean(1, keepdim=True)
        expected = x + 0.3 * g * y
        got = sub(x)[0]
    assert torch.allclose(got, expected, atol=1e-6)


def test_vpa_adds_a_parallel_bottleneck_to_the_value():
    model = tiny_with("bart", "vl_pet_large").eval()
    v = model.backbone.model.decoder.layers[0].encoder_attn.v_proj
    e = torch.randn(2, 7, 32)
    with torch.no_grad():
        assert torch.allclose(
            v(e),
            v.base_layer(e) + v.adapter.up(torch.nn.functional.gelu(v.adapter.down(e), approximate="tanh")),
            atol=1e-6,
        )
