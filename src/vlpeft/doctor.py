"""`vlpeft doctor`: check this machine and print one table -- each video decoder on generated clips
(ok / wrong shape / wrong pixels / error / missing), ffmpeg, Java (for METEOR), CUDA devices, torch
threads and the CPU flags that matter (decord2 3.4.0 misbehaves on some AVX-512 CPUs).

Exit status 0 when ffmpeg is present and the default decoder (torchcodec) decodes correctly, or
another decoder does (the frames step then falls back to it with a warning); 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

# (name, width, height, rotation): the demo world's 96 px frames (decord's AVX-512 fault) and a
# small rotated clip
CLIPS = (("96x96", 96, 96, 0), ("48x32 rot90", 48, 32, 90))
FPS = 8
FRAMES = 6
PIXEL_TOLERANCE = 4.0  # mean |decoded - source| on a smooth ramp after a near-lossless H.264 round trip
PACKAGES = {"torchcodec": "torchcodec", "pyav": "av", "decord": "decord2"}


def _first_line(cmd: list[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"error: {e}"
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[0] if lines else "?"


def source_frames(width: int, height: int) -> np.ndarray:
    """Smooth colour ramps, one brightness step per frame, uint8 (FRAMES, H, W, 3)."""
    y, x = np.mgrid[0:height, 0:width]
    frames = [
        np.stack([x * 200 // width + 20 * t, y * 200 // height + 10, np.full_like(x, 30 + 25 * t)], -1)
        for t in range(FRAMES)
    ]
    return np.stack(frames).astype(np.uint8)


def rawvideo_input(width: int, height: int, fps: float) -> list[str]:
    """The ffmpeg command's start: raw RGB frames of ``width`` x ``height`` at ``fps`` read from stdin."""
    raw = ["ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24"]
    return [*raw, "-s", f"{width}x{height}", "-r", f"{fps:g}", "-i", "-"]


def set_rotation(plain: Path, path: Path, rotation: int) -> None:
    """``path``: ``plain`` with a display rotation, written by a stream copy (ffmpeg 5.1 drops it when encoding)."""
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-i", str(plain), "-c", "copy"]
    subprocess.run([*cmd, "-metadata:s:v:0", f"rotate={rotation}", str(path)], check=True, capture_output=True)


def make_clip(folder: Path, name: str, width: int, height: int, rotation: int) -> Path:
    """An H.264 MP4 (crf 0, yuv420p, the common format) of `source_frames`, with a display rotation, made by ffmpeg."""
    path = folder / f"{name.replace(' ', '_')}.mp4"
    plain = folder / f"plain_{path.name}"
    encode = ["-c:v", "libx264", "-crf", "0", "-pix_fmt", "yuv420p", "-threads", "1", str(plain)]
    frames = source_frames(width, height).tobytes()
    subprocess.run([*rawvideo_input(width, height, FPS), *encode], input=frames, check=True, capture_output=True)
    set_rotation(plain, path, rotation)
    return path


