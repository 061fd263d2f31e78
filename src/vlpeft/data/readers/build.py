"""``data-prepare``: run the readers of one or more data manifests and write the project's
annotation layout into ``<out>``:

    <out>/annotations/<task>/{train,val,test}.jsonl   rows sorted by id, keys sorted (vlpeft.tasks schemas)
    <out>/manifest.json                               written last; removed first (it marks a complete set)

``manifest.json`` follows the demo world's (``generator``, ``version``, ``images``, ``videos``,
``examples``, ``sha256``) with these differences: ``images`` / ``videos`` map each id to the *list*
of splits using it (GQA test-dev images serve val and test; VALUE's val videos serve val and test),
and ``datasets`` / ``tasks`` record which published files each split came from and what was left out.
Preparing into a folder prepared before keeps the tasks of the other data sets (their files and
manifest entries), so image and video data sets, or data sets with different roots, can share one
``data/<ds>``. No absolute path or time stamp enters an output.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vlpeft.io import read_jsonl, sha256_file, write_json, write_jsonl
from vlpeft.progress import progress_bar as tqdm
from vlpeft.tasks import SPLITS, TASKS, visual_ids

from . import READERS
from .base import ReadResult
from .manifest import DataManifest, DatasetFiles, load_manifest
from .schema import validate_rows

GENERATOR = "vlpeft.data.readers"
VERSION = 1
DEFAULT_MANIFEST_DIR = "config/data"
VALIDATE_ROWS = 200  # rows per split checked against the schema (evenly spaced)


def manifest_path(name: str | os.PathLike, manifest_dir: str | os.PathLike = DEFAULT_MANIFEST_DIR) -> Path:
    """A manifest file given as a path, or ``<manifest_dir>/<name>.yaml`` for a data set name."""
    p = Path(name)
    if p.suffix in (".yaml", ".yml") or p.is_file():
        return p
    candidate = Path(manifest_dir) / f"{name}.yaml"
    if not candidate.is_file():
        known = sorted(f.stem for f in Path(manifest_dir).glob("*.yaml")) if Path(manifest_dir).is_dir() else []
        raise FileNotFoundError(
            f"{candidate}: no data manifest for {str(name)!r} (known in {manifest_dir}: {', '.join(known) or 'none'})"
        )
    return candidate


def read_dataset(
    manifest: DataManifest, root: str | os.PathLike, *, progress: bool = False, **options: Any
) -> ReadResult:
    """Run the reader of ``manifest`` on the files under ``root`` (options it does not take are ignored)."""
    if manifest.reader not in READERS:
        raise ValueError(f"{manifest.origin}: unknown reader {manifest.reader!r} (known: {', '.join(READERS)})")
    spec = READERS[manifest.reader]
    files = DatasetFiles(manifest, Path(root))
    spec.check_roles(files)
    result = spec.read(files, progress=progress, **{k: v for k, v in options.items() if k in spec.options})
    for task, splits in result.rows.items():
        for split, rows in splits.items():
            validate_rows(TASKS[task].family, rows, f"{manifest.dataset} {task} {split}", limit=VALIDATE_ROWS)
    return result


def file_digests(m: DataManifest, root: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """role -> ``{"path", "sha256", "pinned"}``: the sha256 of the file actually read (None for a
    folder or an absent optional file) beside the manifest's pinned one; a file whose digest differs
    from its pinned one is a ValueError naming both (docs/methods.md G)."""
    out = {}
    for role, e in m.files.items():
        path = Path(root) / e.path
        digest = sha256_file(path) if e.type == "file" and path.is_file() else None
        if e.sha256 is not None and digest is not None and digest != e.sha256:
            raise ValueError(
                f"{path}: sha256 {digest} differs from the one pinned in {m.origin} ({e.sha256}); "
                "a different release or a corrupt copy"
            )
        out[role] = {"path": e.path, "sha256": digest, "pinned": e.sha256}
    return out


def _dataset_entry(
    m: DataManifest, result: ReadResult, options: dict[str, Any], digests: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    spec = READERS[m.reader]
    return {
        "reader": m.reader,
        "manifest": Path(m.origin).name,
        "tasks": list(spec.tasks),
        "options": {k: v for k, v in options.items() if k in spec.options},
        "files": digests,
        "notes": result.notes,
    }


def _task_entry(m: DataManifest, result: ReadResult, task: str) -> dict[str, Any]:
    sources = {split: [m.files[role].path for role in roles] for split, roles in result.split_sources[task].items()}
    return {"dataset": m.dataset, "split_sources": sources, "dropped": result.dropped.get(task, {})}


def _previous(out: Path) -> dict[str, Any]:
    path = out / "manifest.json"
    if not path.is_file():
        return {}
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("generator") != GENERATOR:
        raise ValueError(
            f"{path}: this folder holds data from {doc.get('generator')!r}; prepare real data into another folder"
        )
    return doc


def _collect_ids(out: Path, tasks: Iterable[str], progress: bool) -> tuple[dict, dict, dict, dict]:
    """images / videos (id -> splits), examples (task -> split -> n) and sha256 of the annotation files."""
    images: dict[str, set] = {}
    videos: dict[str, set] = {}
    examples: dict[str, dict[str, int]] = {}
    digests: dict[str, str] = {}
    for task in tqdm(sorted(tasks), desc="manifest", unit="task", disable=not progress):
        spec = TASKS[task]
        for split in SPLITS:
            rel = f"annotations/{task}/{split}.jsonl"
            rows = read_jsonl(out / rel)
            examples.setdefault(task, {})[split] = len(rows)
            digests[rel] = sha256_file(out / rel)
            pool = videos if spec.is_video else images
            for row in rows:
                for key in visual_ids(spec, row):
                    pool.setdefault(key, set()).add(split)
    order = {s: i for i, s in enumerate(SPLITS)}

    def as_lists(pool: dict[str, set]) -> dict[str, list[str]]:
        return {k: sorted(v, key=order.__getitem__) for k, v in sorted(pool.items())}

    return as_lists(images), as_lists(videos), examples, digests


def prepare(
    datasets: Iterable[str | os.PathLike],
    root: str | os.PathLike,
    out: str | os.PathLike,
    *,
    manifest_dir: str | os.PathLike = DEFAULT_MANIFEST_DIR,
    progress: bool = True,
    **options: Any,
) -> dict[str, Any]:
    """Read ``datasets`` (names in ``manifest_dir`` or manifest paths) from ``root``, write their
    annotations and ``manifest.json`` into ``out``, and return the manifest.

    ``options`` go to the readers that take them (``video_captions="per_desc" | "per_clip"``).
    Everything is read and checked before anything is written."""
    manifests = [load_manifest(manifest_path(d, manifest_dir)) for d in datasets]
    if not manifests:
        raise ValueError("no data set given")
    owner: dict[str, str] = {}
    for m in manifests:
        for task in READERS[m.reader].tasks if m.reader in READERS else ():
            if task in owner:
                raise ValueError(f"task {task!r} comes from both {owner[task]} and {m.origin}")
            owner[task] = m.origin
    results = [(m, read_dataset(m, root, progress=progress, **options)) for m in manifests]
    digests = {m.dataset: file_digests(m, root) for m in manifests}  # pinned digests checked before writing

    out = Path(out)
    previous = _previous(out)
    (out / "manifest.json").unlink(missing_ok=True)
    datasets_doc = {name: d for name, d in previous.get("datasets", {}).items() if not set(d["tasks"]) & set(owner)}
    tasks_doc = {t: d for t, d in previous.get("tasks", {}).items() if d["dataset"] in datasets_doc}
    for m, result in results:
        datasets_doc[m.dataset] = _dataset_entry(m, result, options, digests[m.dataset])
        for task, splits in result.rows.items():
            for split in SPLITS:
                write_jsonl(out / "annotations" / task / f"{split}.jsonl", splits[split])
            tasks_doc[task] = _task_entry(m, result, task)
    images, videos, examples, digests = _collect_ids(out, tasks_doc, progress)
    manifest = {
        "generator": GENERATOR,
        "version": VERSION,
        "datasets": dict(sorted(datasets_doc.items())),
        "tasks": dict(sorted(tasks_doc.items())),
        "images": images,
        "videos": videos,
        "examples": examples,
        "sha256": digests,
    }
    write_json(out / "manifest.json", manifest)
    return manifest
