"""Run the benchmarks (`make bench`): measured ratios of each heavy step against the usual way.

    python benchmarks/run.py                    # all, default sizes -> benchmarks/results/<name>.json
    python benchmarks/run.py --only frames      # one (repeatable flag)
    python benchmarks/run.py --quick            # tiny sizes (smoke test) -> build/bench-quick/
    python benchmarks/run.py --only pipeline --full   # also the whole demo end to end (long)

Each results file is a JSON list of records ``{name, ours, baseline, unit, ratio, goal, machine,
...}`` with ``ratio`` higher-is-better for us (see benchmarks/README.md)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# torch before anything imports decord: decord2 preloads the pip NVIDIA libraries (libnvblas
# among them) into the global namespace, and torch imported after that crashes in CPU matmuls.
import torch  # noqa: E402,F401
from common import ROOT, Context, detect_device  # noqa: E402

BENCHMARKS = {
    "frames": "bench_frames",
    "features": "bench_features",
    "training": "bench_training",
    "pipeline": "bench_pipeline",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        action="append",
        choices=list(BENCHMARKS),
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one repeat (for the smoke test)")
    parser.add_argument("--full", action="store_true", help="also time the whole demo end to end (pipeline; long)")
    parser.add_argument(
        "--repeats", type=int, default=None, help="paired repeats per measurement (default 3; 1 with --quick)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder of the result files (default benchmarks/results, build/bench-quick with --quick)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=ROOT / "build" / "bench",
        help="scratch folder; generated videos and checkpoints are kept there for later runs",
    )
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def format_table(records: list[dict]) -> str:
    """A plain-text table of the records: name, ours, baseline, unit, ratio, goal, met."""

    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:.3g}"

    rows = [("name", "ours", "baseline", "unit", "ratio", "goal", "met")]
    for r in records:
        met = "-" if r["goal"] is None or r["ratio"] is None else ("yes" if r["ratio"] >= r["goal"] else "NO")
        rows.append((r["name"], num(r["ours"]), num(r["baseline"]), r["unit"], num(r["ratio"]), num(r["goal"]), met))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from vlpeft.io import write_json

    out = args.out or (ROOT / "build" / "bench-quick" if args.quick else ROOT / "benchmarks" / "results")
    ctx = Context(
        workdir=args.workdir.resolve(),
        quick=args.quick,
        full=args.full,
        repeats=args.repeats or (1 if args.quick else 3),
        device=args.device or detect_device(),
    )
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    everything = []
    for name in args.only or list(BENCHMARKS):
        start = time.perf_counter()
        print(
            f"== {name} ({'quick' if ctx.quick else 'default sizes'}, {ctx.repeats} repeats, {ctx.device})", flush=True
        )
        records = importlib.import_module(BENCHMARKS[name]).run(ctx)
        write_json(out / f"{name}.json", records)
        everything += records
        print(format_table(records), f"\n({time.perf_counter() - start:.0f} s) -> {out / f'{name}.json'}\n", flush=True)
    print(format_table(everything))
    return 0


if __name__ == "__main__":
    sys.exit(main())
