"""Data manifests (``config/data/<dataset>.yaml``): which published files a dataset needs, where
each is published, and its pinned size and sha256; and the check of a user's copy against one.

A manifest::

    dataset: vqa                      # name (also the name `data-prepare --dataset` takes)
    reader: vqa                       # a reader of vlpeft.data.readers.READERS
    description: VQAv2, Karpathy splits as VL-T5 distributes them
    root: the datasets/ folder of VL-T5 / VL-Adapter     # what --root points at
    files:
      train:                          # the role the reader asks for
        path: vqa/karpathy_train.json # relative to --root
        source: https://...           # where to get it (a URL or a release name); nothing is downloaded
        sha256: null                  # null = not pinned yet (`data-check` prints the computed digest)
        size: null                    # bytes, or null
        required: true                # default true; an optional file missing is reported, not an error
        type: file                    # file (default) | dir (a folder that must exist and be non-empty)
        note: ...                     # optional, printed with problems
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from vlpeft.io import sha256_file

TOP_KEYS = {"dataset": str, "reader": str, "description": str, "root": str, "files": dict}
REQUIRED_TOP = ("dataset", "reader", "files")
FILE_KEYS = {
    "path": str,
    "source": str,
    "sha256": (str, type(None)),
    "size": (int, type(None)),
    "required": bool,
    "type": str,
    "note": str,
}
REQUIRED_FILE = ("path", "source")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class FileEntry:
    role: str
    path: str  # POSIX, relative to the root
    source: str
    sha256: str | None = None
    size: int | None = None
    required: bool = True
    type: str = "file"
    note: str = ""


@dataclass(frozen=True)
class DataManifest:
    dataset: str
    reader: str
    files: dict[str, FileEntry]
    description: str = ""
    root: str = ""
    origin: str = ""  # the manifest file, for messages


def _check_keys(obj: dict, allowed: dict, required: tuple, where: str) -> None:
    for key in obj:
        if key not in allowed:
            raise ValueError(f"{where}: unknown key {key!r} (allowed: {', '.join(allowed)})")
    for key in required:
        if key not in obj:
            raise ValueError(f"{where}: missing key {key!r}")
    for key, value in obj.items():
        if not isinstance(value, allowed[key]) or (allowed[key] is int and isinstance(value, bool)):
            raise ValueError(f"{where}: key {key!r} has a wrong type ({type(value).__name__})")


def _file_entry(role: str, spec: Any, where: str) -> FileEntry:
    where = f"{where}: files.{role}"
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: expected a mapping with path and source")
    _check_keys(spec, FILE_KEYS, REQUIRED_FILE, where)
    rel = PurePosixPath(spec["path"])
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise ValueError(f"{where}.path: {spec['path']!r} must be a relative path inside the root")
    if spec.get("sha256") is not None and not SHA256.match(spec["sha256"]):
        raise ValueError(f"{where}.sha256: {spec['sha256']!r} is not 64 lower-case hex digits (or null)")
    if spec.get("type", "file") not in ("file", "dir"):
        raise ValueError(f"{where}.type: {spec['type']!r} must be 'file' or 'dir'")
    return FileEntry(role=role, path=rel.as_posix(), **{k: v for k, v in spec.items() if k != "path"})


def load_manifest(path: str | os.PathLike) -> DataManifest:
    """Read and validate a data manifest; a bad key or value is a ``ValueError`` naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: data manifest not found")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    _check_keys(doc, TOP_KEYS, REQUIRED_TOP, str(path))
    files = {str(role): _file_entry(str(role), spec, str(path)) for role, spec in doc["files"].items()}
    if not files:
        raise ValueError(f"{path}: files is empty")
    return DataManifest(
        dataset=doc["dataset"],
        reader=doc["reader"],
        files=files,
        description=doc.get("description", ""),
        root=doc.get("root", ""),
        origin=str(path),
    )


def where_to_get(entry: FileEntry) -> str:
    return f"get it from: {entry.source}" + (f" ({entry.note})" if entry.note else "")


@dataclass
class DatasetFiles:
    """The files of one manifest under a user's root, handed to a reader by role."""

    manifest: DataManifest
    root: Path

    def entry(self, role: str) -> FileEntry:
        try:
            return self.manifest.files[role]
        except KeyError:
            raise KeyError(
                f"{self.manifest.origin}: no file with role {role!r} (roles: {', '.join(self.manifest.files)})"
            ) from None

    def has(self, role: str) -> bool:
        return role in self.manifest.files and (self.root / self.manifest.files[role].path).exists()

    def path(self, role: str) -> Path:
        """The file of ``role``; ``FileNotFoundError`` naming it and its source if absent."""
        entry = self.entry(role)
        p = self.root / entry.path
        if not p.exists():
            raise FileNotFoundError(f"{p}: missing ({self.manifest.dataset} {role}); {where_to_get(entry)}")
        return p


# --- checking a user's copy -------------------------------------------------------------------

PROBLEMS = ("missing", "not_a_file", "not_a_dir", "empty_dir", "size_mismatch", "sha256_mismatch")


@dataclass
class Finding:
    dataset: str
    entry: FileEntry
    status: str  # ok | unpinned | unhashed | optional_missing | one of PROBLEMS
    detail: str = ""
    sha256: str | None = field(default=None)

    @property
    def is_problem(self) -> bool:
        return self.status in PROBLEMS

    def line(self) -> str:
        e = self.entry
        head = f"{self.status.upper():16s} {self.dataset}:{e.role}  {e.path}"
        if self.is_problem or self.status == "optional_missing":
            return f"{head}: {self.detail}; {where_to_get(e)}"
        return f"{head}: {self.detail}" if self.detail else head


def check_entry(dataset: str, entry: FileEntry, root: Path, hash_files: bool = True) -> Finding:
    """Compare one file (or folder) of a manifest with the copy under ``root``."""
    p = root / entry.path
    if not p.exists():
        status = "missing" if entry.required else "optional_missing"
        return Finding(dataset, entry, status, "not found" + ("" if entry.required else " (optional)"))
    if entry.type == "dir":
        if not p.is_dir():
            return Finding(dataset, entry, "not_a_dir", "expected a folder")
        if not any(p.iterdir()):
            return Finding(dataset, entry, "empty_dir", "the folder is empty")
        return Finding(dataset, entry, "ok")
    if not p.is_file():
        return Finding(dataset, entry, "not_a_file", "expected a file")
    size = p.stat().st_size
    if entry.size is not None and size != entry.size:
        return Finding(dataset, entry, "size_mismatch", f"size {size} bytes, expected {entry.size}")
    if not hash_files:
        return Finding(dataset, entry, "unhashed" if entry.sha256 else "unpinned", "sha256 not computed")
    digest = sha256_file(p)
    if entry.sha256 is None:
        return Finding(dataset, entry, "unpinned", f"not pinned; computed sha256: {digest} (size {size})", digest)
    if digest != entry.sha256:
        return Finding(dataset, entry, "sha256_mismatch", f"sha256 {digest}, expected {entry.sha256}", digest)
    return Finding(dataset, entry, "ok", sha256=digest)


def check_manifest(
    manifest: DataManifest, root: str | os.PathLike, hash_files: bool = True, progress: bool = False
) -> list[Finding]:
    """Check every file of ``manifest`` under ``root`` (in manifest order)."""
    from tqdm import tqdm

    entries = list(manifest.files.values())
    return [
        check_entry(manifest.dataset, e, Path(root), hash_files)
        for e in tqdm(entries, desc=f"check {manifest.dataset}", unit="file", disable=not progress)
    ]
