"""Uniform frame sampling: which frame indices to keep from a video of ``num_frames`` at ``fps``."""

from __future__ import annotations

import math

import numpy as np


def sample_indices(total: int, fps: float, *, num_frames: int | None = None,
                   sample_fps: float | None = None) -> np.ndarray:
    """Indices of the frames to keep, in increasing order (exactly one of the two modes).

    - ``num_frames=N``: the frame shown at the centre of each of N equal segments of the video
      (indices repeat when the video has fewer than N frames, so every video gives N frames).
    - ``sample_fps=F``: one frame every 1/F seconds, starting at t=0.
    """
    if (num_frames is None) == (sample_fps is None):
        raise ValueError("give exactly one of num_frames or sample_fps")
    if total <= 0 or fps <= 0:
        raise ValueError(f"cannot sample from a video of {total} frames at {fps} fps")
    if num_frames is not None:
        if num_frames <= 0:
            raise ValueError(f"num_frames must be positive, got {num_frames}")
        idx = np.floor((np.arange(num_frames) + 0.5) * total / num_frames)
    else:
        if sample_fps <= 0:
            raise ValueError(f"fps must be positive, got {sample_fps}")
        duration = total / fps
        count = max(1, math.ceil(duration * sample_fps - 1e-9))
        idx = np.floor(np.arange(count) * fps / sample_fps + 1e-6)
    return np.clip(idx, 0, total - 1).astype(np.int64)
