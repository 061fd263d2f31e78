"""`vlpeft demo`: generate the deterministic demo world (a thin shell over ``vlpeft.data.demo``)."""

from __future__ import annotations

import argparse

from vlpeft.data.demo.params import DEFAULTS, PARAMS, PRESETS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output folder, e.g. data/demo")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument(
        "--size",
        choices=list(PRESETS),
        default="default",
        help="size preset: tiny (tests), small, default (the embedded demo)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    group = parser.add_argument_group("world parameters (each overrides the --size preset)")
    for key, (default, help_) in PARAMS.items():
        group.add_argument(
            f"--{key.replace('_', '-')}",
            dest=key,
            type=type(default),
            default=None,
            metavar=type(default).__name__.upper(),
            help=f"{help_} (default size: {default})",
        )


def run(args: argparse.Namespace) -> int:
    from vlpeft.data.demo import generate  # imported here: `vlpeft --help` stays light

    overrides = {k: getattr(args, k) for k in DEFAULTS if getattr(args, k) is not None}
    manifest = generate(args.out, seed=args.seed, size=args.size, progress=not args.no_progress, **overrides)
    counts = ", ".join(f"{task} {sum(splits.values())}" for task, splits in manifest["examples"].items())
    print(
        f"demo world (seed {args.seed}, size {args.size}) in {args.out}: "
        f"{len(manifest['images'])} images, {len(manifest['videos'])} videos; examples: {counts}"
    )
    return 0
