"""Two gloo processes under torchrun on CPU: DDP over the trainable parameters, rank 0 writes."""

import json
import os
import subprocess
import sys

import pytest
from safetensors import safe_open


@pytest.mark.slow
def test_two_process_gloo_run(world, tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "vlpeft.cli", "train", "--data", str(world["data"]), "--features-image", str(world["image"]),
           "--backbone", str(world["t5"]), "--method", "adapter_multiple", "--group", "image",
           "--seed", "3", "--out", str(out), "--epochs", "1", "--batch-size", "4", "--device", "cpu",
           "--checkpoint-every", "2", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # 13 batches in the epoch (COCO: one example per reference), padded to 14 and split over 2
    # ranks: 7 steps, logged once (rank 0)
    log = [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(1, 8))
    with safe_open(str(out / "adapter.safetensors"), framework="pt") as f:
        names = list(f.keys())
    assert any("adapter" in n for n in names) and any("visual_embedding" in n for n in names)
    assert not (out / "checkpoint").exists()
    assert sorted(p.name for p in out.iterdir()) == ["adapter.safetensors", "run.json", "train_log.jsonl"]
