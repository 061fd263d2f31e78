"""`vlpeft tables`: paper-style tables, a summary of every number and the efficiency plot."""

from __future__ import annotations

import argparse

from vlpeft.report.build import build_report
from vlpeft.report.paper import parse_paper_args
from vlpeft.report.runs import expand_runs
from vlpeft.tasks import SPLITS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs",
        nargs="+",
        required=True,
        metavar="GLOB_OR_FILE",
        help="run metrics.json files or glob patterns (quote them; ** allowed)",
    )
    parser.add_argument(
        "--out", default="results", help="output folder: tables/, metrics/summary.json, plots/ (default: results)"
    )
    parser.add_argument(
        "--method-order",
        default=None,
        metavar="M1,M2,...",
        help="row order (comma-separated); default: the PET registry order, then other methods as first seen",
    )
    parser.add_argument(
        "--paper",
        action="append",
        default=[],
        metavar="GROUP_BACKBONE=PAPER/TABLE[,...]",
        help="the paper table(s) a (group, backbone) reproduces, e.g. image_bart=VL-PET/table2_image_text; repeatable",
    )
    parser.add_argument(
        "--paper-tables",
        default="config/paper/paper_tables.json",
        help="the papers' numbers (default: config/paper/paper_tables.json)",
    )
    parser.add_argument(
        "--paper-map",
        default="config/paper/paper_map.json",
        help="our names -> the papers' row/score names (default: config/paper/paper_map.json)",
    )
    parser.add_argument(
        "--data",
        default=None,
        metavar="DIR",
        help="the data set (data/<ds>): add a 'prior' row to every table, the best constant "
        "prediction chosen on its train split and scored on --split",
    )
    parser.add_argument("--split", default="test", choices=SPLITS, help="split the prior is scored on (default: test)")


def run(args: argparse.Namespace) -> int:
    order = [m.strip() for m in args.method_order.split(",") if m.strip()] if args.method_order else None
    runs = expand_runs(args.runs)
    prior = None
    if args.data is not None:
        from vlpeft.report.prior import compute_prior
        from vlpeft.report.runs import load_run

        tasks = dict.fromkeys(t for p in runs for t in load_run(p).tasks)
        prior = compute_prior(args.data, list(tasks), args.split)
    summary = build_report(
        runs,
        args.out,
        method_order=order,
        paper=parse_paper_args(args.paper),
        paper_tables_path=args.paper_tables,
        paper_map_path=args.paper_map,
        prior=prior,
    )
    for t in summary["tables"]:
        print(f"{t['group']}/{t['backbone']}: {len(t['rows'])} methods -> {args.out}/tables/")
        if "prior" in t:
            print(
                "  prior: "
                + ", ".join(f"{k} {v['score']:.2f} ({v['prediction']!r})" for k, v in t["prior"]["tasks"].items())
                + f"; Avg {t['prior']['average']:.2f}"
            )
    return 0
