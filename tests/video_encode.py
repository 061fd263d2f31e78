"""Test helper: encode uint8 frames as an H.264 MP4 with PyAV (tests make their videos with it; tests/conftest.py
puts tests/ on the import path)."""

from __future__ import annotations

import os

import av
import numpy as np

from vlpeft.io import atomic_path


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: int = 8, crf: int = 18) -> None:
    """Write ``frames`` (T, H, W, 3) uint8 (H and W even) to ``path`` at ``fps``, atomically."""
    frames = np.asarray(frames, dtype=np.uint8)
    _, h, w, _ = frames.shape
    with atomic_path(path, suffix=".mp4") as tmp:
        with av.open(str(tmp), "w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            stream.options = {"crf": str(crf)}
            for frame in frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode())
