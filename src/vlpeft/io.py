"""Small I/O helpers shared by every step: atomic writes, canonical JSON, hashing, determinism, and
one-line errors for files that are corrupt or truncated (``reading``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only if the block succeeds.

    Nothing half-written is ever visible under ``path``: on an exception the temporary file
    (or directory) is removed and ``path`` is left as it was. What was written is fsynced before the
    rename and the folder after it, so a crash leaves the old file or the whole new one. Temporary
    siblings that a killed process left behind (``.<name>.*<suffix>``) are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path, suffix or ".tmp")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # let the writer create it (file or directory)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.is_file():  # some writers create 0600 files; give every output the usual mode
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_path, 0o666 & ~umask)
        fsync_tree(tmp_path)
        os.replace(tmp_path, path)
        fsync_tree(path.parent, recursive=False)
    finally:
        if tmp_path.is_dir():
            import shutil

            shutil.rmtree(tmp_path, ignore_errors=True)
        elif tmp_path.exists():
            tmp_path.unlink()


def remove_stale_temporaries(path: Path, suffix: str = ".tmp") -> None:
    """Remove ``atomic_path``'s temporaries of ``path`` left by a killed writer (one writer per output)."""
    import shutil

    for stale in path.parent.glob(f".{glob_escape(path.name)}.*{glob_escape(suffix)}"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def glob_escape(text: str) -> str:
    import glob

    return glob.escape(text)


def fsync_tree(path: str | os.PathLike, recursive: bool = True) -> None:
    """fsync a file, or a folder (and, ``recursive``, everything in it), so a rename that follows is durable."""
    path = Path(path)
    targets = [path]
    if path.is_dir() and recursive:
        targets = sorted(path.rglob("*")) + [path]
    for target in targets:
        if target.is_symlink():
            continue
        flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if target.is_dir() else 0)
        try:
            fd = os.open(target, flags)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:  # some file systems cannot fsync a folder
            pass
        finally:
            os.close(fd)


class CorruptFileError(ValueError):
    """A file that exists but cannot be read: truncated, not the format it claims, bad encoding."""


@contextlib.contextmanager
def reading(path: str | os.PathLike, what: str) -> Iterator[None]:
    """Turn any error of reading ``path`` (safetensors, HDF5, JSON, UTF-8) into ONE line naming the file:
    ``CorruptFileError("<path>: <what> is corrupt or truncated (<reason>)")``. A missing file stays
    FileNotFoundError; a ValueError or KeyError that already names the file passes through."""
    try:
        yield
    except FileNotFoundError:
        raise
    except CorruptFileError:
        raise
    except (ValueError, KeyError) as e:
        if str(path) in str(e):
            raise
        raise CorruptFileError(f"{path}: {what} is corrupt or truncated ({_first_line(e)})") from None
    except Exception as e:  # SafetensorError, h5py's OSError, UnicodeDecodeError, struct errors, ...
        raise CorruptFileError(
            f"{path}: {what} is corrupt or truncated ({type(e).__name__}: {_first_line(e)})"
        ) from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:200] if text else type(e).__name__


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and a trailing newline: the same object always gives the same bytes."""
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(canonical_json(obj), encoding="utf-8")


def write_jsonl(path: str | os.PathLike, rows: list[dict]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")


def read_json_object(path: str | os.PathLike, what: str) -> dict[str, Any]:
    """A JSON file holding one object; errors name ``what`` or the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CorruptFileError(f"{path}: not valid JSON ({e.msg}, line {e.lineno})") from None
    except UnicodeDecodeError as e:
        raise CorruptFileError(f"{path}: not UTF-8 text (byte {e.start})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    rows = []
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError as e:
                raise CorruptFileError(f"{path}:{lineno}: not UTF-8 text (byte {e.start})") from None
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise CorruptFileError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
    return rows


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed python, numpy and torch; switch torch to deterministic algorithms."""
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % (2**32))
    except ImportError:  # pragma: no cover
        pass
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=False)
        torch.backends.cudnn.benchmark = False
