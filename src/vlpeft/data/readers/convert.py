"""`vlpeft data-features`: convert published pre-computed CLIP features (VALUE ``clip-vit`` .npz,
VL-Adapter RN101 .h5) into the project's feature cache (see ``vlpeft.data.readers.features``)."""

from __future__ import annotations

import argparse

from .features import FORMATS, convert_features, ids_from_manifest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=sorted(FORMATS),
        required=True,
        help="value-npz: vis_features/<ds>/clip-vit/<vid>.npz; "
        "vladapter-h5: <ds>/clip_features/data_clip_RN101_att/<img>.h5",
    )
    parser.add_argument(
        "--src",
        required=True,
        nargs="+",
        help="folder(s) of per-video / per-image feature files (e.g. tv, how2 and yc2 clip-vit)",
    )
    parser.add_argument("--out", required=True, help="feature cache to write, e.g. features/<ds>/clip_vit.h5")
    parser.add_argument(
        "--ids-from",
        metavar="MANIFEST_JSON",
        help="convert only the videos (or images) of this data-prepare manifest.json (default: every file in --src)",
    )
    origin = parser.add_mutually_exclusive_group()
    origin.add_argument("--archive", help="the downloaded archive; its sha256 becomes checkpoint_sha256")
    origin.add_argument("--checkpoint-sha256", help="checkpoint_sha256 attribute (default: the release name)")
    parser.add_argument("--encoder", help="encoder attribute (default: ViT-B/32 for value-npz, RN101 for vladapter-h5)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    ids = ids_from_manifest(args.ids_from, FORMATS[args.format].kind) if args.ids_from else None
    summary = convert_features(
        args.format,
        args.src,
        args.out,
        ids=ids,
        archive=args.archive,
        checkpoint_sha256=args.checkpoint_sha256,
        encoder=args.encoder,
        progress=not args.no_progress,
    )
    print(
        f"{args.out}: {summary['items']} {summary['kind']}s, dim {summary['dim']}, "
        f"encoder {summary['encoder']}, checkpoint_sha256 {summary['checkpoint_sha256']}"
    )
    return 0
