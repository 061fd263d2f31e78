"""Video metadata through ffprobe (ffmpeg-python): duration, frame rate, frame count, rotation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import ffmpeg


@dataclass(frozen=True)
class VideoInfo:
    """What the sampler needs to know about one video stream."""

    path: Path
    width: int  # coded (unrotated) size
    height: int
    fps: float
    num_frames: int
    duration: float  # seconds
    rotation: int  # counter-clockwise degrees to display the frames upright: 0, 90, 180 or 270

    @property
    def display_size(self) -> tuple[int, int]:
        """(height, width) of an upright frame, after rotation."""
        return (self.width, self.height) if self.rotation in (90, 270) else (self.height, self.width)


def _rate(text: str | None) -> float:
    if not text or text in ("0/0", "0"):
        return 0.0
    return float(Fraction(text))


def _rotation(stream: dict) -> int:
    """Counter-clockwise rotation from the display matrix, or from the legacy ``rotate`` tag
    (which counts clockwise)."""
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return int(round(float(side["rotation"]))) % 360
    tag = (stream.get("tags") or {}).get("rotate")
    return (-int(tag)) % 360 if tag else 0


def probe_video(path: str | Path) -> VideoInfo:
    """Probe ``path`` with ffprobe; raise ``ValueError`` naming the file if it holds no usable video."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: video file not found")
    try:
        meta = ffmpeg.probe(str(path))
    except ffmpeg.Error as e:
        lines = (e.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        reason = lines[-1].replace(f"{path}: ", "") if lines else "ffprobe failed"
        raise ValueError(f"{path}: not a readable video ({reason})") from None
    streams = [s for s in meta.get("streams", []) if s.get("codec_type") == "video"]
    if not streams:
        raise ValueError(f"{path}: no video stream")
    st = streams[0]
    fps = _rate(st.get("avg_frame_rate")) or _rate(st.get("r_frame_rate"))
    duration = float(st.get("duration") or meta.get("format", {}).get("duration") or 0.0)
    num_frames = int(st.get("nb_frames") or 0) or int(math.floor(duration * fps + 0.5))
    if fps <= 0 or duration <= 0 or num_frames <= 0:
        raise ValueError(f"{path}: empty video (fps={fps}, duration={duration}, frames={num_frames})")
    return VideoInfo(path, int(st["width"]), int(st["height"]), fps, num_frames, duration, _rotation(st))
