"""Training details that move real-data numbers (docs/methods.md C.3, C.9): COCO captioning trains on
one example per reference sentence, and its loss is the token mean over the whole batch."""

from __future__ import annotations

import math

import pytest
import torch
from tinyworld import evaluate_tiny, image_train_config

from vlpeft.tasks import TASKS
from vlpeft.train.data import training_examples
from vlpeft.train.optim import sequence_loss


def test_coco_caption_trains_on_one_example_per_reference():
    rows = [
        {"id": "img1", "image_id": "img1", "captions": ["A dog. ", " a cat"]},
        {"id": "img2", "image_id": "img2", "captions": ["x", "y", "z"]},
    ]
    examples = training_examples(TASKS["caption"], rows)
    assert [(e["id"], e["image_id"], e["captions"]) for e in examples] == [
        ("img1#0", "img1", ["A dog."]),
        ("img1#1", "img1", ["a cat"]),  # stripped, as sent = raw.strip()
        ("img2#0", "img2", ["x"]),
        ("img2#1", "img2", ["y"]),
        ("img2#2", "img2", ["z"]),
    ]
    assert rows[0]["captions"] == ["A dog. ", " a cat"]  # the rows (evaluation) keep all references


@pytest.mark.parametrize("task", ["vqa", "gqa", "nlvr", "tvqa", "tvc", "yc2c"])
def test_other_tasks_keep_one_example_per_row(task):
    rows = [{"id": "a", "captions": [" x ", "y"]}]
    assert training_examples(TASKS[task], rows) is rows


def test_caption_loss_is_the_token_mean_over_the_batch():
    # seq 0 has 2 real tokens, seq 1 one token + padding
    logits = torch.tensor([[[0.0, 0.0], [math.log(3.0), 0.0]], [[0.0, math.log(3.0)], [5.0, -5.0]]])
    labels = torch.tensor([[0, 1], [1, -100]])
    ce = [math.log(2.0), math.log(4.0), math.log(4.0 / 3.0)]
    assert TASKS["caption"].loss_reduction == "token"
    token = sequence_loss(logits, labels, torch.ones(2), TASKS["caption"].loss_reduction)
    assert token.item() == pytest.approx(sum(ce) / 3, rel=1e-6)
    per_sequence = sequence_loss(logits, labels, torch.ones(2), TASKS["vqa"].loss_reduction)
    assert per_sequence.item() == pytest.approx(((ce[0] + ce[1]) / 2 + ce[2]) / 2, rel=1e-6)
    assert {t for t, s in TASKS.items() if s.loss_reduction == "token"} == {
        "caption"
    }  # video captions too: per sequence
    with pytest.raises(ValueError, match="reduction"):
        sequence_loss(logits, labels, reduction="mean")


def test_precision_is_fp32_unless_bf16_is_asked_for_and_recorded(tmp_path):
    """Every official script trains in fp32 (no --fp16): fp32 is the default on GPU too; bf16 is an
    opt-in setting of the run, recorded in run.json and reused by evaluate (docs/methods.md C.1)."""
    import json

    from vlpeft.train.build import RunSpec
    from vlpeft.train.distributed import autocast_for

    cuda = torch.device("cuda")
    assert not isinstance(autocast_for(cuda), torch.autocast)  # fp32 on GPU by default
    assert isinstance(autocast_for(cuda, "bf16"), torch.autocast)
    assert not isinstance(autocast_for(torch.device("cpu"), "bf16"), torch.autocast)
    with pytest.raises(ValueError, match="precision"):
        autocast_for(cuda, "fp16")
    spec = RunSpec(group="image", backbone="t5", method="bitfit", precision="bf16")
    spec.write(tmp_path)
    assert json.loads((tmp_path / "run.json").read_text())["precision"] == "bf16"
    assert RunSpec.read(tmp_path).precision == "bf16"
    assert RunSpec(group="image", backbone="t5", method="bitfit").precision == "fp32"
    with pytest.raises(ValueError, match="precision"):
        RunSpec(group="image", backbone="t5", method="bitfit", precision="fp16")


class _Killed(Exception):
    pass


def test_best_average_validation_epoch_is_kept_and_reported(world, tmp_path):
    """VL-PET's video trainer keeps the epoch with the best mean validation score and reports its test
    scores beside the last epoch's (docs/methods.md C.8); a resumed run keeps the same best."""
    import json

    from vlpeft.pet.adapter_io import read_adapter_header
    from vlpeft.train import RunSpec, train_run

    def cfg(out, **kw):
        run = RunSpec(group="image", backbone="t5", method="bitfit", seed=3, tasks=["vqa", "nlvr"])
        return image_train_config(world, out, run, epochs=3, lr=5e-2, keep_best_val=True, **kw)

    ref = tmp_path / "ref"
    train_run(cfg(ref))
    log = [json.loads(x) for x in (ref / "train_log.jsonl").read_text().splitlines()]
    val = [r for r in log if r.get("split") == "val"]
    assert [r["epoch"] for r in val] == [0, 1, 2] and all(set(r["scores"]) == {"vqa", "nlvr"} for r in val)
    assert all(r["average"] == pytest.approx(sum(r["scores"].values()) / 2) for r in val)
    best = max(val, key=lambda r: (r["average"], -r["epoch"]))  # the first epoch of the best mean
    meta = read_adapter_header(ref / "adapter_best.safetensors")["meta"]
    assert (meta["epoch"], meta["val_average"]) == (best["epoch"], best["average"])

    out = tmp_path / "resumed"  # killed after the checkpoint of step 8 (epoch 1), resumed

    def kill(step):
        if step == 9:
            raise _Killed

    with pytest.raises(_Killed):
        train_run(cfg(out, checkpoint_every=4), on_step=kill)
    train_run(cfg(out, checkpoint_every=4))
    for name in ("adapter.safetensors", "adapter_best.safetensors", "train_log.jsonl"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name

    metrics = evaluate_tiny(world, ref, split="val", batch_size=3)
    assert metrics["best_avg_val"]["epoch"] == best["epoch"]
    assert metrics["best_avg_val"]["average"] == pytest.approx(best["average"])  # val split: the same scores
    assert sorted(p.name for p in (ref / "predictions_best_val").iterdir()) == ["nlvr.jsonl", "vqa.jsonl"]
