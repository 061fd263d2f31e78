"""Every method x {t5, bart}: the intended parameters train, the rest stays bit-identical; task
routing and sharing; zero-initialised modules leave the backbone unchanged where the method says so."""

from __future__ import annotations

import pytest
import torch
from pet_helpers import (
    ALL_METHODS,
    MULTIPLE,
    TASKS,
    batch,
    belongs_to_other_task,
    expected_trainable,
    is_pet_name,
    logits,
    loss,
    tiny,
    tiny_with,
)

from vlpeft.constants import ARCHS
from vlpeft.pet.vl_pet import GatedModification

torch.set_num_threads(1)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("method", ALL_METHODS)
def test_exactly_intended_parameters_train(method, arch):
    model = tiny_with(arch, method)
    named = dict(model.named_parameters())
    wrong = [n for n, p in named.items() if p.requires_grad != expected_trainable(method, arch, n)]
    assert not wrong, f"requires_grad differs from the methods.md rule for: {wrong[:8]}"

    before = {n: p.detach().clone() for n, p in named.items()}
    opt = torch.optim.AdamW([p for p in named.values() if p.requires_grad], lr=1e-2)
    model.train()
    loss(model, "vqa").backward()
    opt.step()

    for n, p in named.items():
        used = p.requires_grad and not belongs_to_other_task(n)
        assert (p.grad is not None) == used, f"{n}: grad {'missing' if used else 'unexpected'}"
        if not p.requires_grad or belongs_to_other_task(n):
            assert torch.equal(p.detach(), before[n]), f"{n} changed although it should not train on vqa"
    assert any(not torch.equal(p.detach(), before[n]) for n, p in named.items() if p.requires_grad)


SHARED_ACROSS_TASKS = {m for m in ALL_METHODS if m not in MULTIPLE and m not in ("full_finetuning", "bitfit")}


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("method", sorted(MULTIPLE | SHARED_ACROSS_TASKS))
def test_step_on_one_task_changes_other_task_only_when_shared(method, arch):
    model = tiny_with(arch, method)
    pet = [p for n, p in model.named_parameters() if p.requires_grad and is_pet_name(n)]
    assert pet
    a0, b0 = logits(model, "vqa"), logits(model, "gqa")
    opt = torch.optim.AdamW(pet, lr=1e-2)
    model.train()
    loss(model, "vqa").backward()
    opt.step()
    a1, b1 = logits(model, "vqa"), logits(model, "gqa")
    assert not torch.equal(a0, a1), "the step on vqa did not change vqa's output"
    if method in MULTIPLE:
        assert torch.equal(b0, b1), "a per-task method changed another task's output"
    else:
        assert not torch.equal(b0, b1), "a shared module did not carry the vqa step over to gqa"


def test_unknown_task_is_a_clear_error():
    model = tiny_with("bart", "adapter_multiple")
    with pytest.raises(KeyError, match="caption"):
        logits(model, "caption")


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("method", ["lora_single", "lora_multiple"])
def test_lora_b_zero_leaves_output_unchanged(method, arch):
    reference = logits(tiny(arch), "vqa")
    assert torch.equal(logits(tiny_with(arch, method), "vqa"), reference)


@pytest.mark.parametrize("gate", ["small", "middlex", "middley", "large"])
def test_t5_vl_pet_zero_init(gate):
    """T5 zero-inits ΔH's up-projection, the gate's last layer and the decoder VPA's up (B.2 Init):
    ΔH = 0 and VPA = 0; the gate starts at σ(0) = 0.5 (G = 1 for middleY), scaled by s."""
    model = tiny_with("t5", f"vl_pet_{gate}")
    modules = [m for m in model.modules() if isinstance(m, GatedModification)]
    assert len(modules) == 2 * model.config.num_layers
    x, h = torch.randn(2, 5, 32), torch.randn(2, 5, 32)
    for m in modules:
        assert torch.equal(m.delta(h), torch.zeros_like(h))
        expected = 1.0 if gate == "middley" else 0.5
        assert torch.allclose(m(x, h), m.scale * expected * h)


def test_t5_vl_pet_middley_with_s1_is_the_backbone_at_init():
    reference = logits(tiny("t5"), "vqa")
    model = tiny_with("t5", "vl_pet_middley", overrides={"scale": 1.0})
    assert torch.equal(logits(model, "vqa"), reference)
    # with the paper's s = 0.3 the encoder output is scaled, so the output differs
    assert not torch.allclose(logits(tiny_with("t5", "vl_pet_middley"), "vqa"), reference)


def test_bart_vl_pet_is_not_zero_initialised():
    reference = logits(tiny("bart"), "vqa")
    assert not torch.allclose(logits(tiny_with("bart", "vl_pet_small"), "vqa"), reference)


def test_generate_routes_by_task():
    model = tiny_with("t5", "prompt_multiple")
    ids, mask, vis, _ = batch()
    out = model.generate(ids, mask, vis, "gqa", max_new_tokens=3, num_beams=2)
    assert out.shape[0] == 2 and TASKS[1] == model.task_context.task
