"""`vlpeft data-prepare`: read published data sets (their data manifests in ``config/data/``) and
write the project's annotation layout: ``<out>/annotations/<task>/{train,val,test}.jsonl`` and
``<out>/manifest.json`` (see ``vlpeft.data.readers.build``)."""

from __future__ import annotations

import argparse

from vlpeft.data.readers.build import DEFAULT_MANIFEST_DIR, prepare
from vlpeft.data.readers.video import DEFAULT_VIDEO_CAPTIONS, VIDEO_CAPTION_MODES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--datasets",
        nargs="+",
        required=True,
        metavar="NAME",
        help="data set names (config/data/<NAME>.yaml; config data.datasets) or manifest paths, "
        "e.g. vqa gqa nlvr caption",
    )
    parser.add_argument("--root", required=True, help="folder the manifests' relative paths start from")
    parser.add_argument("--out", required=True, help="output folder, e.g. data/<dataset>")
    parser.add_argument(
        "--manifest-dir", default=DEFAULT_MANIFEST_DIR, help="where data set names are looked up (default: %(default)s)"
    )
    parser.add_argument(
        "--video-captions",
        choices=VIDEO_CAPTION_MODES,
        default=DEFAULT_VIDEO_CAPTIONS,
        help="TVC/YC2C rows: one per description with its own reference (the papers' "
        "protocol, default) or one per clip with all references",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    manifest = prepare(
        args.datasets,
        args.root,
        args.out,
        manifest_dir=args.manifest_dir,
        progress=not args.no_progress,
        video_captions=args.video_captions,
    )
    for task, splits in manifest["examples"].items():
        counts = ", ".join(f"{split} {n}" for split, n in splits.items())
        print(f"{task}: {counts}")
    for name, entry in manifest["datasets"].items():
        for note in entry["notes"]:
            print(f"note ({name}): {note}")
    print(f"{args.out}: {len(manifest['images'])} images, {len(manifest['videos'])} videos")
    return 0
