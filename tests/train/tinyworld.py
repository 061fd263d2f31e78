"""A tiny synthetic dataset (annotations of the eight tasks + HDF5 features) and a tiny saved T5/BART
backbone, written from scratch so the trainer and evaluator tests need no other pipeline step."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from vlpeft.features.cache import add_dataset, h5_writer
from vlpeft.io import write_jsonl

FEAT_DIM = 8
WORDS = ["red", "blue", "cube", "ball", "left", "right", "two", "one", "dog", "cat"]
SPLIT_SIZES = {"train": 6, "val": 3, "test": 4}


def _q(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(4)) + "?"


def _subs(rng: random.Random) -> list[dict]:
    return [{"start": float(i), "end": float(i + 1), "text": " ".join(rng.sample(WORDS, 3))} for i in range(2)]


def _row(task: str, i: int, split: str, rng: random.Random) -> dict:
    ex_id = f"{task}-{split}-{i}"
    img = f"img{rng.randrange(6)}"
    vid = f"vid{rng.randrange(4)}"
    if task == "vqa":
        a, b = rng.sample(WORDS, 2)
        return {
            "id": ex_id,
            "image_id": img,
            "question": _q(rng),
            "answers": [a] * 7 + [b] * 3,
            "label": {a: 1.0, b: 1.0} if i % 2 else {a: 1.0, b: 0.3},
        }
    if task == "gqa":
        a = rng.choice(WORDS)
        return {"id": ex_id, "image_id": img, "question": _q(rng), "answers": [a], "label": {a: 1.0}}
    if task == "nlvr":
        return {
            "id": ex_id,
            "image_ids": [img, f"img{(int(img[3:]) + 1) % 6}"],
            "sentence": _q(rng),
            "label": bool(i % 2),
        }
    if task == "caption":
        return {"id": ex_id, "image_id": img, "captions": [" ".join(rng.sample(WORDS, 5)) for _ in range(2)]}
    common = {"id": ex_id, "video_id": vid, "ts": [0.0, 2.0], "subtitles": _subs(rng)}
    if task in ("tvqa", "how2qa"):
        n = 5 if task == "tvqa" else 4
        return {**common, "question": _q(rng), "choices": rng.sample(WORDS, n), "answer_idx": rng.randrange(n)}
    return {**common, "captions": [" ".join(rng.sample(WORDS, 4))]}


def write_world(root: Path, seed: int = 0) -> dict[str, Path]:
    """``root/data`` (annotations of all 8 tasks, pre-training captions) and
    ``root/features_{image,video}.h5``; returns the paths."""
    rng = random.Random(seed)
    data = root / "data"
    for task in ("vqa", "gqa", "nlvr", "caption", "tvqa", "how2qa", "tvc", "yc2c"):
        for split, n in SPLIT_SIZES.items():
            write_jsonl(data / "annotations" / task / f"{split}.jsonl", [_row(task, i, split, rng) for i in range(n)])
    write_jsonl(
        data / "annotations" / "pretrain" / "image_captions.jsonl",
        [{"id": f"p{i}", "image_id": f"img{i}", "captions": ["a red cube"]} for i in range(6)],
    )
    write_jsonl(
        data / "annotations" / "pretrain" / "video_captions.jsonl",
        [{"id": f"p{i}", "video_id": f"vid{i}", "captions": ["a dog runs"]} for i in range(4)],
    )
    nrng = np.random.default_rng(seed)
    paths = {"data": data, "image": root / "features_image.h5", "video": root / "features_video.h5"}
    with h5_writer(paths["image"], {"encoder": "test", "checkpoint_sha256": "0", "kind": "image"}) as f:
        for i in range(6):
            add_dataset(f, f"img{i}", nrng.standard_normal((49, FEAT_DIM)).astype(np.float16))
    with h5_writer(paths["video"], {"encoder": "test", "checkpoint_sha256": "0", "kind": "video"}) as f:
        for i in range(4):  # shorter and longer than 64 frames: padding and pooling both run
            add_dataset(f, f"vid{i}", nrng.standard_normal((40 + 20 * i, FEAT_DIM)).astype(np.float16))
    return paths


def write_backbone(data: Path, out: Path, arch: str) -> Path:
    """A tiny backbone saved like `vlpeft backbone-demo` does (tokenizer trained on ``data``), one
    pre-training step only."""
    from vlpeft.pretrain import PretrainSettings, build_demo_backbone

    settings = PretrainSettings(
        arch=arch, vocab_size=120, d_model=16, layers=1, heads=2, d_ff=32, max_len=16, steps=1, batch_size=2, seed=1
    )
    build_demo_backbone(data, out, settings)
    return out


# -- pytest fixtures (imported by the conftest of tests/train and tests/eval_decode) ---------------


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> dict[str, Path]:
    """Tiny annotations + features of all 8 tasks, and a tiny saved T5 backbone."""
    root = tmp_path_factory.mktemp("world")
    torch.set_num_threads(1)
    paths = write_world(root)
    paths["t5"] = write_backbone(paths["data"], root / "t5", "t5")
    return paths


def image_train_config(world: dict[str, Path], out, run, **kw):
    """A `TrainConfig` of ``run`` on the tiny world's image features and T5 (batch 4, no progress
    bars); ``kw`` sets the rest (epochs, lr, device, ...)."""
    from vlpeft.train import TrainConfig

    base = dict(
        data=str(world["data"]),
        backbone=str(world["t5"]),
        out=str(out),
        features_image=str(world["image"]),
        batch_size=4,
        progress=False,
    )
    return TrainConfig(run=run, **{**base, **kw})


def evaluate_tiny(world: dict[str, Path], run, **kw):
    """`evaluate_run` of ``run`` on a tiny world (this one or tests/predict's) with its T5 and image
    features, on the CPU, no progress bars; ``kw`` sets the rest (batch_size, split, meteor, ...)."""
    from vlpeft.eval.evaluate import evaluate_run

    base = dict(features_image=str(world["image"]), device="cpu", progress=False)
    return evaluate_run(run, str(world["data"]), str(world["t5"]), **{**base, **kw})
