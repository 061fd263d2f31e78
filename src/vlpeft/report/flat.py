"""`vlpeft flat-metrics`: the scores and training curves in the flat shapes DVC reads.

DVC's ``metrics show/diff`` and ``exp show`` list the numbers of a JSON file's (nested) mappings and
skip lists, so ``metrics/summary.json`` (tables as lists) shows no score. This verb writes:

- ``<scores>/<group>_<backbone>.json``: one file per table, ``method -> task -> headline score``
  (mean over seeds, the number of the table's cell) plus ``average`` (the Avg column) and
  ``trainable_percent``; a table's ``prior`` row, if any, as method ``prior``;
- ``<curves>/loss/<run>.csv``: one row per optimizer step of a run, ``step,epoch,task,loss`` (the
  loss of rank 0's batch), and ``<curves>/lr/<run>.csv``: ``step,lr`` (one folder per quantity, so
  that DVC draws each on its own axis, dvc.yaml's top-level ``plots``);
- ``<curves>/epoch/<run>.csv``: one row per epoch: ``epoch``, ``train_loss`` (the mean of the
  epoch's step losses), ``val_average`` and ``val_<task>`` (the validation split decoded and scored,
  train ``--keep-best-val``; ``val_average`` is empty for runs trained without it, so that every run
  has the file DVC's plot definition names) and ``val_loss_<task>`` (teacher-forced, ``val_every``).

``<run>`` is ``<group>_<backbone>_<method>_seed<seed>``, from the last four folders of the run
(runs/<name>/<group>/<backbone>/<method>/seed<seed>). Same inputs, same bytes (sorted keys, Python's
shortest float repr, no times).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from vlpeft.io import atomic_path, read_json_object, write_json

TRAIN_FIELDS = ("step", "epoch", "task", "loss", "lr")
CURVES = {"loss": ("step", "epoch", "task", "loss"), "lr": ("step", "lr")}  # folder -> columns
CURVE_FOLDERS = (*CURVES, "epoch")


def flat_scores(summary: dict[str, Any]) -> dict[str, dict[str, dict[str, float | None]]]:
    """``summary.json`` (vlpeft tables) -> ``{"<group>_<backbone>": {method: {task: score}}}``."""
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for table in summary.get("tables", []):
        name = f"{table['group']}_{table['backbone']}"
        methods: dict[str, dict[str, float | None]] = {}
        if "prior" in table:
            prior = table["prior"]
            methods["prior"] = {**{t: v["score"] for t, v in prior["tasks"].items()}, "average": prior["average"]}
        for row in table["rows"]:
            scores = {task: cell["mean"] for task, cell in row["headline"].items()}
            percent = row.get("params", {}).get("percent")
            if percent is not None:
                scores["trainable_percent"] = percent["mean"]
            methods[row["method"]] = scores
        out[name] = methods
    return out


def run_name(log_path: str | os.PathLike) -> str:
    """``.../<group>/<backbone>/<method>/seed<seed>/train_log.jsonl`` -> ``<group>_<backbone>_<method>_seed<seed>``."""
    parts = Path(log_path).parent.parts[-4:]
    if len(parts) < 4:
        raise ValueError(f"{log_path}: expected runs/<name>/<group>/<backbone>/<method>/seed<seed>/train_log.jsonl")
    return "_".join(parts)


def read_log(path: str | os.PathLike) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}: line {n} is not JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}: line {n} is not a JSON object")  # noqa: TRY004 (a bad file, one line)
            rows.append(row)
    return rows


def curves(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A train log's rows -> (per-step rows, per-epoch rows: train loss mean and validation)."""
    train = [{k: r[k] for k in TRAIN_FIELDS} for r in rows if r.get("split") is None and "step" in r]
    epochs: dict[int, dict[str, Any]] = {}
    losses: dict[int, list[float]] = {}
    for r in train:
        losses.setdefault(int(r["epoch"]), []).append(float(r["loss"]))
    for r in rows:
        if r.get("split") != "val":
            continue
        row = epochs.setdefault(int(r["epoch"]), {})
        if "scores" in r:
            row.update({f"val_{t}": v for t, v in r["scores"].items()})
            row["val_average"] = r.get("average")
        if "loss" in r and "task" in r:
            row[f"val_loss_{r['task']}"] = r["loss"]
    out = []
    for epoch in sorted(set(losses) | set(epochs)):
        loss = losses.get(epoch)
        out.append(
            {
                "epoch": epoch,
                "train_loss": sum(loss) / len(loss) if loss else None,
                "val_average": None,
                **epochs.get(epoch, {}),
            }
        )
    return train, out


