"""Tiny videos whose frame content encodes the frame index (a brightness ramp) plus a red patch in
the top-left corner (to check rotation)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from vlpeft.doctor import rawvideo_input

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
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(src),
            "-c",
            "copy",
            "-metadata:s:v:0",
            f"rotate={degrees}",
            str(dst),
        ],
        check=True,
    )


def vfr_pts(n_fast: int = 20, fast: float = 20.0, n_slow: int = 10, slow: float = 5.0) -> np.ndarray:
    """Presentation times of `write_vfr`'s clip: ``n_fast`` frames at ``fast`` fps, then
    ``n_slow`` at ``slow`` fps (a frame-rate change halfway through the clip's frames)."""
    return np.concatenate([np.arange(n_fast) / fast, n_fast / fast + np.arange(n_slow) / slow])


def write_vfr(
    path: Path, n_fast: int = 20, fast: float = 20.0, n_slow: int = 10, slow: float = 5.0, h: int = 48, w: int = 64
) -> np.ndarray:
    """A variable-frame-rate H.264 MP4 of ramp frames (frame i has brightness STEP * i), made with
    ffmpeg's ``setpts`` (the rate changes after ``n_fast`` frames); returns the frames' pts."""
    frames = ramp_frames(n_fast + n_slow, h, w)
    # rounded to the time base: setpts truncates, and N/20/TB can come out as 2.9999
    expr = f"floor(if(lt(N,{n_fast}),N/{fast:g},{n_fast / fast:g}+(N-{n_fast})/{slow:g})/TB+0.5)"
    subprocess.run(
        [
            *rawvideo_input(w, h, fast),
            "-vf",
            f"setpts='{expr}'",
            "-fps_mode",
            "passthrough",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-crf",
            "10",
            "-threads",
            "1",
            str(path),
        ],
        input=frames.tobytes(),
        check=True,
    )
    return vfr_pts(n_fast, fast, n_slow, slow)
