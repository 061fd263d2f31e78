"""The end of training is crash-safe at every point, a checkpoint whose log is gone does not poison a
fresh run, and a corrupt checkpoint is an error naming the file, never silently resumed from."""

import os
from pathlib import Path

import pytest
from tinyworld import image_train_config

from vlpeft.train import RunSpec, TrainConfig, train_run
from vlpeft.train import checkpoint as ckpt
from vlpeft.train.trainer import FINISH_STEPS, LOG_FILE, PARTIAL_LOG


class Killed(Exception):
    pass


def _cfg(world, out, **kw) -> TrainConfig:
    run = RunSpec(group="image", backbone="t5", method="lora_single", seed=5)
    return image_train_config(world, out, run, **{"epochs": 1, "checkpoint_every": 3, **kw})


def _files(out: Path) -> dict[str, bytes]:
    return {p: (out / p).read_bytes() for p in ("adapter.safetensors", LOG_FILE, "run.json")}


def _kill_after(point: str):
    def hook(step: str) -> None:
        if step == point:
            raise Killed(point)

    return hook


@pytest.fixture(scope="module")
def reference(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    train_run(_cfg(world, out))
    assert not (out / "checkpoint").exists() and not (out / PARTIAL_LOG).exists()
    return _files(out)


@pytest.mark.parametrize("point", FINISH_STEPS)
def test_kill_at_each_point_of_the_end_then_restart_gives_the_same_bytes(world, tmp_path, reference, point):
    out = tmp_path / "run"
    with pytest.raises(Killed):
        train_run(_cfg(world, out), on_finish=_kill_after(point))
    train_run(_cfg(world, out))
    assert _files(out) == reference
    assert not (out / "checkpoint").exists() and not (out / PARTIAL_LOG).exists()


@pytest.mark.parametrize("point", ["adapter", "log"])
def test_rerun_incomplete_deleting_the_outputs_leaves_no_poisoning_checkpoint(world, tmp_path, reference, point):
    # Snakemake's rerun-incomplete deletes the declared outputs (adapter, train log), not checkpoint/
    out = tmp_path / "run"
    with pytest.raises(Killed):
        train_run(_cfg(world, out), on_finish=_kill_after(point))
    for name in ("adapter.safetensors", LOG_FILE):
        (out / name).unlink(missing_ok=True)
    (out / PARTIAL_LOG).unlink(missing_ok=True)  # the old window: the log renamed away, checkpoint kept
    train_run(_cfg(world, out))
    assert _files(out) == reference
    assert b"\0" not in (out / LOG_FILE).read_bytes()


def test_temporaries_of_a_killed_save_are_removed(world, tmp_path, reference):
    out = tmp_path / "run"
    stale = out / "checkpoint" / ".step_000000003.abcd.tmp"
    stale.mkdir(parents=True)
    (stale / "state.json").write_text("{")
    stale_adapter = out / ".adapter.safetensors.x1y2.safetensors"  # atomic_path(suffix=...)
    stale_adapter.write_bytes(b"half")
    train_run(_cfg(world, out))
    assert not stale.exists() and not stale_adapter.exists()
    assert _files(out) == reference


@pytest.mark.parametrize("victim", ["state.json", "state.safetensors", "trainable.safetensors"])
def test_corrupt_checkpoint_is_an_error_naming_the_file(world, tmp_path, victim):
    out = tmp_path / "run"
    with pytest.raises(Killed):
        train_run(_cfg(world, out), on_step=lambda s: (_ for _ in ()).throw(Killed()) if s == 4 else None)
    latest = ckpt.latest_checkpoint(out / "checkpoint")
    target = latest / victim
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(ValueError) as err:
        train_run(_cfg(world, out))
    message = str(err.value)
    assert str(target) in message and "\n" not in message, message
    assert latest.exists()  # not silently dropped either
    os.unlink(target)
