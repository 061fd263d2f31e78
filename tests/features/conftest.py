"""Tiny CLIP checkpoints (the demo configurations, untrained), tiny images and a tiny frames file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from clip_media import COLOURS, scene
from PIL import Image

from vlpeft.features.cache import add_dataset, h5_writer
from vlpeft.features.demo_clip import build_demo_clip, save_clip


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def clip_ckpts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clip")
    paths = {}
    for kind in ("rn", "vit"):
        paths[kind] = d / f"clip_{kind}.pt"
        save_clip(build_demo_clip(kind, seed=0), paths[kind])
    return paths


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("images")
    for i, colour in enumerate(COLOURS):
        Image.fromarray(scene(colour)).save(d / f"img{i}.png")
    Image.fromarray(scene("red", shift=3)).save(d / "img4.png")  # a second render of img0's scene
    return d


@pytest.fixture(scope="session")
def frames_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A frames.h5 as `vlpeft frames` writes it: 3 videos of 4 (or 2) 96x96 frames."""
    path = tmp_path_factory.mktemp("frames") / "frames.h5"
    with h5_writer(path, {"backend": "pyav", "num_frames": 4}) as f:
        for vid, colour, t in (("v0", "red", 4), ("v1", "blue", 4), ("v2", "green", 2)):
            frames = np.stack([scene(colour, shift=s, size=96) for s in range(t)])
            add_dataset(f, vid, frames, {"timestamps": np.arange(t) * 0.5, "fps": 8.0}, compress=True)
    return path