def _csv_text(rows: list[dict[str, Any]], fields: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow(
            ["" if row.get(f) is None else repr(row[f]) if isinstance(row[f], float) else row[f] for f in fields]
        )
    return buf.getvalue()


def _write(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_curves(log_path: str | os.PathLike, out_dir: str | os.PathLike) -> str:
    """Write ``loss/<run>.csv``, ``lr/<run>.csv`` and ``epoch/<run>.csv`` under ``out_dir``."""
    name = run_name(log_path)
    train, val = curves(read_log(log_path))
    if not train:
        raise ValueError(f"{log_path}: no training steps in the log")
    for folder, fields in CURVES.items():
        _write(Path(out_dir) / folder / f"{name}.csv", _csv_text(train, list(fields)))
    first = ["epoch", "train_loss", "val_average"]
    epoch_fields = first + sorted({k for r in val for k in r} - set(first))
    _write(Path(out_dir) / "epoch" / f"{name}.csv", _csv_text(val, epoch_fields))
    return name


def write_scores(summary_path: str | os.PathLike, out_dir: str | os.PathLike) -> list[str]:
    tables = flat_scores(read_json_object(summary_path, "tables summary"))
    for name, methods in tables.items():
        write_json(Path(out_dir) / f"{name}.json", methods)
    return sorted(tables)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--summary", required=True, help="metrics/summary.json written by vlpeft tables")
    parser.add_argument(
        "--scores-out",
        required=True,
        metavar="DIR",
        help="folder of <group>_<backbone>.json (method -> task -> score): DVC metrics",
    )
    parser.add_argument(
        "--logs",
        nargs="*",
        default=[],
        metavar="TRAIN_LOG",
        help="runs' train_log.jsonl files (runs/<name>/<group>/<backbone>/<method>/seed<seed>/)",
    )
    parser.add_argument(
        "--curves-out",
        default=None,
        metavar="DIR",
        help="folder of loss/, lr/ and epoch/<run>.csv: DVC plots (needed with --logs)",
    )


def remove_stale(folder: str | os.PathLike, suffix: str, keep: set[str]) -> list[str]:
    """Delete ``folder/*<suffix>`` files whose stem is not in ``keep`` (runs or tables gone from the
    config would otherwise stay in DVC's metrics and plots). The folders belong to this verb."""
    removed = []
    folder = Path(folder)
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.is_file() and (path.suffix == suffix or path.name.startswith(".")) and path.stem not in keep:
                path.unlink()
                removed.append(str(path))
    return removed


def run(args: argparse.Namespace) -> int:
    if args.logs and not args.curves_out:
        raise SystemExit("vlpeft flat-metrics: --logs needs --curves-out")
    names = write_scores(args.summary, args.scores_out)
    remove_stale(args.scores_out, ".json", set(names))
    print(f"scores: {', '.join(names)} -> {args.scores_out}/")
    if args.curves_out:
        runs = [write_curves(log, args.curves_out) for log in args.logs]
        for folder in CURVE_FOLDERS:
            remove_stale(Path(args.curves_out) / folder, ".csv", set(runs))
        print(f"curves: {len(runs)} runs -> {args.curves_out}/{{{','.join(CURVE_FOLDERS)}}}/")
    return 0
