"""A tiny world run through the real chain for `vlpeft predict` / `vlpeft export` tests: the
annotations of tests/train/tinyworld.py, real PNG images and MP4 videos for their ids, untrained
demo-shaped CLIPs, `vlpeft frames` + `vlpeft features` caches made from them, a tiny T5, and two
trained runs (image: LoRA on vqa/gqa/nlvr/caption; video: LoRA on the four video tasks)."""

from __future__ import annotations

import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1] / "train"))
from tinyworld import write_backbone, write_world

from vlpeft.features.demo_clip import build_demo_clip, save_clip
from vlpeft.features.extract import extract_features
from vlpeft.video.frames import SamplingSpec, extract_frames

COLOURS = [(220, 30, 30), (30, 200, 40), (30, 40, 220), (230, 220, 30), (200, 40, 200), (40, 200, 200)]
NUM_FRAMES = 3


def picture(i: int, size: int = 64) -> np.ndarray:
    img = np.full((size, size, 3), 128, np.uint8)
    lo = 8 + 4 * i
    img[lo : lo + 24, lo : lo + 24] = COLOURS[i % len(COLOURS)]
    return img


def write_mp4(path: Path, frames: np.ndarray, fps: int = 8) -> None:
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def build(root: Path) -> dict[str, Path]:
    paths = write_world(root)  # annotations (and random features, replaced below)
    images, videos = root / "images", root / "videos"
    images.mkdir()
    videos.mkdir()
    for i in range(6):
        Image.fromarray(picture(i)).save(images / f"img{i}.png")
    for i in range(4):
        write_mp4(videos / f"vid{i}.mp4", np.stack([np.roll(picture(i), 3 * t, axis=1) for t in range(12)]))
    for kind in ("rn", "vit"):
        paths[f"clip_{kind}"] = root / f"clip_{kind}.pt"
        save_clip(build_demo_clip(kind, seed=0), paths[f"clip_{kind}"])
    paths["other_clip"] = root / "other_clip_rn.pt"
    save_clip(build_demo_clip("rn", seed=1), paths["other_clip"])
    frames = root / "frames.h5"
    extract_frames(videos, frames, SamplingSpec(num_frames=NUM_FRAMES, backend="pyav"), workers=1, progress=False)
    paths["image"], paths["video"] = root / "image.h5", root / "video.h5"
    extract_features("image", paths["clip_rn"], paths["image"], images=images, batch_size=1, workers=0, progress=False)
    extract_features(
        "video", paths["clip_vit"], paths["video"], frames=frames, batch_size=32, workers=0, progress=False
    )
    paths.update(images=images, videos=videos, frames=frames)
    paths["t5"] = write_backbone(paths["data"], root / "t5", "t5")
    return paths


def train(
    paths: dict[str, Path], out: Path, group: str, method: str, tasks: list[str], overrides: dict | None = None
) -> Path:
    from vlpeft.train import RunSpec, TrainConfig, train_run

    spec = RunSpec(group=group, backbone="t5", method=method, seed=3, tasks=tasks, method_overrides=overrides or {})
    train_run(
        TrainConfig(
            run=spec,
            data=str(paths["data"]),
            backbone=str(paths["t5"]),
            out=str(out),
            features_image=str(paths["image"]),
            features_video=str(paths["video"]),
            epochs=1,
            batch_size=4,
            lr=1e-2,
            progress=False,
        )
    )
    return out


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def pworld(tmp_path_factory) -> dict[str, Path]:
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("pworld")
    paths = build(root)
    lora = {"r": 4, "alpha": 8, "dropout": 0.0}
    paths["image_run"] = train(
        paths, root / "runs" / "image", "image", "lora_single", ["vqa", "gqa", "nlvr", "caption"], lora
    )
    paths["video_run"] = train(
        paths, root / "runs" / "video", "video", "lora_single", ["tvqa", "how2qa", "tvc", "yc2c"], lora
    )
    return paths
