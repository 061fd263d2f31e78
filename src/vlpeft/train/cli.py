"""`vlpeft train`: train one (group, backbone, method, seed) run into ``--out``."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from vlpeft.device import DEVICE_HELP, device_arg
from vlpeft.train.build import DEFAULT_SEED, RunSpec, backbone_display_name


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    """``["k=v", ...]`` -> dict; values parsed as JSON (numbers, true/false, lists), else strings."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {pair!r}: expected KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared with `vlpeft evaluate`: data, features, backbone, device."""
    parser.add_argument("--data", required=True, help="dataset directory data/<ds> (annotations/<task>/<split>.jsonl)")
    parser.add_argument("--features-image", help="image feature cache (HDF5, (49, C) grids); image runs")
    parser.add_argument("--features-video", help="video feature cache (HDF5, (T, D) frames); video runs")
    parser.add_argument("--backbone", required=True,
                        help="backbone: local model directory or hub name (a project config name with --from-config)")
    parser.add_argument("--device", default="auto", type=device_arg,
                        help=f"{DEVICE_HELP}; fp32 unless the run was trained with --precision bf16")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser)
    parser.add_argument("--backbone-name", help="name recorded for the backbone (default: last component of --backbone)")
    parser.add_argument("--from-config", action="store_true",
                        help="build the backbone from a project config (random weights), e.g. tiny-t5")
    parser.add_argument("--method", required=True, help="PET method name (see vlpeft.pet.METHODS)")
    parser.add_argument("--group", required=True, choices=("image", "video"))
    parser.add_argument("--tasks", help="comma-separated tasks (default: all four of the group)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"run seed (default {DEFAULT_SEED})")
    parser.add_argument("--out", required=True, help="run directory, e.g. runs/<group>/<backbone>/<method>/seed<S>")
    parser.add_argument("--epochs", type=int, default=20, help="epochs (default 20)")
    parser.add_argument("--batch-size", type=int, default=32,
                        help="B per process: image tasks use floor(B * batch_scale), video tasks B (default 32)")
    parser.add_argument("--lr", type=float, help="peak learning rate (default: the method's paper lr)")
    parser.add_argument("--lr-scale", type=float, default=1.0,
                        help="multiplies the peak lr (default 1; the demo's tiny backbones use 10)")
    parser.add_argument("--warmup-ratio", type=float, default=0.1, help="linear warm-up fraction (default 0.1)")
    parser.add_argument("--clip-norm", type=float, default=5.0, help="gradient clipping norm (default 5)")
    parser.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay (default 0.01)")
    parser.add_argument("--fix-no-decay", action="store_true", help="quirk F5 fixed: no weight decay on norm weights")
    parser.add_argument("--fix-gqa-prefix", action="store_true", help='quirk F3 fixed: GQA prompt "gqa: " not "gpa: "')
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"),
                        help="fp32 (default, as the official scripts) or bf16 autocast on CUDA; recorded in run.json")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a method config key (repeatable; JSON values)")
    parser.add_argument("--checkpoint-every", type=int, default=0, help="steps between checkpoints (0: none)")
    parser.add_argument("--max-steps", type=int, help="stop after this many steps (the schedule spans them)")
    parser.add_argument("--val-every", type=int, default=0, help="epochs between validation-loss passes (0: none)")
    parser.add_argument("--keep-best-val", action="store_true",
                        help="decode and score the val split after every epoch and keep the adapter of the best mean "
                             "score as adapter_best.safetensors (VL-PET's video trainer); evaluate reports both")
    parser.add_argument("--num-workers", type=int, default=0, help="DataLoader worker processes (default 0)")


def run(args: argparse.Namespace) -> int:
    import torch

    from vlpeft.progress import train_summary
    from vlpeft.train.trainer import TrainConfig, train_run

    if args.threads:
        torch.set_num_threads(args.threads)
    spec = RunSpec(group=args.group, backbone=args.backbone_name or backbone_display_name(args.backbone),
                   method=args.method, seed=args.seed,
                   tasks=[t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else [],
                   overrides=parse_sets(args.set), from_config=args.from_config,
                   fix_gqa_prefix=args.fix_gqa_prefix, precision=args.precision)
    cfg = TrainConfig(run=spec, data=args.data, backbone=args.backbone, out=args.out,
                      features_image=args.features_image, features_video=args.features_video,
                      epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, lr_scale=args.lr_scale, warmup_ratio=args.warmup_ratio,
                      clip_norm=args.clip_norm, weight_decay=args.weight_decay, fix_no_decay=args.fix_no_decay,
                      checkpoint_every=args.checkpoint_every, max_steps=args.max_steps, val_every=args.val_every,
                      keep_best_val=args.keep_best_val,
                      device=args.device, num_workers=args.num_workers, progress=not args.no_progress)
    adapter = train_run(cfg)
    if os.environ.get("RANK", "0") == "0":
        print(adapter)
        print(f"{cfg.run.method}: {train_summary(adapter.parent)}")
    return 0
