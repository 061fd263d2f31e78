"""`vlpeft evaluate`: decode and score a trained run (``vlpeft.eval.evaluate.evaluate_run``).

Every flag is named as its config key and as the parameter of ``evaluate_run`` it sets
(``evaluate.meteor`` -> ``--meteor/--no-meteor`` -> ``meteor``); defaults are ``evaluate_run``'s."""

from __future__ import annotations

import argparse

from vlpeft.cli_args import add_run_arguments, default_of, task_list
from vlpeft.eval.evaluate import evaluate_run
from vlpeft.eval.vqa_norm import VQA_SCORERS
from vlpeft.tasks import SPLITS, get_task


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="run directory written by `vlpeft train`")
    add_run_arguments(parser)
    parser.add_argument(
        "--split",
        default=default_of(evaluate_run, "split"),
        choices=SPLITS,
        help="split to decode (default %(default)s)",
    )
    parser.add_argument("--tasks", help="comma-separated subset of the run's tasks (default: all)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=default_of(evaluate_run, "batch_size"),
        help="examples per decoding batch (default %(default)s)",
    )
    parser.add_argument(
        "--vqa-scorer",
        default=default_of(evaluate_run, "vqa_scorer"),
        choices=VQA_SCORERS,
        help="VQA evaluator: official2021 (default) or vladapter2017, the one behind the papers' tables",
    )
    parser.add_argument(
        "--meteor",
        action=argparse.BooleanOptionalAction,
        default=default_of(evaluate_run, "meteor"),
        help="score METEOR (default); --no-meteor records it as null: its Java start-up costs seconds per run",
    )


def run(args: argparse.Namespace) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    metrics = evaluate_run(
        args.run,
        args.data,
        args.backbone,
        args.split,
        args.features_image,
        args.features_video,
        task_list(args.tasks) or None,
        args.batch_size,
        args.device,
        not args.no_progress,
        meteor=args.meteor,
        vqa_scorer=args.vqa_scorer,
    )
    for task, values in metrics["tasks"].items():
        key = get_task(task).metric
        print(f"{task}: {key} {values[key]:.2f}")
    print(f"average: {metrics['average']:.2f}")
    if "best_avg_val" in metrics:
        best = metrics["best_avg_val"]
        print(f"best-average-validation epoch {best['epoch']}: average {best['average']:.2f}")
    return 0
