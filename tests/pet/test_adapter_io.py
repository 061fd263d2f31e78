"""save_adapter / load_adapter: only trainable tensors, exact round trip, deterministic bytes,
clear errors on a wrong backbone, method, config or file."""

from __future__ import annotations

import pytest
import torch
from pet_helpers import ALL_METHODS, logits, loss, tiny_with
from safetensors import safe_open

from vlpeft.pet import count_parameters, load_adapter, save_adapter

torch.set_num_threads(1)


def _trained(arch: str, method: str):
    model = tiny_with(arch, method, pet_seed=5)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    loss(model, "vqa").backward()
    opt.step()
    return model


@pytest.mark.parametrize("arch", ["bart", "t5"])
@pytest.mark.parametrize("method", ALL_METHODS)
def test_round_trip_is_exact_and_small(tmp_path, method, arch):
    model = _trained(arch, method)
    path = tmp_path / "adapter.safetensors"
    save_adapter(path, model, {"seed": 42})
    fresh = tiny_with(arch, method, pet_seed=6)  # same frozen backbone, different PET init
    header = load_adapter(path, fresh)
    assert header["method"] == method and header["meta"] == {"seed": 42}
    for task in ("vqa", "gqa"):
        assert torch.equal(logits(fresh, task), logits(model, task))
    trainable, total, _ = count_parameters(model)
    with safe_open(str(path), framework="pt") as f:
        stored = sum(f.get_tensor(k).numel() for k in f.keys())
    assert stored == trainable  # shared tensors once, frozen ones never
    assert path.stat().st_size < 4 * trainable + 64 * 1024
    if method != "full_finetuning":
        assert trainable < total


def test_bytes_are_deterministic(tmp_path):
    model = _trained("bart", "adapter_half_shared")
    save_adapter(tmp_path / "a.safetensors", model, {"seed": 1})
    save_adapter(tmp_path / "b.safetensors", model, {"seed": 1})
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()
    assert [p.name for p in tmp_path.iterdir()] and not list(tmp_path.glob(".*"))  # no temp file left


def test_wrong_arch_method_config_or_backbone_is_a_clear_error(tmp_path):
    path = tmp_path / "single.safetensors"
    save_adapter(path, tiny_with("bart", "adapter_single"), {})
    with pytest.raises(ValueError, match=r"single\.safetensors.*arch mismatch"):
        load_adapter(path, tiny_with("t5", "adapter_single"))
    with pytest.raises(ValueError, match=r"single\.safetensors.*method mismatch"):
        load_adapter(path, tiny_with("bart", "adapter_multiple"))
    with pytest.raises(ValueError, match=r"single\.safetensors.*config mismatch"):
        load_adapter(path, tiny_with("bart", "adapter_single", overrides={"reduction_factor": 4}))
    with pytest.raises(ValueError, match=r"single\.safetensors.*backbone_fingerprint mismatch"):
        load_adapter(path, tiny_with("bart", "adapter_single", encoder_layers=3))
    # dropout is not part of the backbone's identity
    load_adapter(path, tiny_with("bart", "adapter_single", dropout=0.0))


def test_missing_or_foreign_file(tmp_path):
    model = tiny_with("bart", "bitfit")
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        load_adapter(tmp_path / "nope.safetensors", model)
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(1)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(ValueError, match="foreign.safetensors.*not a vlpeft adapter"):
        load_adapter(tmp_path / "foreign.safetensors", model)


def test_save_requires_an_applied_method(tmp_path):
    from pet_helpers import tiny

    with pytest.raises(ValueError, match="apply_method"):
        save_adapter(tmp_path / "x.safetensors", tiny("bart"), {})
