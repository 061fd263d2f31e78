"""Training end to end on the tiny world: logs, resume bit-identity, checkpoint checks."""

import json
from pathlib import Path

import pytest
import torch
from tinyworld import image_train_config

from vlpeft.train import RunSpec, TrainConfig, train_run
from vlpeft.train import checkpoint as ckpt


class Killed(Exception):
    pass


def _cfg(world, out, **kw) -> TrainConfig:
    run = RunSpec(group="image", backbone="t5", method=kw.pop("method", "adapter_single"), seed=3)
    return image_train_config(world, out, run, **{"epochs": 2, **kw})


def _kill_at(step: int):
    def hook(s: int) -> None:
        if s == step:
            raise Killed(f"killed after step {s}")

    return hook


def _files(out: Path) -> dict[str, bytes]:
    return {p: (out / p).read_bytes() for p in ("adapter.safetensors", "train_log.jsonl", "run.json")}


def test_resume_is_bit_identical(world, tmp_path):
    ref = tmp_path / "ref"
    train_run(_cfg(world, ref, val_every=1))
    log = [json.loads(x) for x in (ref / "train_log.jsonl").read_text().splitlines()]
    steps = [r for r in log if "step" in r]
    # 6 train rows per task, B=4: vqa 4 -> 2 batches, gqa 6 -> 1, nlvr 1 -> 6, caption 3 -> 4
    # (COCO captioning trains on one example per reference: 6 images x 2 references)
    assert [r["step"] for r in steps] == list(range(1, 27))
    assert {r["task"] for r in steps} == {"vqa", "gqa", "nlvr", "caption"}
    assert [(r["epoch"], r["task"]) for r in log if r.get("split") == "val"] == [
        (e, t) for e in (0, 1) for t in ("vqa", "gqa", "nlvr", "caption")
    ]
    assert steps[0]["lr"] == 0.0 and max(r["lr"] for r in steps) == pytest.approx(3e-4)  # T5 adapter lr (LST)
    assert not (ref / "checkpoint").exists()

    # A: killed 2 steps after the checkpoint of step 8, then right after the one of step 12
    out = tmp_path / "a"
    for kill in (10, 12):
        with pytest.raises(Killed):
            train_run(_cfg(world, out, val_every=1, checkpoint_every=4), on_step=_kill_at(kill))
        assert ckpt.latest_checkpoint(out / "checkpoint").name == f"step_{kill // 4 * 4:09d}"
        assert not (out / "adapter.safetensors").exists()
    train_run(_cfg(world, out, val_every=1, checkpoint_every=4))
    assert _files(out) == _files(ref)
    assert not (out / "checkpoint").exists()
    # B: the checkpoint of step 13 is the end of epoch 0, taken before that epoch's validation ran
    out = tmp_path / "b"
    with pytest.raises(Killed):
        train_run(_cfg(world, out, val_every=1, checkpoint_every=13), on_step=_kill_at(13))
    train_run(_cfg(world, out, val_every=1, checkpoint_every=13))
    assert _files(out) == _files(ref)


def test_checkpoint_of_other_config_is_refused(world, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(Killed):
        train_run(_cfg(world, out, checkpoint_every=2, max_steps=5), on_step=_kill_at(3))
    with pytest.raises(ValueError, match="lr"):
        train_run(_cfg(world, out, checkpoint_every=2, max_steps=5, lr=0.5))


def test_max_steps_and_multiple_method(world, tmp_path):
    out = tmp_path / "run"
    train_run(_cfg(world, out, method="adapter_multiple", max_steps=3))
    log = (out / "train_log.jsonl").read_text().splitlines()
    assert len(log) == 3 and json.loads(log[-1])["lr"] > 0  # schedule laid over the 3 steps
    assert json.loads((out / "run.json").read_text())["method"] == "adapter_multiple"


def test_lr_scale_multiplies_the_paper_lr(world, tmp_path):
    peaks = {}
    for scale in (1.0, 10.0):
        out = tmp_path / f"x{scale}"
        train_run(_cfg(world, out, max_steps=4, warmup_ratio=0.0, lr_scale=scale))
        peaks[scale] = json.loads((out / "train_log.jsonl").read_text().splitlines()[0])["lr"]
    assert peaks[1.0] == pytest.approx(3e-4)  # adapter_single's paper lr on T5 (LST)
    assert peaks[10.0] == pytest.approx(3e-3)
    with pytest.raises(ValueError, match="lr-scale"):
        train_run(_cfg(world, tmp_path / "bad", max_steps=1, lr_scale=0.0))


def test_checkpoint_roundtrip_keeps_types(tmp_path):
    state = {"a": (1, 2.5, None), 3: [torch.arange(3), {"x": True}], "s": "t"}
    tensors = {}
    enc = ckpt._encode(state, tensors, "root")
    json.dumps(enc)  # JSON-able
    dec = ckpt._decode(json.loads(json.dumps(enc)), tensors)
    assert dec["a"] == (1, 2.5, None) and dec["s"] == "t" and dec[3][1] == {"x": True}
    assert torch.equal(dec[3][0], torch.arange(3))
