"""Reading run ``metrics.json`` files and aggregating them over seeds, one table per (group, backbone).

Mean and standard deviation over seeds: the std is the sample std (``ddof=1``, Bessel-corrected), the
usual reading of the papers' "subscript = std over 3 seeds"; with a single seed it is ``None``.
"""

from __future__ import annotations

import glob
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlpeft.io import read_json_object
from vlpeft.tasks import GROUPS, TASKS

REQUIRED_KEYS = ("group", "backbone", "method", "seed", "params", "tasks", "average")
PARAM_KEYS = ("trainable", "total", "percent")


@dataclass(frozen=True)
class Run:
    """One run's metrics.json."""

    path: str
    group: str
    backbone: str
    method: str
    seed: int
    params: dict[str, float]
    tasks: dict[str, dict[str, Any]]
    average: float


@dataclass(frozen=True)
class Stat:
    """Mean and sample std (ddof=1; None for one value) of one number over seeds."""

    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        return math.fsum(self.values) / len(self.values)

    @property
    def std(self) -> float | None:
        n = len(self.values)
        if n < 2:
            return None
        m = self.mean
        return math.sqrt(math.fsum((v - m) ** 2 for v in self.values) / (n - 1))

    def as_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "n": len(self.values), "values": list(self.values)}


@dataclass
class Row:
    """One method of one table, aggregated over its seeds."""

    method: str
    seeds: list[int]
    params: dict[str, Stat]  # trainable, total, percent
    metrics: dict[str, dict[str, Stat]]  # task -> metric -> Stat (every numeric metric)
    average: Stat


@dataclass
class Table:
    """All methods of one (group, backbone)."""

    group: str
    backbone: str
    tasks: list[str]
    rows: list[Row] = field(default_factory=list)
    prior: Row | None = None  # the constant-prediction baseline (``vlpeft.report.prior``), if given

    @property
    def name(self) -> str:
        return f"{self.group}_{self.backbone}"


def expand_runs(patterns: Sequence[str]) -> list[Path]:
    """Files named directly or by glob patterns (``**`` allowed), sorted, without duplicates."""
    paths: set[Path] = set()
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = glob.glob(pattern, recursive=True)
            if not matches:
                raise FileNotFoundError(f"--runs: no file matches {pattern!r}")
            paths.update(Path(m) for m in matches)
        elif os.path.isfile(pattern):
            paths.add(Path(pattern))
        else:
            raise FileNotFoundError(f"--runs: no such metrics file: {pattern}")
    return sorted(paths)