def check_decoder(backend: str, path: Path, width: int, height: int, rotation: int) -> str:
    """One decoder on one clip: ``ok``, ``wrong shape (...)``, ``wrong pixels (...)``, ``error (...)``
    or ``missing``; the decoder is called directly (no fallback), then `check_batch` judges it."""
    from vlpeft.video import decode
    from vlpeft.video.probe import probe_video

    if not decode.backend_available(backend):
        return "missing"
    try:
        info = probe_video(path, "torchcodec" if backend == "torchcodec" else "pyav")
        times = np.arange(FRAMES) / FPS
        frames, pts = decode.DECODERS[backend](info, times)
    except Exception as e:  # noqa: BLE001 - every failure is a finding of the check
        return f"error ({type(e).__name__}: {' '.join(str(e).split())[:70]})"
    problem = decode.check_batch(frames, pts, info, times)
    if problem is not None:
        return f"wrong shape ({problem})"
    want = np.rot90(source_frames(width, height), k=rotation // 90, axes=(1, 2))
    err = float(np.abs(frames.astype(int) - want.astype(int)).mean())
    return "ok" if err <= PIXEL_TOLERANCE else f"wrong pixels (mean |diff| {err:.1f})"


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def collect() -> dict[str, Any]:
    """Every check, as a JSON-able dict."""
    from vlpeft.video.decode import BACKENDS

    report: dict[str, Any] = {"decoders": {}, "versions": {}}
    ffmpeg = _first_line(["ffmpeg", "-version"])
    report["ffmpeg"] = ffmpeg
    report["java"] = _first_line(["java", "-version"])
    for backend in BACKENDS:
        report["versions"][backend] = _version(PACKAGES[backend])
    if ffmpeg is None:
        report["decoders"] = {b: {c[0]: "not checked (no ffmpeg to make the clip)" for c in CLIPS} for b in BACKENDS}
    else:
        with tempfile.TemporaryDirectory(prefix="vlpeft-doctor-") as tmp:
            clips = [(name, make_clip(Path(tmp), name, w, h, r), w, h, r) for name, w, h, r in CLIPS]
            for backend in BACKENDS:
                report["decoders"][backend] = {
                    name: check_decoder(backend, path, w, h, r) for name, path, w, h, r in clips
                }
    try:
        import torch

        report["torch"] = {
            "version": torch.__version__,
            "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
        }
        cuda = torch.cuda.is_available()
        report["cuda"] = (
            [f"{i}: {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())] if cuda else []
        )
    except ImportError:
        report["torch"], report["cuda"] = None, []
    flags = _cpu_flags()
    report["cpu"] = {
        "model": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "avx512f": "avx512f" in flags,
        "avx2": "avx2" in flags,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
    }
    return report


def healthy(report: dict[str, Any]) -> bool:
    ok = [b for b, clips in report["decoders"].items() if all(v == "ok" for v in clips.values())]
    return report["ffmpeg"] is not None and bool(ok)


def format_report(report: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = []
    for backend, clips in report["decoders"].items():
        version = report["versions"].get(backend)
        for clip, status in clips.items():
            rows.append((f"decoder {backend}{' ' + version if version else ''}, clip {clip}", status))
    rows.append(("ffmpeg", report["ffmpeg"] or "missing (apt-get install ffmpeg; see envs/apt.txt)"))
    rows.append(
        ("java (METEOR)", report["java"] or "missing (METEOR is skipped; apt-get install default-jre-headless)")
    )
    rows.append(("CUDA devices", ", ".join(report["cuda"]) if report["cuda"] else "none (CPU only)"))
    torch = report["torch"]
    rows.append(
        (
            "torch threads",
            f"{torch['threads']} (interop {torch['interop_threads']}), torch {torch['version']}"
            if torch
            else "torch not importable",
        )
    )
    cpu = report["cpu"]
    rows.append(
        (
            "CPU",
            f"{cpu['cores']} cores, {cpu['model']}, AVX-512 {'yes' if cpu['avx512f'] else 'no'}, "
            f"OMP_NUM_THREADS={cpu['OMP_NUM_THREADS'] or 'unset'}",
        )
    )
    width = max(len(k) for k, _ in rows)
    lines = [f"{'check'.ljust(width)}  result", f"{'-' * width}  {'-' * 6}"]
    lines += [f"{k.ljust(width)}  {v}" for k, v in rows]
    default_ok = all(v == "ok" for v in report["decoders"].get("torchcodec", {}).values())
    if not default_ok and healthy(report):
        lines.append(
            "note: the default decoder (torchcodec) failed a check; `vlpeft frames` falls back to a "
            "working one (one warning per video); set frames.backend in the config to choose it"
        )
    lines.append("status: " + ("ok" if healthy(report) else "PROBLEM (no working video decoder, or no ffmpeg)"))
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")


def run(args: argparse.Namespace) -> int:
    report = collect()
    print(json.dumps(report, indent=2, sort_keys=True) if args.json else format_report(report))
    return 0 if healthy(report) else 1
