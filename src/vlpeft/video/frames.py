"""The frames step: probe, sample and decode every video of a folder into one HDF5 file
(`frames/<ds>/frames.h5`: one uint8 ``(T, H, W, 3)`` dataset per video id, sorted by id).

Frames are sampled in presentation time (`vlpeft.video.sampling`) and stored with their own pts;
the ids of the videos rejected with ``on_error="skip"`` are a file attribute (``rejected_ids``, a
JSON list) so that the later steps leave them out too."""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import os
import re
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vlpeft.features.cache import H5Reader, add_dataset, h5_writer
from vlpeft.io import write_json
from vlpeft.progress import progress_bar as tqdm

from .decode import BACKENDS, decode_frames, resolve_backend
from .probe import probe_video
from .sampling import target_times

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v")


@dataclass(frozen=True)
class SamplingSpec:
    """How frames are chosen and stored (exactly one of ``num_frames`` / ``sample_fps``)."""

    num_frames: int | None = None
    sample_fps: float | None = None
    size: int | None = None  # shorter side after resizing; None keeps the decoded size
    backend: str = "torchcodec"

    def file_attrs(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {"backend": self.backend}
        if self.num_frames is not None:
            attrs["num_frames"] = self.num_frames
        if self.sample_fps is not None:
            attrs["sample_fps"] = self.sample_fps
        if self.size:
            attrs["size"] = self.size
        return attrs


def list_videos(videos_dir: str | os.PathLike) -> list[Path]:
    """Video files of ``videos_dir`` sorted by name; the id of a video is its file stem."""
    videos_dir = Path(videos_dir)
    if not videos_dir.is_dir():
        raise FileNotFoundError(f"{videos_dir}: video folder not found")
    paths = sorted(p for p in videos_dir.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS)
    if not paths:
        raise FileNotFoundError(f"{videos_dir}: no video files ({', '.join(VIDEO_EXTENSIONS)})")
    stems = [p.stem for p in paths]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise ValueError(f"{videos_dir}: several files share the video id(s) {dupes}")
    return paths


def load_video(path: str | os.PathLike, spec: SamplingSpec) -> tuple[np.ndarray, dict[str, Any]]:
    """Sampled frames of one video, uint8 ``(T, H, W, 3)``, and their attributes (``timestamps``:
    each frame's own pts in seconds; source average ``fps``, ``duration``, ``rotation``, ``source``
    file name, and ``decoder``: the backend that decoded it, which differs from ``spec.backend``
    when that one returned a bad batch and another took over)."""
    if spec.backend not in BACKENDS:
        raise ValueError(f"unknown video backend {spec.backend!r}; expected one of {', '.join(BACKENDS)}")
    info = probe_video(path, "torchcodec" if spec.backend == "torchcodec" else "pyav")
    num_frames = spec.num_frames if spec.num_frames is not None or spec.sample_fps is not None else 8
    times = target_times(
        info.start, info.end, num_frames=num_frames if spec.sample_fps is None else None, sample_fps=spec.sample_fps
    )
    decoded = decode_frames(info, times, spec.backend, spec.size)
    attrs = {
        "timestamps": decoded.pts,
        "fps": info.fps,
        "duration": info.duration,
        "rotation": info.rotation,
        "source": info.path.name,
        "decoder": decoded.backend,
    }
    return decoded.frames, attrs


def ordered_prefetch(
    fn: Callable[[Any], Any],
    items: Iterable[Any],
    workers: int = 2,
    errors: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError),
) -> Generator[tuple[Any, Any, BaseException | None], None, None]:
    """Yield ``(item, fn(item), None)`` (or ``(item, None, error)`` for the listed errors) in input
    order, while up to ``2 * workers`` later items are computed in background threads."""
    items = iter(items)
    with ThreadPoolExecutor(max(1, workers)) as pool:
        queue: collections.deque[tuple[Any, Future]] = collections.deque(
            (item, pool.submit(fn, item)) for item in itertools.islice(items, 2 * max(1, workers))
        )
        while queue:
            item, future = queue.popleft()
            for nxt in itertools.islice(items, 1):
                queue.append((nxt, pool.submit(fn, nxt)))
            try:
                result, error = future.result(), None
            except errors as e:
                result, error = None, e
            yield item, result, error


def _reason(error: BaseException, path: Path) -> str:
    """The error message without the video's folder or decoder log timestamps (rejected.json is
    an artifact: no absolute paths, no clock)."""
    text = str(error).replace(f"{path}: ", "").replace(str(path), path.name)
    return re.sub(r"\[\d\d:\d\d:\d\d\] ", "", text)


def extract_frames(
    videos_dir: str | os.PathLike,
    out: str | os.PathLike,
    spec: SamplingSpec,
    on_error: str = "fail",
    workers: int = 2,
    progress: bool = True,
) -> dict[str, Any]:
    """Write the sampled frames of every video in ``videos_dir`` to ``out`` (HDF5, atomically)
    and ``rejected.json`` beside it. ``on_error="fail"`` stops at the first unreadable video with
    an error naming it; ``"skip"`` records it in ``rejected.json`` and goes on.
    Returns ``{"videos", "frames", "rejected", "fallbacks"}`` (fallbacks: ids of the videos that
    another backend decoded after ``spec.backend`` returned a bad batch)."""
    if on_error not in ("fail", "skip"):
        raise ValueError(f"on_error must be 'fail' or 'skip', got {on_error!r}")
    spec = SamplingSpec(spec.num_frames, spec.sample_fps, spec.size, resolve_backend(spec.backend))
    out = Path(out)
    paths = list_videos(videos_dir)
    rejected: list[dict[str, str]] = []
    fallbacks: list[str] = []
    n_frames = 0
    with (
        h5_writer(out, spec.file_attrs()) as f,
        contextlib.closing(ordered_prefetch(lambda p: load_video(p, spec), paths, workers)) as results,
    ):
        # (closed on an error by this thread, which then shuts the worker pool down)
        for path, loaded, error in tqdm(results, total=len(paths), desc="frames", unit="video", disable=not progress):
            if error is not None:
                if on_error == "fail":
                    raise error
                rejected.append({"video_id": path.stem, "file": path.name, "reason": _reason(error, path)})
                continue
            frames, attrs = loaded
            add_dataset(f, path.stem, frames, attrs, compress=True)
            n_frames += len(frames)
            if attrs["decoder"] != spec.backend:
                fallbacks.append(path.stem)
        if len(rejected) == len(paths):
            raise ValueError(f"{videos_dir}: no video could be decoded (first: {rejected[0]['reason']})")
        f.attrs["rejected_ids"] = json.dumps([r["video_id"] for r in rejected])
        f.attrs["fallbacks"] = len(fallbacks)
    write_json(out.parent / "rejected.json", rejected)
    return {"videos": len(paths) - len(rejected), "frames": n_frames, "rejected": rejected, "fallbacks": fallbacks}


class FrameReader(H5Reader):
    """A frames file written by `vlpeft frames`: ``.get(video_id)`` gives uint8 ``(T, H, W, 3)``;
    ``.item_attrs(video_id)`` its ``timestamps``, ``fps``, ``duration``, ``source``."""
