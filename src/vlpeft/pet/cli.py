"""``vlpeft params``: the "updated parameters (%)" column of a method on a backbone, computed from the
instantiated model (docs/methods.md E). Full-size backbones are built under ``torch.device("meta")``: the
counts are exact and nothing is allocated."""

from __future__ import annotations

import argparse
import json
import sys

import torch

from vlpeft.cli_args import (
    METHOD_OVERRIDE_FLAG,
    add_method_override_argument,
    parse_key_values,
)
from vlpeft.tasks import GROUPS

from .accounting import count_parameters
from .registry import METHODS, apply_method

BACKBONES = ("bart-base", "t5-base", "tiny-bart", "tiny-t5")
FEAT_DIM = {"image": 2048, "video": 512}  # CLIP RN101 grid / ViT-B/32 frame features (docs/methods.md C.5)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backbone", choices=BACKBONES, help="project backbone config")
    parser.add_argument("--method", choices=sorted(METHODS), help="PET method (registry name)")
    parser.add_argument("--group", choices=sorted(GROUPS), default="image", help="task group (default: image)")
    add_method_override_argument(
        parser,
        "override a method hyper-parameter (repeatable; config "
        f"method_overrides.<method>), e.g. {METHOD_OVERRIDE_FLAG} reduction_factor=4",
    )
    parser.add_argument("--all", action="store_true", help="every method on bart-base and t5-base for both task groups")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")


def params_row(backbone: str, group: str, method: str, method_overrides: dict | None = None) -> dict:
    """Build ``backbone`` for ``group`` (under the meta device), apply ``method``, count."""
    from vlpeft.models import build_model

    with torch.device("meta"):
        model = build_model(backbone, feat_dim=FEAT_DIM[group], from_config=True)
        apply_method(model, method, list(GROUPS[group]), method_overrides)
    trainable, total, percent = count_parameters(model)
    return {
        "backbone": backbone,
        "tasks": group,
        "method": method,
        "trainable": trainable,
        "total": total,
        "percent": round(percent, 3),
    }


def _table(rows: list[dict]) -> str:
    lines = [f"{'backbone':<10} {'tasks':<6} {'method':<24} {'trainable':>12} {'total':>12} {'percent':>8}"]
    for r in rows:
        lines.append(
            f"{r['backbone']:<10} {r['tasks']:<6} {r['method']:<24} {r['trainable']:>12,} "
            f"{r['total']:>12,} {r['percent']:>8.3f}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    method_overrides = parse_key_values(args.method_overrides)
    if args.all:
        if method_overrides:
            raise ValueError(f"{METHOD_OVERRIDE_FLAG} cannot be combined with --all (each method has its own settings)")
        jobs = [(b, g, m) for b in ("bart-base", "t5-base") for g in sorted(GROUPS) for m in METHODS]
    else:
        if not args.backbone or not args.method:
            raise ValueError("--backbone and --method are required (or use --all)")
        jobs = [(args.backbone, args.group, args.method)]
    from tqdm import tqdm

    rows = [params_row(b, g, m, method_overrides) for b, g, m in tqdm(jobs, disable=len(jobs) == 1, file=sys.stderr)]
    print(json.dumps(rows, indent=2) if args.json else _table(rows))
    return 0
