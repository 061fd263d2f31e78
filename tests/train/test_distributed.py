"""Two gloo processes under torchrun on CPU: DDP over the trainable parameters, rank 0 writes; the
same run in one process is the reference (same start, the same batch list sharded, the schedule over
the DDP run's own steps)."""

import json
import os
import subprocess
import sys

import pytest
from safetensors import safe_open


def _train_args(world, out, *extra):
    return [
        "train",
        "--data",
        str(world["data"]),
        "--features-image",
        str(world["image"]),
        "--backbone",
        str(world["t5"]),
        "--method",
        "adapter_multiple",
        "--group",
        "image",
        "--seed",
        "3",
        "--out",
        str(out),
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--device",
        "cpu",
        "--checkpoint-every",
        "2",
        "--no-progress",
        "--threads",
        "1",
        *extra,
    ]


def _run(cmd):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _log(out):
    return [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines()]


def _shapes(path):
    with safe_open(str(path), framework="pt") as f:
        return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118 (safe_open is no dict)


@pytest.mark.slow
def test_two_process_gloo_run(world, tmp_path):
    out = tmp_path / "ddp"
    # as the workflow launches it with train.gpus: 2 (workflow/rules/common.smk, _train_launch)
    _run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "2",
            "--no-python",
            sys.executable,
            "-m",
            "vlpeft",
            *_train_args(world, out),
        ]
    )
    # 13 batches in the epoch (COCO: one example per reference), padded to 14 and split over 2
    # ranks: 7 steps, logged once (rank 0)
    log = [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(1, 8))
    with safe_open(str(out / "adapter.safetensors"), framework="pt") as f:
        names = list(f.keys())
    assert any("adapter" in n for n in names) and any("visual_embedding" in n for n in names)
    assert not (out / "checkpoint").exists()
    assert sorted(p.name for p in out.iterdir()) == ["adapter.safetensors", "run.json", "train_log.jsonl"]

    # the same run in one process: 13 steps over the same batch list
    single = tmp_path / "single"
    _run([sys.executable, "-m", "vlpeft", *_train_args(world, single)])
    ddp_log, one_log = _log(out), _log(single)
    assert [r["step"] for r in one_log] == list(range(1, 14))
    # rank 0 takes batches 0, 2, 4, ... of the same shuffled list (rank 1 the odd ones)
    assert [r["task"] for r in ddp_log] == [r["task"] for r in one_log[0::2]]
    # the same start: step 1 is the same batch on the same initial weights
    assert ddp_log[0]["loss"] == pytest.approx(one_log[0]["loss"], rel=1e-6, abs=1e-6)
    # the run's identity does not depend on the number of processes; the adapter holds the same tensors
    assert json.loads((out / "run.json").read_text()) == json.loads((single / "run.json").read_text())
    assert _shapes(out / "adapter.safetensors") == _shapes(single / "adapter.safetensors")
    # the DDP run's schedule spans its own 7 steps: the lr of one process stopped after 7 steps
    seven = tmp_path / "seven"
    _run([sys.executable, "-m", "vlpeft", *_train_args(world, seven, "--max-steps", "7")])
    assert [r["lr"] for r in ddp_log] == [r["lr"] for r in _log(seven)]
    assert [r["lr"] for r in ddp_log] != [r["lr"] for r in one_log[:7]]  # not the 13-step schedule
