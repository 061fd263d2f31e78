"""What a reader returns, and how readers are registered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .manifest import DatasetFiles

Rows = dict[str, dict[str, list[dict]]]  # task -> split -> rows


@dataclass
class ReadResult:
    """Rows per task and split, with the bookkeeping that goes into ``manifest.json``."""

    rows: Rows = field(default_factory=dict)
    split_sources: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # task -> split -> file roles
    dropped: dict[str, dict[str, int]] = field(default_factory=dict)  # task -> split -> rows left out
    notes: list[str] = field(default_factory=list)

    def add(self, task: str, split: str, rows: list[dict], roles: list[str]) -> None:
        self.rows.setdefault(task, {})[split] = rows
        self.split_sources.setdefault(task, {})[split] = roles

    def drop(self, task: str, split: str, n: int, why: str) -> None:
        if n:
            self.dropped.setdefault(task, {})[split] = self.dropped.get(task, {}).get(split, 0) + n
            self.notes.append(f"{task} {split}: {n} records left out ({why})")


@dataclass(frozen=True)
class ReaderSpec:
    name: str
    tasks: tuple[str, ...]
    required_roles: tuple[str, ...]
    read: Callable[..., ReadResult]  # read(files: DatasetFiles, **options) -> ReadResult
    optional_roles: tuple[str, ...] = ()
    options: tuple[str, ...] = ()  # keyword options the reader accepts

    def check_roles(self, files: DatasetFiles) -> None:
        """Every role this reader needs is declared in the manifest (a typo is caught here)."""
        missing = [r for r in self.required_roles if r not in files.manifest.files]
        if missing:
            raise ValueError(
                f"{files.manifest.origin}: reader {self.name!r} needs files with roles "
                f"{', '.join(missing)} (declared: {', '.join(files.manifest.files)})"
            )
