"""`vlpeft train`: train one (group, backbone, method, seed) run into ``--out``.

Every flag is named as its config key (``train.grad_clip`` -> ``--grad-clip``, ``method_overrides`` ->
``--method-override``) and as the ``TrainConfig`` / ``RunSpec`` field it sets; the defaults are those
dataclasses' defaults (``vlpeft.cli_args.default_of``)."""

from __future__ import annotations

import argparse
import os

from vlpeft.cli_args import (
    add_method_override_argument,
    add_run_arguments,
    default_of,
    parse_key_values,
    task_list,
)
from vlpeft.tasks import GROUPS
from vlpeft.train.build import RunSpec, backbone_display_name
from vlpeft.train.trainer import TrainConfig


def _train_default(name: str):
    return default_of(TrainConfig, name)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser)
    seed = default_of(RunSpec, "seed")
    parser.add_argument(
        "--backbone-name", help="name recorded for the backbone (default: last component of --backbone)"
    )
    parser.add_argument(
        "--from-config",
        action="store_true",
        help="build the backbone from a project config (random weights), e.g. tiny-t5",
    )
    parser.add_argument("--method", required=True, help="PET method name (see vlpeft.pet.METHODS)")
    parser.add_argument("--group", required=True, choices=tuple(GROUPS))
    parser.add_argument("--tasks", help="comma-separated tasks (default: all four of the group)")
    parser.add_argument("--seed", type=int, default=seed, help=f"run seed (default {seed})")
    parser.add_argument(
        "--out", required=True, help="run directory, e.g. runs/<name>/<group>/<backbone>/<method>/seed<S>"
    )
    parser.add_argument("--epochs", type=int, default=_train_default("epochs"), help="epochs (default %(default)s)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=_train_default("batch_size"),
        help="B per process: image tasks use floor(B * batch_scale), video tasks B (default %(default)s)",
    )
    parser.add_argument("--lr", type=float, help="peak learning rate (default: the method's paper lr)")
    parser.add_argument(
        "--lr-scale",
        type=float,
        default=_train_default("lr_scale"),
        help="multiplies the peak lr (default %(default)s; the demo's tiny backbones use 10)",
    )
    parser.add_argument(
        "--warmup-ratio",
        type=float,
        default=_train_default("warmup_ratio"),
        help="linear warm-up fraction (default %(default)s)",
    )
    parser.add_argument(
        "--grad-clip",
        type=float,
        default=_train_default("grad_clip"),
        help="gradient clipping norm (default %(default)s)",
    )
    parser.add_argument(
        "--weight-decay",
        type=float,
        default=_train_default("weight_decay"),
        help="AdamW weight decay (default %(default)s)",
    )
    parser.add_argument("--fix-no-decay", action="store_true", help="quirk F5 fixed: no weight decay on norm weights")
    parser.add_argument("--fix-gqa-prefix", action="store_true", help='quirk F3 fixed: GQA prompt "gqa: " not "gpa: "')
    parser.add_argument(
        "--precision",
        default=default_of(RunSpec, "precision"),
        choices=("fp32", "bf16"),
        help="fp32 (default, as the official scripts) or bf16 autocast on CUDA; recorded in run.json",
    )
    add_method_override_argument(
        parser, "override a method config key (repeatable; JSON values); config method_overrides.<method>"
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=_train_default("checkpoint_every"),
        help="steps between checkpoints (0: none)",
    )
    parser.add_argument("--max-steps", type=int, help="stop after this many steps (the schedule spans them)")
    parser.add_argument(
        "--val-every",
        type=int,
        default=_train_default("val_every"),
        help="epochs between validation-loss passes (0: none)",
    )
    parser.add_argument(
        "--keep-best-val",
        action="store_true",
        help="decode and score the val split after every epoch and keep the adapter of the best mean "
        "score as adapter_best.safetensors (VL-PET's video trainer); evaluate reports both",
    )
    parser.add_argument(
        "--num-workers",
        type=int,
        default=_train_default("num_workers"),
        help="DataLoader worker processes (default %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    import torch

    from vlpeft.progress import train_summary
    from vlpeft.train.trainer import train_run

    if args.threads:
        torch.set_num_threads(args.threads)
    spec = RunSpec(
        group=args.group,
        backbone=args.backbone_name or backbone_display_name(args.backbone),
        method=args.method,
        seed=args.seed,
        tasks=task_list(args.tasks),
        method_overrides=parse_key_values(args.method_overrides),
        from_config=args.from_config,
        fix_gqa_prefix=args.fix_gqa_prefix,
        precision=args.precision,
    )
    cfg = TrainConfig(
        run=spec,
        data=args.data,
        backbone=args.backbone,
        out=args.out,
        features_image=args.features_image,
        features_video=args.features_video,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_scale=args.lr_scale,
        warmup_ratio=args.warmup_ratio,
        grad_clip=args.grad_clip,
        weight_decay=args.weight_decay,
        fix_no_decay=args.fix_no_decay,
        checkpoint_every=args.checkpoint_every,
        max_steps=args.max_steps,
        val_every=args.val_every,
        keep_best_val=args.keep_best_val,
        device=args.device,
        num_workers=args.num_workers,
        progress=not args.no_progress,
    )
    adapter = train_run(cfg)
    if os.environ.get("RANK", "0") == "0":
        print(adapter)
        print(f"{cfg.run.method}: {train_summary(adapter.parent)}")
    return 0
