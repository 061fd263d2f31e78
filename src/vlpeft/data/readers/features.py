"""Convert published pre-computed CLIP features into the project's feature cache
(``features/<ds>/<name>.h5``, docs/interfaces.md): one float16 dataset per id, file attrs
``encoder``, ``checkpoint_sha256``, ``kind``, ``dim``. Written with ``vlpeft.features.cache``.

Source formats:

- ``value-npz``: the VALUE release's ``vis_features/{tv,how2,yc2}/clip-vit/<vid_name>.npz`` with an
  array ``features`` of shape ``(L, 512)`` (CLIP ViT-B/32 frame embeddings) -> ``kind=video``.
- ``vladapter-h5``: VL-Adapter's ``<ds>/clip_features/data_clip_RN101_att/<img_id>.h5`` holding
  ``<img_id>/features`` of shape ``(49, 2048)`` (CLIP RN101 layer4 grid) -> ``kind=image``.

A source folder may be the feature folder itself or a release root holding the published
per-dataset folders: ``vis_features/`` (its ``<ds>/clip-vit/`` folders) or VL-Adapter's
``datasets/`` (its ``<ds>/clip_features/data_clip_RN101_att/`` folders). An id found in two folders
is read once when both files have the same bytes (TVQA and TVC share the TV videos), and is an
error otherwise (docs/methods.md G).

``checkpoint_sha256`` is the sha256 of the archive the user downloaded when given, else the release
name (``"value-release"``, ``"vl-adapter-release"``): the encoder weights are not in our hands.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from vlpeft.constants import IMAGE_GRID
from vlpeft.features.cache import add_dataset, h5_writer
from vlpeft.io import sha256_file
from vlpeft.progress import progress_bar as tqdm

VALUE_ARRAY = "features"  # the array inside a VALUE .npz
VLADAPTER_DATASET = "{}/features"  # the dataset inside a VL-Adapter <img_id>.h5


def _load_npz(path: Path, key: str) -> np.ndarray:
    with np.load(path) as npz:
        if VALUE_ARRAY not in npz.files:
            raise ValueError(f"{path}: no array {VALUE_ARRAY!r} (arrays: {', '.join(npz.files) or 'none'})")
        return npz[VALUE_ARRAY]


def _load_h5(path: Path, key: str) -> np.ndarray:
    name = VLADAPTER_DATASET.format(key)
    try:
        with h5py.File(path, "r") as f:
            if name not in f:
                raise ValueError(f"{path}: no dataset {name!r}")
            return f[name][()]
    except OSError as e:
        raise ValueError(f"{path}: not a readable HDF5 file ({e})") from None


@dataclass(frozen=True)
class SourceFormat:
    kind: str  # "video" | "image"
    encoder: str
    release: str
    suffix: str
    load: Callable[[Path, str], np.ndarray]
    layout: str  # the per-dataset folders under a release root (a glob)


FORMATS = {
    "value-npz": SourceFormat("video", "ViT-B/32", "value-release", ".npz", _load_npz, "*/clip-vit"),
    "vladapter-h5": SourceFormat(
        "image", "RN101", "vl-adapter-release", ".h5", _load_h5, "*/clip_features/data_clip_RN101_att"
    ),
}


def feature_folders(srcs: Sequence[Path], fmt: SourceFormat) -> list[Path]:
    """The folders holding the feature files: each ``src`` itself, or, when it holds none directly,
    its per-dataset folders of the release layout (``fmt.layout``)."""
    folders: list[Path] = []
    for src in srcs:
        if not src.is_dir():
            raise FileNotFoundError(f"{src}: feature folder not found")
        if any(p.name.endswith(fmt.suffix) for p in src.iterdir()):
            folders.append(src)
            continue
        nested = sorted(p for p in src.glob(fmt.layout) if p.is_dir())
        if not nested:
            raise ValueError(
                f"{src}: no *{fmt.suffix} feature files, and no {fmt.layout}/ folders of the release layout"
            )
        folders += nested
    return folders


def _same_bytes(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and sha256_file(a) == sha256_file(b)


def ids_from_manifest(path: str | os.PathLike, kind: str) -> list[str]:
    """The video (or image) ids of a prepared data set's ``manifest.json``."""
    key = "videos" if kind == "video" else "images"
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(doc.get(key), dict):
        raise ValueError(f"{path}: no {key!r} mapping in this manifest")
    return sorted(doc[key])


def _source_files(srcs: Sequence[Path], fmt: SourceFormat, ids: Iterable[str] | None) -> dict[str, Path]:
    """id -> feature file, over one or more folders (or release roots, ``feature_folders``); an id
    in two folders must have identical files there."""
    found: dict[str, Path] = {}
    for src in feature_folders(srcs, fmt):
        for p in sorted(src.iterdir()):
            if p.name.endswith(fmt.suffix):
                key = p.name[: -len(fmt.suffix)]
                if key in found and not _same_bytes(found[key], p):
                    raise ValueError(f"{key!r} has different features in {found[key]} and {p}")
                found.setdefault(key, p)
    if ids is None:
        if not found:
            raise ValueError(f"{', '.join(map(str, srcs))}: no *{fmt.suffix} feature files")
        return dict(sorted(found.items()))
    wanted = sorted(set(ids))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise FileNotFoundError(
            f"{', '.join(map(str, srcs))}: {len(missing)} of {len(wanted)} ids have no "
            f"{fmt.suffix} file (first: {', '.join(missing[:5])})"
        )
    return {i: found[i] for i in wanted}


def _check_shape(arr: np.ndarray, path: Path, fmt: SourceFormat, dim: int | None) -> None:
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{path}: expected a 2-D (length, dim) array, got shape {arr.shape}")
    if fmt.kind == "image" and arr.shape[0] != IMAGE_GRID:
        raise ValueError(f"{path}: expected an image grid of {IMAGE_GRID} cells, got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"{path}: feature dim {arr.shape[1]} differs from the first file's {dim}")


def convert_features(
    fmt: str,
    src: str | os.PathLike | Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    ids: Iterable[str] | None = None,
    archive: str | os.PathLike | None = None,
    checkpoint_sha256: str | None = None,
    encoder: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Write the features of ``ids`` (default: every file) found in the folder(s) ``src`` to ``out``
    atomically. Returns ``{"items", "dim", "kind", "encoder", "checkpoint_sha256"}``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown feature format {fmt!r} (known: {', '.join(FORMATS)})")
    spec = FORMATS[fmt]
    srcs = [Path(src)] if isinstance(src, (str, os.PathLike)) else [Path(s) for s in src]
    files = _source_files(srcs, spec, ids)
    sha = checkpoint_sha256 or (sha256_file(archive) if archive is not None else spec.release)
    attrs = {"encoder": encoder or spec.encoder, "checkpoint_sha256": sha, "kind": spec.kind}
    dim = None
    with h5_writer(out, attrs) as f:
        for key, path in tqdm(files.items(), desc=f"convert {fmt}", unit=spec.kind, disable=not progress):
            arr = spec.load(path, key)
            _check_shape(arr, path, spec, dim)
            dim = int(arr.shape[1])
            add_dataset(f, key, np.ascontiguousarray(arr, dtype=np.float16))
        f.attrs["dim"] = dim
    return {"items": len(files), "dim": dim, **attrs}
