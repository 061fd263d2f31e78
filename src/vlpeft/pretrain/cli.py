"""`vlpeft backbone-demo`: pre-train a tiny T5 or BART on the demo world (``vlpeft.pretrain``); every
flag is a ``PretrainSettings`` field, its default that field's."""

from __future__ import annotations

import argparse

from vlpeft.constants import ARCHS
from vlpeft.pretrain.build import build_demo_backbone
from vlpeft.pretrain.loop import PretrainSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = PretrainSettings(arch="t5")
    parser.add_argument("--data", required=True, help="demo world directory data/<ds>")
    parser.add_argument("--arch", required=True, choices=ARCHS)
    parser.add_argument("--out", required=True, help="output directory models/<ds>/<arch>")
    parser.add_argument("--features-image", help="image feature cache (HDF5) for caption pre-training")
    parser.add_argument("--features-video", help="video feature cache (HDF5) for caption pre-training")
    for name, help_ in [
        ("vocab_size", "learnt tokenizer entries (before the added vocabulary)"),
        ("d_model", "hidden size"),
        ("layers", "encoder and decoder layers"),
        ("heads", "attention heads"),
        ("d_ff", "feed-forward size"),
        ("max_len", "max encoder tokens per denoising example"),
        ("steps", "optimizer steps"),
        ("batch_size", "examples per step"),
        ("seed", "random seed"),
        ("threads", "torch CPU threads; results are reproducible for a given count"),
    ]:
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            type=int,
            default=getattr(d, name),
            help=f"{help_} (default {getattr(d, name)})",
        )
    parser.add_argument("--lr", type=float, default=d.lr, help=f"peak learning rate (default {d.lr})")
    parser.add_argument(
        "--dropout",
        type=float,
        default=d.dropout,
        help=f"every dropout probability of the backbone, kept by fine-tuning (default {d.dropout})",
    )


def run(args: argparse.Namespace) -> int:
    fields = (
        "vocab_size",
        "d_model",
        "layers",
        "heads",
        "d_ff",
        "max_len",
        "steps",
        "batch_size",
        "lr",
        "seed",
        "threads",
        "dropout",
    )
    settings = PretrainSettings(arch=args.arch, **{k: getattr(args, k) for k in fields})
    summary = build_demo_backbone(args.data, args.out, settings, args.features_image, args.features_video)
    for name in summary["objectives"]:
        print(
            f"{args.out}: {name} loss {summary['eval_loss']['before'][name]:.3f} -> "
            f"{summary['eval_loss']['after'][name]:.3f}"
        )
    return 0
