"""`vlpeft tables`: paper-style tables, a summary of every number and the efficiency plot."""

from __future__ import annotations

import argparse

from vlpeft.report import build_report
from vlpeft.report.paper import parse_paper_args
from vlpeft.report.runs import expand_runs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", nargs="+", required=True, metavar="GLOB_OR_FILE",
                        help="run metrics.json files or glob patterns (quote them; ** allowed)")
    parser.add_argument("--out", default="results",
                        help="output folder: tables/, metrics/summary.json, plots/ (default: results)")
    parser.add_argument("--method-order", default=None, metavar="M1,M2,...",
                        help="row order (comma-separated); default: the PET registry order, then "
                             "other methods as first seen")
    parser.add_argument("--paper", action="append", default=[], metavar="GROUP_BACKBONE=PAPER/TABLE[,...]",
                        help="the paper table(s) a (group, backbone) reproduces, e.g. "
                             "image_bart=VL-PET/table2_image_text; repeatable")
    parser.add_argument("--paper-tables", default="config/paper/paper_tables.json",
                        help="the papers' numbers (default: config/paper/paper_tables.json)")
    parser.add_argument("--paper-map", default="config/paper/paper_map.json",
                        help="our names -> the papers' row/score names (default: config/paper/paper_map.json)")


def run(args: argparse.Namespace) -> int:
    order = [m.strip() for m in args.method_order.split(",") if m.strip()] if args.method_order else None
    summary = build_report(expand_runs(args.runs), args.out, method_order=order,
                           paper=parse_paper_args(args.paper),
                           paper_tables_path=args.paper_tables, paper_map_path=args.paper_map)
    for t in summary["tables"]:
        print(f"{t['group']}/{t['backbone']}: {len(t['rows'])} methods -> {args.out}/tables/")
    return 0
