"""Frame sampling in presentation time: which frames to keep from a video, given the presentation
timestamps (pts, seconds, increasing) of all its frames.

A frame is *shown* from its own pts until the next frame's pts (the last one until the end of the
stream). Both modes pick target times on the clock and keep the frame shown at each target time,
so constant and variable frame rate videos are treated alike:

- ``num_frames=N``: the centres of N equal segments of [start, end);
- ``sample_fps=F``: start, start + 1/F, start + 2/F, ... while before the end.

The time stored with a kept frame is its own pts (`vlpeft.video.frames.load_video`).
"""

from __future__ import annotations

import math

import numpy as np

EPS = 1e-6  # seconds: a frame whose pts is within EPS after a target time still counts as shown


def _check(num_frames: int | None, sample_fps: float | None) -> None:
    if (num_frames is None) == (sample_fps is None):
        raise ValueError("give exactly one of num_frames or sample_fps")
    if num_frames is not None and num_frames <= 0:
        raise ValueError(f"num_frames must be positive, got {num_frames}")
    if sample_fps is not None and sample_fps <= 0:
        raise ValueError(f"fps must be positive, got {sample_fps}")


def target_times(
    start: float, end: float, *, num_frames: int | None = None, sample_fps: float | None = None
) -> np.ndarray:
    """Target times (seconds) in [start, end) for one of the two modes."""
    _check(num_frames, sample_fps)
    span = end - start
    if not span > 0:
        raise ValueError(f"cannot sample from an empty time span [{start}, {end})")
    if num_frames is not None:
        return start + (np.arange(num_frames) + 0.5) * span / num_frames
    assert sample_fps is not None  # _check: exactly one of the two is given
    count = max(1, math.ceil(span * sample_fps - 1e-9))
    return start + np.arange(count) / sample_fps


def frames_shown_at(pts: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Index of the frame shown at each time (the last frame whose pts is <= the time; the first
    frame for times before it)."""
    pts = np.asarray(pts, dtype=np.float64)
    idx = np.searchsorted(pts, np.asarray(times, dtype=np.float64) + EPS, side="right") - 1
    return np.clip(idx, 0, len(pts) - 1).astype(np.int64)


def sample_indices(
    pts: np.ndarray, end: float, *, num_frames: int | None = None, sample_fps: float | None = None
) -> np.ndarray:
    """Indices (into ``pts``, non-decreasing) of the frames to keep. ``pts``: presentation times of
    every frame in increasing order; ``end``: end of the stream (last pts + its duration). Indices
    repeat when the video has fewer frames than targets, so ``num_frames`` always gives N frames."""
    _check(num_frames, sample_fps)
    pts = np.asarray(pts, dtype=np.float64)
    if pts.ndim != 1 or len(pts) == 0:
        raise ValueError("cannot sample from a video without frames")
    if np.any(np.diff(pts) <= 0):
        raise ValueError("frame timestamps must be strictly increasing")
    times = target_times(float(pts[0]), float(end), num_frames=num_frames, sample_fps=sample_fps)
    return frames_shown_at(pts, times)


def cfr_pts(total: int, fps: float) -> tuple[np.ndarray, float]:
    """Timestamps and end of a constant-rate stream of ``total`` frames at ``fps`` starting at 0."""
    if total <= 0 or fps <= 0:
        raise ValueError(f"cannot sample from a video of {total} frames at {fps} fps")
    return np.arange(total) / fps, total / fps
