"""`vlpeft tables`: paper-style tables and the efficiency plot from run metrics (``build_report``).

``build_report`` writes, under ``out_dir``:

- ``tables/<group>_<backbone>.{md,tex,csv}``: one row per method, mean ± sample std over seeds, the
  column's best mean in bold and ``≈`` where a row differs from it by less than the seeds' std; with
  ``prior``, a first row ``prior``: the best constant prediction (``vlpeft.report.prior``);
- ``metrics/summary.json``: every number (all metrics, per-seed values, paper rows and differences);
- ``plots/efficiency.{png,svg}``: average score vs trainable %.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vlpeft.io import atomic_path, write_json
from vlpeft.report.paper import PaperRow, load_paper_map, load_paper_tables, paper_rows
from vlpeft.report.plot import plot_efficiency
from vlpeft.report.render import TIE, cells, column_keys, column_marks, to_csv, to_latex, to_markdown, within_std
from vlpeft.report.runs import Table, build_tables, load_run, order_methods, prior_row

__all__ = ["build_report"]

SUMMARY_NOTE = (
    "Scores on a 0-100 scale (CIDEr x100). std = sample standard deviation (ddof=1) over "
    "seeds, null with one seed. diff = ours (mean) - paper. within_std_of_best: the headline "
    "mean differs from the column's best by less than the larger of the two stds. avg_within_std: "
    "pairs of methods whose Avg means differ by less than the larger of their stds. prior: the "
    "best constant prediction chosen on the train split, scored on the evaluation split."
)


def _file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name)


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _paper_dict(p: PaperRow | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"table": p.table, "row": p.row, "params_pct": p.params_pct, "scores": p.scores, "std": p.std}


def _summary(
    table: Table, papers: Mapping[str, PaperRow], paper_tables: list[str], prior: Mapping[str, Any] | None
) -> dict[str, Any]:
    rows = []
    marks = column_marks(table)
    for row in table.rows:
        paper = papers.get(row.method)
        rows.append(
            {
                "method": row.method,
                "seeds": row.seeds,
                "params": {k: s.as_dict() for k, s in row.params.items()},
                "tasks": {t: {m: s.as_dict() for m, s in ms.items()} for t, ms in row.metrics.items()},
                "average": row.average.as_dict(),
                "headline": {
                    k: {
                        "mean": c.ours.mean if c.ours else None,
                        "std": c.ours.std if c.ours else None,
                        "paper": c.paper,
                        "diff": c.diff,
                        "best": marks.get((row.method, k)) == "best",
                        "within_std_of_best": marks.get((row.method, k)) == TIE,
                    }
                    for k, c in zip(column_keys(table), cells(table, row, paper))
                },
                "paper": _paper_dict(paper),
            }
        )
    ties = [
        [a.method, b.method]
        for i, a in enumerate(table.rows)
        for b in table.rows[i + 1 :]
        if within_std(a.average, b.average)
    ]
    out: dict[str, Any] = {
        "group": table.group,
        "backbone": table.backbone,
        "tasks": table.tasks,
        "paper_tables": paper_tables,
        "rows": rows,
        "avg_within_std": ties,
    }
    if table.prior is not None and prior is not None:
        out["prior"] = {"tasks": {t: dict(prior[t]) for t in table.tasks}, "average": table.prior.average.mean}
    return out


def build_report(
    run_files: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    method_order: Sequence[str] | None = None,
    paper: Mapping[str, Sequence[str]] | None = None,
    paper_tables_path: str | os.PathLike | None = None,
    paper_map_path: str | os.PathLike | None = None,
    prior: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Read the runs' metrics.json files and write tables, summary and plot under ``out_dir``.

    ``prior`` maps every task of the tables to its prior (``vlpeft.report.prior.compute_prior``);
    given, every table starts with a ``prior`` row.

    ``paper`` maps ``"<group>_<backbone>"`` to the paper tables it reproduces (``"<paper>/<table id>"``,
    in priority order); it needs ``paper_tables_path`` and ``paper_map_path``. Returns the summary.
    """
    if not run_files:
        raise ValueError("no metrics.json files given")
    tables = build_tables([load_run(p) for p in run_files], method_order)
    if prior is not None:
        for t in tables:
            t.prior = prior_row(t.tasks, {k: dict(v) for k, v in prior.items()}, f" of table {t.name}")
    paper = dict(paper or {})
    papers: dict[str, dict[str, PaperRow]] = {}
    verification: dict[str, str] = {}
    if paper:
        if paper_tables_path is None or paper_map_path is None:
            raise ValueError("paper comparison needs both the paper tables and the paper map files")
        known = {t.name for t in tables}
        unknown = sorted(set(paper) - known)
        if unknown:
            raise KeyError(f"--paper: no runs for {', '.join(unknown)}; tables: {', '.join(sorted(known))}")
        ptables, pmap = load_paper_tables(paper_tables_path), load_paper_map(paper_map_path)
        for t in tables:
            if t.name in paper:
                papers[t.name] = paper_rows(paper[t.name], t.backbone, ptables, pmap)
        verification = {tid: str(ptables[tid].get("verification", "unknown")) for ids in paper.values() for tid in ids}
    out = Path(out_dir)
    summary_tables = []
    for t in tables:
        ids, rows = list(paper.get(t.name, [])), papers.get(t.name, {})
        stem = out / "tables" / _file_stem(t.name)
        _write_text(stem.parent / f"{stem.name}.md", to_markdown(t, rows, ids, verification))
        _write_text(stem.parent / f"{stem.name}.tex", to_latex(t, rows, ids, verification))
        _write_text(stem.parent / f"{stem.name}.csv", to_csv(t, rows, ids))
        summary_tables.append(_summary(t, rows, ids, prior))
    order = order_methods((r.method for t in tables for r in t.rows), method_order)
    plot_efficiency(tables, papers, order, out / "plots" / "efficiency.png", out / "plots" / "efficiency.svg")
    summary = {"note": SUMMARY_NOTE, "tables": summary_tables}
    write_json(out / "metrics" / "summary.json", summary)
    return summary
