"""Decode selected frames of a video as upright RGB uint8 arrays, with decord or PyAV."""

from __future__ import annotations

import importlib.util
import logging

import numpy as np
from PIL import Image

from .probe import VideoInfo

BACKENDS = ("decord", "pyav")
log = logging.getLogger(__name__)


def resolve_backend(name: str) -> str:
    """``name`` if it can be imported; decord falls back to PyAV when it is not installed."""
    if name not in BACKENDS:
        raise ValueError(f"unknown video backend {name!r}; expected one of {BACKENDS}")
    if name == "decord" and importlib.util.find_spec("decord") is None:
        log.warning("decord is not installed; decoding with PyAV instead")
        return "pyav"
    return name


def _upright(frames: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate (T, H, W, 3) frames counter-clockwise by ``rotation`` degrees."""
    return np.ascontiguousarray(np.rot90(frames, k=rotation // 90, axes=(1, 2))) if rotation else frames


def _decode_decord(info: VideoInfo, indices: np.ndarray) -> np.ndarray:
    if info.rotation:
        # decord2 3.4 applies the display matrix itself but returns garbled arrays (4 channels,
        # wrong size) for 90/270 degrees when a rotated row is not 64-byte aligned: use PyAV.
        return _decode_pyav(info, indices)
    import decord

    reader = decord.VideoReader(str(info.path), ctx=decord.cpu(0), num_threads=1)
    if len(reader) == 0:
        raise ValueError("no frames decoded")
    return reader.get_batch(np.minimum(indices, len(reader) - 1).tolist()).asnumpy()


def _decode_pyav(info: VideoInfo, indices: np.ndarray) -> np.ndarray:
    import av

    wanted = {int(i) for i in indices}
    last = max(wanted)
    kept: dict[int, np.ndarray] = {}
    # Sequential decoding (no seeking) is exact about frame indices, and cheap for short clips.
    with av.open(str(info.path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for i, frame in enumerate(container.decode(stream)):
            if i in wanted:
                kept[i] = frame.to_ndarray(format="rgb24")
            if i >= last:
                break
    if not kept:
        raise ValueError("no frames decoded")
    # A stream shorter than its header says: indices past its end get its last decoded frame.
    top = kept[max(kept)]
    frames = np.stack([kept.get(int(i), top) for i in indices])
    return _upright(frames, info.rotation)


def resize_short_side(frames: np.ndarray, size: int) -> np.ndarray:
    """Resize (T, H, W, 3) frames so that the shorter side is ``size`` (bicubic, aspect kept)."""
    h, w = frames.shape[1:3]
    if min(h, w) == size:
        return frames
    scale = size / min(h, w)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))  # PIL wants (width, height)
    return np.stack([np.asarray(Image.fromarray(f).resize(new, Image.BICUBIC)) for f in frames])


def decode_frames(info: VideoInfo, indices: np.ndarray, backend: str = "decord",
                  size: int | None = None) -> np.ndarray:
    """Frames ``indices`` of the video, upright, as uint8 (T, H, W, 3); ``ValueError`` naming the
    file if it cannot be decoded."""
    decode = _decode_decord if backend == "decord" else _decode_pyav
    try:
        frames = decode(info, np.asarray(indices, dtype=np.int64))
    except ValueError as e:
        raise ValueError(f"{info.path}: cannot decode video ({e})") from None
    except Exception as e:  # decord and PyAV raise their own error types for corrupt streams
        raise ValueError(f"{info.path}: cannot decode video ({type(e).__name__}: {e})") from None
    if size:
        frames = resize_short_side(frames, size)
    return frames.astype(np.uint8, copy=False)
