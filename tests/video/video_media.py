"""Tiny videos whose frame content encodes the frame index (a brightness ramp) plus a red patch in
the top-left corner (to check rotation)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np


STEP = 7  # brightness of frame i is STEP * i


def ramp_frames(n: int = 32, h: int = 48, w: int = 64) -> np.ndarray:
    frames = np.zeros((n, h, w, 3), np.uint8)
    for i in range(n):
        frames[i] = STEP * i
        frames[i, : h // 4, : w // 4] = (255, 0, 0)
    return frames


def frame_index(frame: np.ndarray) -> int:
    """Recover the index from the brightness of the bottom-right quarter (away from the patch)."""
    h, w = frame.shape[:2]
    return int(round(frame[h // 2 :, w // 2 :].mean() / STEP))


def red_corner(frame: np.ndarray) -> tuple[int, int]:
    """(row, col) half of the frame holding the red patch: 0 = top / left, 1 = bottom / right."""
    mask = (frame[..., 0] > 200) & (frame[..., 1] < 80)
    ys, xs = np.nonzero(mask)
    return int(ys.mean() > frame.shape[0] / 2), int(xs.mean() > frame.shape[1] / 2)


def rotate_tag(src: Path, dst: Path, degrees: int) -> None:
    """Copy ``src`` with a rotation in its metadata (no re-encoding)."""
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(src), "-c", "copy",
                    "-metadata:s:v:0", f"rotate={degrees}", str(dst)], check=True)
