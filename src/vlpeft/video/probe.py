"""Video metadata, probed in-process (no ffprobe subprocess): the time span of the stream in
presentation time, frame count, average frame rate, coded size and display rotation.

With torchcodec (the default backend) the probe is torchcodec's own scan of the file
(``seek_mode="exact"``: every packet's pts is read, nothing is decoded) and the opened decoder is
kept on the `VideoInfo` so that decoding the same video does not scan it again. Otherwise PyAV
demuxes the packets (no decoding) and decodes only the first frame, for its rotation.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class VideoInfo:
    """What the sampler and the decoders need to know about one video stream."""

    path: Path
    width: int  # coded (unrotated) size
    height: int
    fps: float  # average frame rate: num_frames / duration
    num_frames: int
    duration: float  # seconds, end - start
    rotation: int  # counter-clockwise degrees to display the frames upright: 0, 90, 180 or 270
    start: float = 0.0  # pts (seconds) of the first frame
    prober: str = "torchcodec"
    handle: Any = field(default=None, compare=False, repr=False)  # an open torchcodec VideoDecoder
    note: str | None = field(default=None, compare=False)  # why torchcodec did not probe it, if it was asked to

    @property
    def end(self) -> float:
        """End of the stream in presentation time: last frame's pts + its duration."""
        return self.start + self.duration

    @property
    def display_size(self) -> tuple[int, int]:
        """(height, width) of an upright frame, after rotation."""
        return (self.width, self.height) if self.rotation in (90, 270) else (self.height, self.width)


def _norm_rotation(value: Any) -> int:
    """Degrees counter-clockwise, as 0/90/180/270 (display matrices give e.g. -90 or -180)."""
    return int(round(float(value or 0) / 90.0)) * 90 % 360


def torchcodec_available() -> bool:
    return importlib.util.find_spec("torchcodec") is not None


def open_torchcodec(path: Path, threads: int = 0) -> Any:
    """A torchcodec ``VideoDecoder`` (exact seek mode, NHWC uint8). ``threads=0`` lets FFmpeg pick
    its decoding threads: torchcodec holds the GIL while it decodes, so the frames step's prefetch
    threads do not overlap decoding, and FFmpeg's own threads are what uses the other cores (2x on
    60 s clips here). Decoded pixels do not depend on the thread count."""
    from torchcodec.decoders import VideoDecoder

    return VideoDecoder(str(path), seek_mode="exact", dimension_order="NHWC", num_ffmpeg_threads=threads)


def _probe_torchcodec(path: Path) -> VideoInfo:
    decoder = open_torchcodec(path)
    m = decoder.metadata
    rotation = _norm_rotation(m.rotation)
    w, h = int(m.width or 0), int(m.height or 0)  # post-rotation in torchcodec
    if rotation in (90, 270):
        w, h = h, w
    start, end = float(m.begin_stream_seconds or 0.0), float(m.end_stream_seconds or 0.0)
    n = int(m.num_frames or 0)
    return VideoInfo(
        path, w, h, n / (end - start) if end > start else 0.0, n, end - start, rotation, start, "torchcodec", decoder
    )


def _probe_pyav(path: Path) -> VideoInfo:
    import av

    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        tb = stream.time_base
        if tb is None:
            raise ValueError("the video stream has no time base")
        w, h = stream.codec_context.width, stream.codec_context.height
        starts, ends = [], []
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0:
                continue
            starts.append(float(packet.pts * tb))
            ends.append(float((packet.pts + (packet.duration or 0)) * tb))
    rotation = 0
    with av.open(str(path)) as container:  # the display matrix comes with the decoded frames
        for frame in container.decode(container.streams.video[0]):
            rotation = _norm_rotation(getattr(frame, "rotation", 0))
            break
    if not starts:
        return VideoInfo(path, w, h, 0.0, 0, 0.0, rotation, 0.0, "pyav")
    starts.sort()
    start = starts[0]
    last_gap = starts[-1] - starts[-2] if len(starts) > 1 else 0.0
    end = max(max(ends), starts[-1] + (last_gap if max(ends) <= starts[-1] else 0.0))
    n = len(starts)
    return VideoInfo(path, w, h, n / (end - start) if end > start else 0.0, n, end - start, rotation, start, "pyav")


def _reason(e: Exception, path: Path) -> str:
    if isinstance(e, ValueError):
        return str(e)
    return f"{type(e).__name__}: {' '.join(str(e).replace(str(path), path.name).split())[:300]}"


def probe_video(path: str | os.PathLike, prober: str = "torchcodec") -> VideoInfo:
    """Probe ``path`` in-process with torchcodec (``prober="torchcodec"``, if installed) or PyAV;
    if torchcodec cannot (a library that does not load on this machine, a stream it refuses), PyAV
    probes it (``info.note`` says why; the decoder's fallback warning reports it). ``ValueError``
    naming the file if it holds no usable video."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: video file not found")
    use = "torchcodec" if prober == "torchcodec" and torchcodec_available() else "pyav"
    try:
        info = _probe_torchcodec(path) if use == "torchcodec" else _probe_pyav(path)
    except Exception as e:  # torchcodec raises RuntimeError, PyAV its own errors, for corrupt files
        reason = _reason(e, path)
        if use == "pyav":
            raise ValueError(f"{path}: not a readable video ({reason})") from None
        try:
            info = _probe_pyav(path)
        except Exception:  # noqa: BLE001 - the first reason is the one to report
            raise ValueError(f"{path}: not a readable video ({reason})") from None
        info = dataclasses.replace(info, note=f"torchcodec could not probe it ({reason})")
    if info.fps <= 0 or info.duration <= 0 or info.num_frames <= 0:
        raise ValueError(f"{path}: empty video (fps={info.fps}, duration={info.duration}, frames={info.num_frames})")
    return info
