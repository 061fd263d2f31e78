"""Decode the frames of a video shown at given presentation times, as upright RGB uint8 arrays,
with torchcodec (default), PyAV or decord, trusting none of them blindly.

Every backend returns, for target times ``t``, the frame shown at each ``t`` (the last frame whose
pts is <= t, `vlpeft.video.sampling`) and that frame's own pts. Every decoded batch is checked
(`check_batch`: array shape ``(T, H, W, 3)``, uint8, one frame per target, the upright size the
probe announced, pts not after their target time). A bad batch, or a backend error, falls back to
the next backend of `BACKENDS` (one warning line naming the file and the backend); the backend that
finally decoded a video is recorded with its frames. Why: decord2 3.4.0 returns 4- or 6-channel
frames for some frame widths on CPUs with AVX-512, a silent fault that a shape check catches.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from PIL import Image

from .probe import VideoInfo, open_torchcodec
from .sampling import EPS, frames_shown_at

BACKENDS = ("torchcodec", "pyav", "decord")  # also the fallback order
IMPORT_NAMES = {"torchcodec": "torchcodec", "pyav": "av", "decord": "decord"}
PTS_TOLERANCE = 1e-3  # seconds: a returned frame's pts may not lie after its target time by more
log = logging.getLogger(__name__)


class Decoded(NamedTuple):
    frames: np.ndarray  # (T, H, W, 3) uint8, upright
    pts: np.ndarray  # (T,) float64 seconds: each frame's own presentation time
    backend: str  # the backend that decoded them
    fallback_reason: str | None  # why the requested backend was not used (None if it was)


def backend_available(name: str) -> bool:
    """Whether the backend's Python package can be found (not whether it works: see `vlpeft doctor`)."""
    if name not in BACKENDS:
        raise ValueError(f"unknown video backend {name!r}; expected one of {', '.join(BACKENDS)}")
    return importlib.util.find_spec(IMPORT_NAMES[name]) is not None


def backend_order(name: str) -> list[str]:
    """``name`` first, then the other installed backends in `BACKENDS` order."""
    if name not in BACKENDS:
        raise ValueError(f"unknown video backend {name!r}; expected one of {', '.join(BACKENDS)}")
    return list(dict.fromkeys(b for b in (name, *BACKENDS) if backend_available(b)))


def resolve_backend(name: str) -> str:
    """``name`` if installed, else the first installed backend of `BACKENDS` (with a warning)."""
    order = backend_order(name)
    if not order:
        raise ValueError(f"no video backend is installed ({', '.join(BACKENDS)})")
    if order[0] != name:
        log.warning("video backend %s is not installed; decoding with %s instead", name, order[0])
    return order[0]


