"""`vlpeft frames`: decode the videos of a folder and store uniformly sampled frames in HDF5."""

from __future__ import annotations

import argparse
import time

from .decode import BACKENDS
from .frames import SamplingSpec, extract_frames


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--videos", required=True, help="folder of videos; a video's id is its file stem")
    parser.add_argument(
        "--out", required=True, help="output HDF5 file, e.g. frames/<ds>/frames.h5 (rejected.json is written beside it)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--num-frames", type=int, help="N frames at the centres of N equal segments (default 8)")
    mode.add_argument("--fps", type=float, help="one frame every 1/F seconds instead of a fixed count")
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="torchcodec",
        help="decoder tried first; a bad batch falls back to the next installed one "
        f"(order {', '.join(BACKENDS)}) with a warning",
    )
    parser.add_argument(
        "--on-error",
        choices=("fail", "skip"),
        default="fail",
        help="an unreadable video stops the run (fail) or is listed in rejected.json (skip)",
    )
    parser.add_argument("--size", type=int, default=None, help="resize frames so the shorter side is S pixels")
    parser.add_argument("--workers", type=int, default=2, help="decoding threads overlapped with writing")


def run(args: argparse.Namespace) -> int:
    num_frames = args.num_frames if args.num_frames is not None or args.fps is not None else 8
    spec = SamplingSpec(num_frames=num_frames, sample_fps=args.fps, size=args.size, backend=args.backend)
    start = time.perf_counter()
    summary = extract_frames(args.videos, args.out, spec, on_error=args.on_error, workers=args.workers)
    seconds = time.perf_counter() - start
    print(
        f"{args.out}: {summary['videos']} videos, {summary['frames']} frames "
        f"({summary['frames'] / max(seconds, 1e-9):.1f} frames/s), {len(summary['rejected'])} rejected, "
        f"{len(summary['fallbacks'])} decoded by a fallback backend (not {args.backend})"
    )
    return 0
