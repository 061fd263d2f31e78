"""`vlpeft features`: cache CLIP image-grid or video-frame features in HDF5."""

from __future__ import annotations

import argparse

from vlpeft.device import DEVICE_HELP, device_arg

from .extract import KINDS, extract_features


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kind",
        choices=KINDS,
        required=True,
        help="image: RN layer4 grid (49, C) per image; video: encode_image per frame (T, D)",
    )
    parser.add_argument(
        "--clip", required=True, help="CLIP checkpoint file, or a model name in the local clip cache (e.g. RN101)"
    )
    parser.add_argument("--out", required=True, help="output HDF5 file, e.g. features/<ds>/<name>.h5")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", help="folder of images (--kind image); an image's id is its file stem")
    source.add_argument("--frames", help="frames.h5 written by `vlpeft frames` (--kind video)")
    parser.add_argument("--batch-size", type=int, default=32, help="images (or frames) per forward pass")
    parser.add_argument("--device", default="cpu", type=device_arg, help=f"{DEVICE_HELP} (half precision on CUDA)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader processes decoding and preprocessing ahead")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads for inference (default: torch's choice; 1 is faster on a busy machine)",
    )


def run(args: argparse.Namespace) -> int:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from vlpeft.device import resolve

    summary = extract_features(
        args.kind,
        args.clip,
        args.out,
        images=args.images,
        frames=args.frames,
        batch_size=args.batch_size,
        device=str(resolve(args.device)),
        workers=args.workers,
    )
    unit = "images" if args.kind == "image" else "frames"
    print(
        f"{args.out}: {summary['items']} {args.kind}s, {summary['images']} {unit} encoded "
        f"({summary['images_per_s']:.1f} {unit}/s)"
    )
    return 0
