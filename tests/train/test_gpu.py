"""Training and evaluation on CUDA for a few methods on the tiny world (docs/methods.md C.1): fp32 by
default (no autocast), bf16 only when asked for; two identical CUDA runs give the same bytes; a
CUDA run is close to the CPU run. Skipped, with the reason, where no CUDA device is present."""

from __future__ import annotations

import json
import math

import pytest
import torch
from tinyworld import evaluate_tiny, image_train_config

from vlpeft.train import RunSpec, TrainConfig, train_run

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine"),
]

METHODS = ["bitfit", "adapter_single", "compacter_g_large_lw", "vl_pet_middlex", "lora_single", "prompt_single"]


def _cfg(world, out, method: str, device: str, precision: str = "fp32", **kw) -> TrainConfig:
    run = RunSpec(
        group="image", backbone="t5", method=method, seed=5, tasks=["vqa", "nlvr", "caption"], precision=precision
    )
    return image_train_config(world, out, run, epochs=1, lr=1e-2, device=device, **kw)


def _losses(out) -> list[float]:
    return [json.loads(x)["loss"] for x in (out / "train_log.jsonl").read_text().splitlines() if '"step"' in x]


@pytest.mark.parametrize("method", METHODS)
def test_cuda_train_and_evaluate(world, tmp_path, method):
    out = tmp_path / method
    train_run(_cfg(world, out, method, "cuda"))
    losses = _losses(out)
    assert losses and all(math.isfinite(x) for x in losses)
    metrics = evaluate_tiny(world, out, split="val", batch_size=3, device="cuda", meteor=False)
    assert set(metrics["tasks"]) == {"vqa", "nlvr", "caption"} and math.isfinite(metrics["average"])


def test_cuda_fp32_is_deterministic_and_close_to_cpu(world, tmp_path):
    a, b, cpu = tmp_path / "a", tmp_path / "b", tmp_path / "cpu"
    for out, device in ((a, "cuda"), (b, "cuda"), (cpu, "cpu")):
        train_run(_cfg(world, out, "adapter_single", device, max_steps=6))
    assert (a / "adapter.safetensors").read_bytes() == (b / "adapter.safetensors").read_bytes()
    assert _losses(a) == pytest.approx(_losses(cpu), rel=1e-3, abs=1e-4)  # fp32 on both: no autocast on GPU


def test_bf16_is_opt_in_and_recorded(world, tmp_path):
    out = tmp_path / "bf16"
    train_run(_cfg(world, out, "bitfit", "cuda", precision="bf16", max_steps=3))
    assert json.loads((out / "run.json").read_text())["precision"] == "bf16"
    assert all(math.isfinite(x) for x in _losses(out))
