"""Synthetic pictures and a demo-world-like data folder for the features tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220), "yellow": (230, 220, 30)}


def scene(colour: str, shift: int = 0, size: int = 128) -> np.ndarray:
    """A grey canvas with a coloured square (moved by ``shift`` pixels)."""
    img = np.full((size, size, 3), 128, np.uint8)
    lo = size // 4 + shift
    img[lo : lo + size // 2, lo : lo + size // 2] = COLOURS[colour]
    return img


SHAPES = ("square", "bar")


def shape_scene(colour: str, shape: str, where: int, size: int, shift: int = 0) -> np.ndarray:
    """A coloured square or horizontal bar in the left / right half of a grey canvas."""
    img = np.full((size, size, 3), 128, np.uint8)
    x0 = (size // 2) * where + size // 8 + shift
    h = size // 3 if shape == "square" else size // 8
    y0 = size // 2 - h // 2
    img[y0 : y0 + h, x0 : x0 + size // 3] = COLOURS[colour]
    return img


def make_demo_data(
    root: Path,
    n_images: int = 16,
    n_videos: int = 8,
    image_size: int = 128,
    video_size: int = 96,
    seconds: int = 4,
    fps: int = 8,
) -> Path:
    """A demo-world-like folder: images/<id>.png, videos/<id>.mp4 (a slowly moving shape) and
    annotations/pretrain/{image,video}_captions.jsonl."""
    import json

    from video_encode import write_video

    combos = [(c, s, w) for c in COLOURS for s in SHAPES for w in (0, 1)]
    combo_of = np.random.default_rng(0).integers(0, len(combos), n_images + n_videos)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "videos").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / "pretrain").mkdir(parents=True, exist_ok=True)
    caption = lambda c, s, w: [f"a {c} {s} on the {('left', 'right')[w]}", f"the {s} is {c}"]  # noqa: E731
    rows = []
    for i in range(n_images):
        c, s, w = combos[combo_of[i]]
        Image.fromarray(shape_scene(c, s, w, image_size, shift=i % 5)).save(root / "images" / f"i{i:03d}.png")
        rows.append({"id": f"ic{i:03d}", "image_id": f"i{i:03d}", "captions": caption(c, s, w)})
    (root / "annotations" / "pretrain" / "image_captions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    rows = []
    for i in range(n_videos):
        c, s, w = combos[combo_of[n_images + i]]
        frames = np.stack([shape_scene(c, s, w, video_size, shift=t // 4) for t in range(seconds * fps)])
        write_video(root / "videos" / f"v{i:03d}.mp4", frames, fps=fps)
        rows.append({"id": f"vc{i:03d}", "video_id": f"v{i:03d}", "captions": caption(c, s, w)})
    (root / "annotations" / "pretrain" / "video_captions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root
