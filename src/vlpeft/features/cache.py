"""HDF5 stores shared by the frames and features steps: one dataset per video / image id.

Files are written deterministically (datasets in the order given, no timestamps, ``libver='latest'``)
and atomically (a temporary name beside the target, renamed into place only when complete).
This module imports only h5py and numpy, so readers stay cheap.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from vlpeft.io import atomic_path


@contextlib.contextmanager
def h5_writer(path: str | os.PathLike, attrs: Mapping[str, Any]) -> Iterator[h5py.File]:
    """Open a new HDF5 file for writing with file attributes ``attrs``; it appears at ``path``
    only if the block succeeds (an exception leaves ``path`` untouched and no temporary file)."""
    with atomic_path(path, suffix=".h5") as tmp:
        with h5py.File(tmp, "w", libver="latest", track_order=True) as f:
            for key, value in attrs.items():
                f.attrs[key] = value
            yield f


def add_dataset(
    f: h5py.File, key: str, data: np.ndarray, attrs: Mapping[str, Any] | None = None, compress: bool = False
) -> None:
    """Store ``data`` under ``key`` (no timestamps; gzip with one chunk per leading row if
    ``compress``)."""
    if not key or "/" in key:
        raise ValueError(f"{f.filename}: invalid dataset key {key!r} (empty or contains '/')")
    if key in f:
        raise ValueError(f"{f.filename}: duplicate key {key!r}")
    extra = dict(chunks=(1, *data.shape[1:]), compression="gzip", compression_opts=4) if compress else {}
    ds = f.create_dataset(key, data=data, track_times=False, **extra)
    for name, value in (attrs or {}).items():
        ds.attrs[name] = value


def _plain(value: Any) -> Any:
    """HDF5 attribute values as plain Python / numpy values (bytes decoded)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


class H5Reader:
    """Read-only access to a one-dataset-per-id HDF5 store. The file is opened lazily, so a reader
    can be handed to DataLoader worker processes (each opens its own handle)."""

    dtype: np.dtype | None = None  # convert arrays on read (None: as stored)

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: HDF5 file not found")
        self._file: h5py.File | None = None

    @property
    def file(self) -> h5py.File:
        if self._file is None:
            try:
                self._file = h5py.File(self.path, "r")
            except OSError as e:
                raise ValueError(f"{self.path}: not a readable HDF5 file ({e})") from None
        return self._file

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_file": None}

    @property
    def attrs(self) -> dict[str, Any]:
        """File attributes."""
        return {k: _plain(v) for k, v in self.file.attrs.items()}

    def keys(self) -> list[str]:
        """Dataset ids, in the order they were written (sorted by the writers)."""
        return list(self.file.keys())

    def rejected_ids(self) -> list[str]:
        """Ids the frames step rejected (``on_error: skip``), carried on by the features step: the
        ``rejected_ids`` file attribute (a JSON list); empty when there is none."""
        raw = self.attrs.get("rejected_ids")
        return [str(i) for i in json.loads(raw)] if raw else []

    def __contains__(self, key: str) -> bool:
        return key in self.file

    def __len__(self) -> int:
        return len(self.file)

    def _dataset(self, key: str) -> h5py.Dataset:
        if key not in self.file:
            raise KeyError(f"{self.path}: no entry {key!r} ({len(self)} entries)")
        return self.file[key]

    def get(self, key: str) -> np.ndarray:
        """The array stored under ``key``; ``KeyError`` naming the key and the file if absent."""
        dataset = self._dataset(key)
        try:
            data = dataset[()]
        except OSError as e:  # a truncated or damaged file can open and still fail here
            raise ValueError(
                f"{self.path}: entry {key!r} cannot be read, the file is corrupt or truncated "
                f"({str(e).splitlines()[0][:160]})"
            ) from None
        return data.astype(self.dtype) if self.dtype is not None else data

    def shape(self, key: str) -> tuple[int, ...]:
        """Shape of the array under ``key``, without reading it."""
        return tuple(self._dataset(key).shape)

    def item_attrs(self, key: str) -> dict[str, Any]:
        """Attributes of the dataset ``key``."""
        return {k: _plain(v) for k, v in self._dataset(key).attrs.items()}

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> H5Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FeatureReader(H5Reader):
    """A feature cache written by `vlpeft features`: ``.get(id)`` gives float32 ``(49, C)`` image
    grids or ``(T, D)`` per-frame video embeddings; ``.attrs`` holds ``encoder``,
    ``checkpoint_sha256`` and ``kind``.

    ``memory_limit``: when the file is at most this many bytes, every array read is kept in memory
    and later reads of the same id cost nothing (a training run reads each image once per epoch and
    task: HDF5 reads were ~15 % of a demo training step). Larger files (COCO's grids are tens of GB)
    are read from disk every time.
    """

    dtype = np.dtype(np.float32)

    def __init__(self, path: str | os.PathLike, memory_limit: int = 0):
        super().__init__(path)
        self._memo: dict[str, np.ndarray] | None = {} if self.path.stat().st_size <= memory_limit else None

    def get(self, key: str) -> np.ndarray:
        if self._memo is None:
            return super().get(key)
        if key not in self._memo:
            self._memo[key] = super().get(key)
        return self._memo[key].copy()  # a copy: a caller that changes it in place changes no later read
