"""Helpers shared by the readers: loading published annotation files, reading one field of one
record with a clear error, parsing time spans, deterministic ordering."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from vlpeft.io import read_jsonl


class RecordError(ValueError):
    """A published record lacks a key or has a value of the wrong kind."""


def load_records(path: str | os.PathLike) -> Any:
    """Load a JSON document (a list or an object) or a JSON-lines file (a list of objects).

    Published files mix both under either suffix (NLVR2's ``train.json`` is JSON lines), so the
    content decides: one JSON document first, then JSON lines."""
    path = Path(path)
    if path.suffix == ".jsonl":
        return read_jsonl(path)
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        if e.msg != "Extra data":  # not several documents: the file is broken
            raise ValueError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    return read_jsonl(path)


def record_list(data: Any, path: Path, key: str | None = None) -> list[dict]:
    """``data`` (or ``data[key]``) as a list of JSON objects, or an error naming the file.

    Without ``key``, one object is a list of one record (a JSON-lines file of one line)."""
    if key is None and isinstance(data, dict):
        data = [data]
    if key is not None:
        if not isinstance(data, dict) or key not in data:
            raise RecordError(f"{path}: expected a JSON object with key {key!r}")
        data = data[key]
    if not isinstance(data, list):
        raise RecordError(
            f"{path}: expected a list of records{f' under {key!r}' if key else ''}, got {type(data).__name__}"
        )
    for i, rec in enumerate(data):
        if not isinstance(rec, dict):
            raise RecordError(f"{path}: record {i}: expected a JSON object, got {type(rec).__name__}")
    return data


def field(rec: dict, names: str | Sequence[str], path: Path, index: int) -> Any:
    """The value of the first of ``names`` present in ``rec`` (the known spellings of one field)."""
    names = (names,) if isinstance(names, str) else tuple(names)
    for name in names:
        if name in rec:
            return rec[name]
    expected = repr(names[0]) if len(names) == 1 else f"one of {', '.join(map(repr, names))}"
    raise RecordError(
        f"{path}: record {index}: missing key {expected} (keys present: {', '.join(sorted(map(str, rec))) or 'none'})"
    )


def text_field(rec: dict, names: str | Sequence[str], path: Path, index: int, strip: bool = True) -> str:
    """A string field, stripped unless ``strip`` is false (video caption targets stay verbatim)."""
    value = field(rec, names, path, index)
    if not isinstance(value, str):
        raise RecordError(
            f"{path}: record {index}: key {names if isinstance(names, str) else names[0]!r} "
            f"should be a string, got {value!r}"
        )
    return value.strip() if strip else value


def id_field(rec: dict, names: str | Sequence[str], path: Path, index: int) -> str:
    """An identifier (published as int or str) as a non-empty string."""
    value = field(rec, names, path, index)
    if isinstance(value, bool) or not isinstance(value, (int, str)) or str(value) == "":
        raise RecordError(f"{path}: record {index}: bad identifier {value!r}")
    return str(value)


def parse_span(value: Any, path: Path, index: int) -> tuple[list[float], int]:
    """A time span ``"20.16-25.12"`` (TVQA, How2QA) or ``[35.73, 40.9]`` (TVC) as ``[start, end]``.

    Returns the span and the number of bounds that were not finite numbers ("NaN" in a few published
    records); those are replaced by 0.0 and counted by the caller."""
    parts: Sequence[Any]
    if isinstance(value, str):
        parts = value.split("-")
    elif isinstance(value, (list, tuple)):
        parts = value
    else:
        parts = ()
    try:
        span = [float(p) for p in parts]
    except (TypeError, ValueError):
        span = []
    if len(span) != 2:
        raise RecordError(
            f'{path}: record {index}: bad time span {value!r} (expected "start-end" or [start, end] in seconds)'
        )
    bad = sum(not math.isfinite(s) for s in span)
    return [s if math.isfinite(s) else 0.0 for s in span], bad


def parse_bool(value: Any, path: Path, index: int) -> bool:
    """NLVR2 labels: VL-T5 writes 0/1, the official release "True"/"False"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise RecordError(f'{path}: record {index}: bad label {value!r} (expected 0/1 or "True"/"False")')


def natural_key(text: str) -> tuple:
    """Sort key that orders digit runs by value ("q2" < "q10"): a stable, readable row order."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", text) if t)


def sort_rows(rows: Iterable[dict], source: str) -> list[dict]:
    """Rows ordered by id; a repeated id is an error naming ``source``."""
    ordered = sorted(rows, key=lambda r: natural_key(r["id"]))
    for a, b in zip(ordered, ordered[1:]):
        if a["id"] == b["id"]:
            raise RecordError(f"{source}: id {a['id']!r} appears more than once")
    return ordered