def _number(value: Any, path: Path, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{path}: key {key!r} must be a finite number, got {value!r}")
    return float(value)


def load_run(path: str | os.PathLike) -> Run:
    """Read and check one metrics.json (docs/interfaces.md); errors name the file and the key."""
    path = Path(path)
    data = read_json_object(path, "run metrics")
    for key in REQUIRED_KEYS:
        if key not in data:
            raise KeyError(f"{path}: missing key {key!r}")
    if not isinstance(data["params"], dict):
        raise ValueError(f"{path}: key 'params' must be an object")
    params = {}
    for key in PARAM_KEYS:
        if key not in data["params"]:
            raise KeyError(f"{path}: missing key 'params.{key}'")
        params[key] = _number(data["params"][key], path, f"params.{key}")
    tasks = data["tasks"]
    if not isinstance(tasks, dict) or not tasks:
        raise ValueError(f"{path}: key 'tasks' must be a non-empty object")
    for task, metrics in tasks.items():
        if task not in TASKS:
            raise KeyError(f"{path}: unknown task 'tasks.{task}'; known: {', '.join(TASKS)}")
        head = TASKS[task].metric
        if not isinstance(metrics, dict) or head not in metrics:
            raise KeyError(f"{path}: missing key 'tasks.{task}.{head}' (the task's headline metric)")
        _number(metrics[head], path, f"tasks.{task}.{head}")
    seed = data["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"{path}: key 'seed' must be an integer, got {seed!r}")
    for key in ("group", "backbone", "method"):
        if not isinstance(data[key], str) or not data[key]:
            raise ValueError(f"{path}: key {key!r} must be a non-empty string")
    return Run(
        str(path),
        data["group"],
        data["backbone"],
        data["method"],
        seed,
        params,
        tasks,
        _number(data["average"], path, "average"),
    )


def _numeric_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _aggregate_row(method: str, runs: list[Run]) -> Row:
    runs = sorted(runs, key=lambda r: r.seed)
    metrics: dict[str, dict[str, Stat]] = {}
    for task in sorted({t for r in runs for t in r.tasks}):
        per_run = [_numeric_metrics(r.tasks[task]) for r in runs if task in r.tasks]
        keys = sorted(set().union(*per_run))
        metrics[task] = {k: Stat(tuple(m[k] for m in per_run if k in m)) for k in keys}
    return Row(
        method=method,
        seeds=[r.seed for r in runs],
        params={k: Stat(tuple(r.params[k] for r in runs)) for k in PARAM_KEYS},
        metrics=metrics,
        average=Stat(tuple(r.average for r in runs)),
    )


def _task_columns(group: str, runs: Iterable[Run]) -> list[str]:
    present = {t for r in runs for t in r.tasks}
    order = list(GROUPS.get(group, ())) + list(TASKS)
    return [t for t in dict.fromkeys(order) if t in present]


def order_methods(seen: Iterable[str], method_order: Sequence[str] | None) -> list[str]:
    """Methods in the given order (default: the PET registry's), then unknown ones as first seen."""
    seen = list(dict.fromkeys(seen))
    order = list(method_order) if method_order else registry_order()
    return [m for m in order if m in seen] + [m for m in seen if m not in order]


def registry_order() -> list[str]:
    """Method names in ``vlpeft.pet.registry.METHODS`` order, or [] if the registry is absent."""
    try:
        from vlpeft.pet.registry import METHODS
    except ImportError:
        return []
    return list(METHODS)


PRIOR_NAME = "prior"


def prior_row(tasks: Sequence[str], prior: dict[str, dict[str, Any]], where: str = "") -> Row:
    """The prior as a table row: one value per task's headline metric, Avg their mean, 0 parameters."""
    missing = [t for t in tasks if t not in prior]
    if missing:
        raise KeyError(f"prior{where}: no prior for task(s) {', '.join(missing)}")
    metrics = {t: {TASKS[t].metric: Stat((float(prior[t]["score"]),))} for t in tasks}
    avg = math.fsum(float(prior[t]["score"]) for t in tasks) / len(tasks)
    zero = Stat((0.0,))
    return Row(PRIOR_NAME, [], {"trainable": zero, "total": zero, "percent": zero}, metrics, Stat((avg,)))


def build_tables(runs: Sequence[Run], method_order: Sequence[str] | None = None) -> list[Table]:
    """Group runs by (group, backbone), one row per method (mean/std over seeds), sorted tables."""
    by_key: dict[tuple[str, str, str, int], Run] = {}
    for run in runs:
        key = (run.group, run.backbone, run.method, run.seed)
        if key in by_key:
            raise ValueError(
                f"two metrics files for group={key[0]} backbone={key[1]} method={key[2]} "
                f"seed={key[3]}: {by_key[key].path} and {run.path}"
            )
        by_key[key] = run
    tables = []
    for group, backbone in sorted({(r.group, r.backbone) for r in runs}):
        mine = [r for r in runs if (r.group, r.backbone) == (group, backbone)]
        table = Table(group, backbone, _task_columns(group, mine))
        for method in order_methods((r.method for r in mine), method_order):
            table.rows.append(_aggregate_row(method, [r for r in mine if r.method == method]))
        tables.append(table)
    return tables
