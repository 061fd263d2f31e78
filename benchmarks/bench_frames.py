"""Frame extraction: sampled frames/s of `vlpeft.video.extract_frames` (videos -> frames.h5, then
every frame read back) against the common practice, one ``ffmpeg -i VIDEO -vf fps=N
frames/%05d.jpg`` per video followed by reading the JPEGs back with PIL. Both sample N frames per
second, so both deliver the same frames as uint8 arrays."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common import ROOT, Context, interleaved_runs, machine_info, rate_measurement, run_quiet
from PIL import Image

NAME = "frames"
GOAL = 3.0
# Deterministic H.264 (x264 defaults otherwise: keyframe every 250 frames, B-frames), one thread.
X264 = [
    "-c:v",
    "libx264",
    "-preset",
    "medium",
    "-pix_fmt",
    "yuv420p",
    "-threads",
    "1",
    "-fflags",
    "+bitexact",
    "-flags:v",
    "+bitexact",
    "-map_metadata",
    "-1",
]
# lavfi test sources with motion, cycled over the videos of a set (seeded where they take a seed).
SOURCES = (
    "testsrc2=size={w}x{h}:rate={fps}",
    "life=size={w}x{h}:rate={fps}:seed={i}:mold=10:ratio=0.5",
    "cellauto=size={w}x{h}:rate={fps}:seed={i}:rule=110:random_fill_ratio=0.5:scroll=1",
)


def config_backend() -> str:
    """``frames.backend`` of config/config.yaml: the benchmark decodes as the pipeline does."""
    import yaml

    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["frames"]["backend"]


@dataclass(frozen=True)
class VideoSet:
    """``count`` synthetic videos of one shape, and the sampling rate both extractors use."""

    name: str
    count: int
    width: int
    height: int
    fps: int
    seconds: float
    sample_fps: float
    crf: int

    def folder(self, ctx: Context) -> Path:
        shape = f"{self.count}x{self.width}x{self.height}_{self.fps}fps_{self.seconds:g}s"
        return ctx.workdir / "videos" / f"{self.name}_{shape}"


def video_sets(quick: bool) -> list[VideoSet]:
    """Demo-like clips (96x96, 4 s at 8 fps, as the demo world's; 8 frames each at 2 fps) and long
    ones (60 s at 30 fps, 320x240; 1 frame per second)."""
    if quick:
        return [VideoSet("demo", 2, 96, 96, 8, 4, 2, 18), VideoSet("long", 1, 160, 120, 30, 4, 1, 23)]
    return [VideoSet("demo", 24, 96, 96, 8, 4, 2, 18), VideoSet("long", 3, 320, 240, 30, 60, 1, 23)]


def make_videos(vs: VideoSet, ctx: Context) -> Path:
    """Encode the set once with Debian ffmpeg (deterministic bytes); later runs reuse the files."""
    folder = vs.folder(ctx)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(vs.count):
        path = folder / f"{vs.name}{i:03d}.mp4"
        if path.exists():
            continue
        source = SOURCES[i % len(SOURCES)].format(w=vs.width, h=vs.height, fps=vs.fps, i=i + 1)
        tmp = path.with_suffix(".tmp.mp4")
        run_quiet(
            [
                "ffmpeg",
                "-nostdin",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                source,
                "-t",
                f"{vs.seconds:g}",
                *X264,
                "-crf",
                str(vs.crf),
                str(tmp),
            ]
        )
        tmp.rename(path)
    return folder


def ours(videos: Path, out: Path, sample_fps: float, backend: str) -> int:
    """`vlpeft.video.extract_frames` into HDF5 (default workers), then every frame read back."""
    from vlpeft.video.frames import FrameReader, SamplingSpec, extract_frames

    shutil.rmtree(out, ignore_errors=True)
    summary = extract_frames(
        videos, out / "frames.h5", SamplingSpec(sample_fps=sample_fps, backend=backend), progress=False
    )
    if summary["fallbacks"]:  # measure the configured decoder, not a fallback
        raise RuntimeError(f"{backend} fell back on {summary['fallbacks']}")
    with FrameReader(out / "frames.h5") as reader:
        return sum(len(reader.get(key)) for key in reader.keys())


def baseline(videos: Path, out: Path, sample_fps: float) -> int:
    """One ``ffmpeg -vf fps=N`` to JPEGs per video, then each JPEG decoded back with PIL."""
    shutil.rmtree(out, ignore_errors=True)
    n = 0
    for video in sorted(videos.glob("*.mp4")):
        folder = out / video.stem
        folder.mkdir(parents=True)
        run_quiet(
            [
                "ffmpeg",
                "-nostdin",
                "-loglevel",
                "error",
                "-i",
                str(video),
                "-vf",
                f"fps={sample_fps:g}",
                str(folder / "%05d.jpg"),
            ]
        )
        frames = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.jpg"))]
        n += len(np.stack(frames))
    return n


def run(ctx: Context) -> list[dict]:
    """One record per video set."""
    records = []
    backend = config_backend()
    for vs in video_sets(ctx.quick):
        videos = make_videos(vs, ctx)
        work = ctx.scratch(f"frames_out/{vs.name}")
        run_ours = lambda: ours(videos, work / "ours", vs.sample_fps, backend)  # noqa: E731
        run_base = lambda: baseline(videos, work / "baseline", vs.sample_fps)  # noqa: E731
        # a warm-up of each (file cache, imports), which also counts the frames each delivers: the
        # fps filter may round the last frame of a video differently from our sampler
        items = (run_ours(), run_base())
        seconds, _ = interleaved_runs({"ours": run_ours, "baseline": run_base}, ctx.repeats, f"frames {vs.name}")
        records.append(
            rate_measurement(
                f"frames_{vs.name}_videos",
                items,
                seconds["ours"],
                seconds["baseline"],
                "frames/s",
                GOAL,
                machine_info("cpu"),
                what=f"{vs.count} videos {vs.width}x{vs.height}, {vs.seconds:g} s at {vs.fps} fps (H.264 crf "
                f"{vs.crf}), sampled at {vs.sample_fps:g} fps: extract_frames ({backend}) -> HDF5 + read back, vs "
                f"ffmpeg -vf fps={vs.sample_fps:g} -> JPEG + PIL read back, one video after another",
                frames_ours=items[0],
                frames_baseline=items[1],
                backend=backend,
            )
        )
        shutil.rmtree(work, ignore_errors=True)
    return records
