"""The registry: exact method names, paper defaults per backbone, overrides and their errors, and
``vlpeft params``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pet_helpers import tiny, tiny_with

from vlpeft.cli import main
from vlpeft.pet import METHODS, apply_method, method_config

ROOT = Path(__file__).resolve().parents[2]


def test_every_registry_name_applies_and_the_default_config_trains_each():
    """Each name builds its method (recorded under that name, something trainable, not everything), and
    the full demo grid's image group lists exactly the registry's methods (the papers' table rows)."""
    for name in METHODS:
        model = tiny("bart")
        apply_method(model, name, ["vqa", "gqa"])
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        assert model.pet_info["method"] == name and 0 < trainable, name
        assert trainable < sum(p.numel() for p in model.parameters()) or name == "full_finetuning", name
    full = yaml.safe_load((ROOT / "config" / "demo_full.yaml").read_text())
    assert sorted(full["groups"]["image"]["methods"]) == sorted(METHODS)


def test_every_method_records_lr_and_task_prompt():
    for name in METHODS:
        for arch in ("bart", "t5"):
            cfg = method_config(name, arch, {})
            assert cfg["lr"] > 0 and isinstance(cfg["use_task_prompt"], bool)


def test_vl_pet_defaults_depend_on_the_backbone():
    bart, t5 = method_config("vl_pet_large", "bart", {}), method_config("vl_pet_large", "t5", {})
    assert (bart["r"], bart["gate_dim"], bart["num_heads"], bart["scale"], bart["zero_init"]) == (96, 96, 4, 1.0, False)
    assert (t5["r"], t5["gate_dim"], t5["scale"], t5["zero_init"], t5["lr"]) == (192, 192, 0.3, True, 3e-4)
    assert bart["lr"] == 1e-3 and bart["use_task_prompt"]
    assert not method_config("adapter_multiple", "bart", {})["use_task_prompt"]  # F4
    assert method_config("adapter_single", "bart", {})["use_task_prompt"]


def test_overrides_are_coerced_and_checked():
    cfg = method_config("lora_single", "bart", {"r": "64", "dropout": "0.2", "train_biases": "false"})
    assert (cfg["r"], cfg["dropout"], cfg["train_biases"]) == (64, 0.2, False)
    with pytest.raises(ValueError, match=r"'gate_dim'.*'vl_pet_small'"):
        method_config("vl_pet_small", "bart", {"gate_dim": 8})
    with pytest.raises(ValueError, match=r"'r'.*expects a int"):
        method_config("lora_single", "bart", {"r": 1.5})
    with pytest.raises(ValueError, match="unknown PET method 'lora'"):
        method_config("lora", "bart", {})


def test_override_changes_the_model():
    model = tiny_with("bart", "adapter_single", overrides={"reduction_factor": 4})
    assert model.backbone.model.encoder.layers[0].fc2.adapter.per_task["vqa"].down.out_features == 32 // 4
    assert model.pet_info["config"]["reduction_factor"] == 4


def test_apply_twice_or_without_tasks_fails():
    model = tiny_with("bart", "bitfit")
    with pytest.raises(ValueError, match="already applied"):
        apply_method(model, "bitfit", ["vqa"])
    with pytest.raises(ValueError, match="tasks"):
        apply_method(tiny("bart"), "adapter_single", [])


def test_cli_params_json(capsys):
    assert (
        main(["params", "--backbone", "tiny-t5", "--method", "vl_pet_small", "--method-override", "r=8", "--json"]) == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["method"] == "vl_pet_small" and rows[0]["tasks"] == "image"
    assert 0 < rows[0]["trainable"] < rows[0]["total"]


def test_cli_params_bad_setting(capsys):
    assert main(["params", "--backbone", "tiny-bart", "--method", "bitfit", "--method-override", "nope=1"]) == 1
    assert "'nope'" in capsys.readouterr().err


def test_t5_baseline_lrs_come_from_lst():
    """VL-PET's T5 baseline rows come from LST's VL-T5/scripts/image/*.sh (docs/methods.md B.3)."""
    from vlpeft.pet import method_config

    lst = {"adapter_single": 3e-4, "lora_single": 3e-4, "prompt_single": 3e-3, "bitfit": 3e-3, "full_finetuning": 1e-4}
    assert {m: method_config(m, "t5")["lr"] for m in lst} == lst
    assert {m: method_config(m, "bart")["lr"] for m in lst} == {
        "adapter_single": 1e-3,
        "lora_single": 1e-3,
        "prompt_single": 1e-3,
        "bitfit": 1e-3,
        "full_finetuning": 1e-4,
    }
