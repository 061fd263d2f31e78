"""The papers' published numbers (config/paper/paper_tables.json) matched to our rows.

Which table a (group, backbone) reproduces comes from the run config (``--paper image_bart=VL-PET/...``,
a comma-separated list: for each method, the first listed table with a scored row for it wins). How
our names map to the paper's comes from a small JSON "paper map" (config/paper/paper_map.json):

    {"scores":    {task or "average": score key in the paper table},
     "backbones": {our backbone key: the paper rows' "backbone" value (tables mixing backbones)},
     "methods":   {"<paper>/<table id>": {our registry name: paper row name}}}
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vlpeft.io import read_json_object


@dataclass(frozen=True)
class PaperRow:
    """One published row, in our terms: scores keyed by our task names (and "average")."""

    table: str
    row: str
    params_pct: float | None
    scores: dict[str, float]
    std: dict[str, float]


def load_paper_tables(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """``{"<paper>/<table id>": table}`` from paper_tables.json (keys starting with _ skipped)."""
    data = read_json_object(path, "paper tables")
    return {
        f"{paper}/{tid}": table
        for paper, tables in data.items()
        if not paper.startswith("_")
        for tid, table in tables.items()
        if not tid.startswith("_")
    }


def load_paper_map(path: str | os.PathLike) -> dict[str, Any]:
    """The name mapping (see module docstring); errors name the file and the missing key."""
    data = read_json_object(path, "paper map")
    for key in ("scores", "backbones", "methods"):
        if not isinstance(data.get(key), dict):
            raise KeyError(f"{path}: missing key {key!r} (an object)")
    return data


def parse_paper_args(values: Sequence[str]) -> dict[str, list[str]]:
    """``["image_bart=VL-PET/t2,VL-Adapter/t1", ...]`` -> ``{"image_bart": ["VL-PET/t2", ...]}``."""
    out: dict[str, list[str]] = {}
    for value in values:
        key, sep, tables = value.partition("=")
        if not sep or not key or not tables:
            raise ValueError(f"--paper {value!r}: expected GROUP_BACKBONE=PAPER/TABLE[,PAPER/TABLE...]")
        out[key] = [t.strip() for t in tables.split(",") if t.strip()]
    return out


def paper_rows(
    table_ids: Sequence[str], backbone: str, paper_tables: Mapping[str, Any], paper_map: Mapping[str, Any]
) -> dict[str, PaperRow]:
    """Our method name -> the published row, from the first listed table that has it with scores."""
    found: dict[str, PaperRow] = {}
    for tid in table_ids:
        if tid not in paper_tables:
            raise KeyError(f"unknown paper table {tid!r}; known: {', '.join(sorted(paper_tables))}")
        names = paper_map["methods"].get(tid, {})
        for row in _rows_by_name(tid, paper_tables[tid], backbone, paper_map).values():
            ours = [m for m, paper_name in names.items() if paper_name == row["method"]]
            for m in ours:
                if m not in found and row.get("scores"):
                    found[m] = _paper_row(tid, row, paper_map["scores"])
    return found


def _rows_by_name(
    tid: str, table: Mapping[str, Any], backbone: str, paper_map: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    rows = table.get("rows", [])
    if any("backbone" in r for r in rows):  # a table that mixes backbones: keep ours
        if backbone not in paper_map["backbones"]:
            raise KeyError(
                f"paper table {tid!r} mixes backbones; add {backbone!r} to the paper map's "
                f"'backbones' (known: {', '.join(sorted(paper_map['backbones']))})"
            )
        want = paper_map["backbones"][backbone]
        rows = [r for r in rows if r.get("backbone") == want]
    return {r["method"]: r for r in rows}


def _paper_row(tid: str, row: Mapping[str, Any], score_keys: Mapping[str, str]) -> PaperRow:
    scores, std = {}, {}
    for ours, theirs in score_keys.items():
        if row["scores"].get(theirs) is not None:
            scores[ours] = float(row["scores"][theirs])
        if (row.get("scores_std") or {}).get(theirs) is not None:
            std[ours] = float(row["scores_std"][theirs])
    pct = row.get("params_pct")
    return PaperRow(tid, row["method"], None if pct is None else float(pct), scores, std)