def _upright(frames: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate (T, H, W, 3) frames counter-clockwise by ``rotation`` degrees."""
    return np.ascontiguousarray(np.rot90(frames, k=rotation // 90, axes=(1, 2))) if rotation else frames


def _targets(info: VideoInfo, times: np.ndarray) -> np.ndarray:
    """Target times nudged by EPS (a frame whose pts rounds just above the target still counts),
    kept inside the stream."""
    return np.clip(np.asarray(times, np.float64) + EPS, info.start, np.nextafter(info.end, info.start))


def _decode_torchcodec(info: VideoInfo, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    decoder = info.handle if info.handle is not None else open_torchcodec(info.path)
    batch = decoder.get_frames_played_at(seconds=_targets(info, times).tolist())  # rotation applied
    return batch.data.numpy(), batch.pts_seconds.numpy().astype(np.float64)


def _decode_pyav(info: VideoInfo, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sequential decoding (no seeking, exact for any frame rate): each target time gets the last
    decoded frame whose pts is <= it."""
    import av

    targets = _targets(info, times)
    order = np.argsort(targets, kind="stable")
    chosen: list = [None] * len(targets)
    j = 0
    prev = None
    with av.open(str(info.path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            assert frame.time_base is not None  # PyAV sets it on every frame it decodes from a stream
            t = float(frame.pts * frame.time_base)
            while j < len(order) and targets[order[j]] < t:
                chosen[order[j]] = prev if prev is not None else (frame, t)
                j += 1
            if j == len(order):
                break
            prev = (frame, t)
    while j < len(order) and prev is not None:
        chosen[order[j]] = prev
        j += 1
    if any(c is None for c in chosen):
        raise ValueError("no frames decoded")
    arrays: dict[int, np.ndarray] = {}
    for frame, _ in chosen:
        if id(frame) not in arrays:
            arrays[id(frame)] = frame.to_ndarray(format="rgb24")
    frames = np.stack([arrays[id(f)] for f, _ in chosen])
    return _upright(frames, info.rotation), np.array([t for _, t in chosen], np.float64)


def _decode_decord(info: VideoInfo, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import decord

    reader = decord.VideoReader(str(info.path), ctx=decord.cpu(0), num_threads=1)
    if len(reader) == 0:
        raise ValueError("no frames decoded")
    pts = np.asarray(reader.get_frame_timestamp(list(range(len(reader)))), np.float64)[:, 0]
    # decord counts frames and times them its own way (e.g. from 0 whatever the stream's start,
    # fewer frames in MPEG-TS): refuse rather than pick the wrong frames
    if len(reader) != info.num_frames:
        raise ValueError(f"decord counts {len(reader)} frames, the probe {info.num_frames}")
    if abs(pts[0] - info.start) > PTS_TOLERANCE:
        raise ValueError(f"decord puts the first frame at {pts[0]:.3f} s, the stream starts at {info.start:.3f} s")
    idx = frames_shown_at(pts, _targets(info, times))
    return reader.get_batch(idx.tolist()).asnumpy(), pts[idx]  # decord applies the rotation itself


# name -> decode(info, times) -> (frames, pts); tests swap entries to inject faults
DECODERS: dict[str, Callable[[VideoInfo, np.ndarray], tuple[np.ndarray, np.ndarray]]] = {
    "torchcodec": _decode_torchcodec,
    "pyav": _decode_pyav,
    "decord": _decode_decord,
}


def check_batch(frames: object, pts: object, info: VideoInfo, times: np.ndarray) -> str | None:
    """``None`` if the batch is what was asked for, else what is wrong with it (one phrase)."""
    if not isinstance(frames, np.ndarray):
        return f"not an array ({type(frames).__name__})"
    if frames.ndim != 4:
        return f"shape {frames.shape}, expected (T, H, W, 3)"
    if frames.shape[-1] != 3:
        return f"{frames.shape[-1]} channels, expected 3 (shape {frames.shape})"
    if frames.dtype != np.uint8:
        return f"dtype {frames.dtype}, expected uint8"
    if len(frames) != len(times):
        return f"{len(frames)} frames for {len(times)} requested"
    if tuple(frames.shape[1:3]) != info.display_size:
        w, h = info.display_size
        return f"frame size {frames.shape[1]}x{frames.shape[2]}, the probe says {w}x{h}"
    pts = np.asarray(pts, dtype=np.float64)
    if pts.shape != (len(times),) or not np.isfinite(pts).all():
        return f"{pts.shape} timestamps for {len(times)} frames"
    late = pts - np.maximum(np.asarray(times, np.float64), info.start)
    if (late > PTS_TOLERANCE).any():
        k = int(np.argmax(late))
        return f"frame at {pts[k]:.3f} s returned for time {times[k]:.3f} s"
    if pts.min() < info.start - PTS_TOLERANCE or pts.max() > info.end + PTS_TOLERANCE:
        return f"timestamps {pts.min():.3f}-{pts.max():.3f} s outside the stream ({info.start:.3f}-{info.end:.3f} s)"
    order = np.argsort(times, kind="stable")
    if (np.diff(pts[order]) < -PTS_TOLERANCE).any():
        return "timestamps out of order"
    return None


def resize_short_side(frames: np.ndarray, size: int) -> np.ndarray:
    """Resize (T, H, W, 3) frames so that the shorter side is ``size`` (bicubic, aspect kept)."""
    h, w = frames.shape[1:3]
    if min(h, w) == size:
        return frames
    scale = size / min(h, w)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))  # PIL wants (width, height)
    return np.stack([np.asarray(Image.fromarray(f).resize(new, Image.Resampling.BICUBIC)) for f in frames])


def decode_frames(info: VideoInfo, times: np.ndarray, backend: str = "torchcodec", size: int | None = None) -> Decoded:
    """The frames shown at ``times`` (seconds), upright uint8 ``(T, H, W, 3)``, with their pts.
    ``backend`` is tried first, then the other installed backends; ``ValueError`` naming the file
    if none gives a good batch."""
    times = np.asarray(times, dtype=np.float64)
    failures: list[str] = []
    order = backend_order(backend)
    if info.note and backend == "torchcodec":  # torchcodec could not even probe it (PyAV did)
        failures.append(info.note)
        order = [b for b in order if b != "torchcodec"]
    for name in order:
        try:
            frames, pts = DECODERS[name](info, times)
        except Exception as e:  # each library raises its own error types for corrupt streams
            detail = " ".join(str(e).replace(str(info.path), info.path.name).split())[:200]
            failures.append(f"{name} failed ({type(e).__name__}: {detail})")
            continue
        problem = check_batch(frames, pts, info, times)
        if problem is None:
            if failures:
                log.warning("%s: %s; decoded with %s", info.path, failures[0], name)
            if size:
                frames = resize_short_side(frames, size)
            return Decoded(
                frames.astype(np.uint8, copy=False),
                np.asarray(pts, np.float64),
                name,
                failures[0] if failures else None,
            )
        failures.append(f"{name} returned a bad batch ({problem})")
    raise ValueError(f"{info.path}: cannot decode video ({'; '.join(failures) or 'no backend installed'})")
