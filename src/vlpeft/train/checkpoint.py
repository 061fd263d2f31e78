"""Resumable training checkpoints: ``<out>/checkpoint/step_<N>/``.

A checkpoint holds the trainable parameters, the optimizer and scheduler states, the trainer's
position (epoch, batch index, global step, byte length of the training log) and every RNG state
(python, numpy, torch CPU and CUDA, one set per rank). Tensors go to safetensors; the remaining
structure to canonical JSON (no pickle, nothing to ``torch.load``). Each step directory is written
under a temporary name, fsynced and renamed into place, then older ones are removed, so a run killed
at any moment finds the last complete checkpoint (and its temporaries are removed on the next start).
A checkpoint that cannot be read is an error naming the file, never silently skipped or resumed from.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from vlpeft.io import CorruptFileError, atomic_path, canonical_json, reading

STEP_PREFIX = "step_"


# -- nested structures <-> (JSON, tensors) -------------------------------------------------------


def _encode(obj: Any, tensors: dict[str, torch.Tensor], path: str) -> Any:
    """Replace tensors by references (stored in ``tensors``); keep dict key types and tuples."""
    if isinstance(obj, torch.Tensor):
        tensors[path] = obj.detach().cpu().contiguous().clone()
        return {"__tensor__": path}
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, dict):
        return {"__dict__": [[k, _encode(v, tensors, f"{path}.{k}")] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, tensors, f"{path}.{i}") for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot checkpoint a value of type {type(obj).__name__} at {path}")


def _decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if "__ndarray__" in obj:
        return np.asarray(obj["__ndarray__"], dtype=obj["dtype"])
    if "__tuple__" in obj:
        return tuple(_decode(v, tensors) for v in obj["__tuple__"])
    return {k: _decode(v, tensors) for k, v in obj["__dict__"]}


# -- RNG states ----------------------------------------------------------------------------------


def rng_state() -> dict[str, Any]:
    """Every RNG state of this process."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# -- save / load ---------------------------------------------------------------------------------


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The trainable parameters by name (shared tensors once, as ``named_parameters`` gives them)."""
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(
    root: str | Path,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    position: dict[str, Any],
    rng_states: list[dict[str, Any]],
    fingerprint: dict[str, Any],
) -> Path:
    """Write ``root/step_<step>/`` atomically and remove older step directories."""
    root = Path(root)
    final = root / f"{STEP_PREFIX}{step:09d}"
    tensors: dict[str, torch.Tensor] = {}
    state = {
        "fingerprint": fingerprint,
        "position": position,
        "optimizer": _encode(optimizer.state_dict(), tensors, "optimizer"),
        "scheduler": _encode(scheduler.state_dict(), tensors, "scheduler"),
        "rng": _encode(rng_states, tensors, "rng"),
    }
    with atomic_path(final) as tmp:
        tmp.mkdir()
        save_file(trainable_state(model), str(tmp / "trainable.safetensors"))
        save_file(tensors, str(tmp / "state.safetensors"))
        (tmp / "state.json").write_text(canonical_json(state), encoding="utf-8")
    for old in _step_dirs(root):
        if old != final:
            shutil.rmtree(old)
    return final


def _step_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(STEP_PREFIX))


def latest_checkpoint(root: str | Path) -> Path | None:
    """The newest complete step directory under ``root`` (temporary names start with '.'; those a
    killed run left behind are removed here)."""
    root = Path(root)
    if root.is_dir():
        for stale in root.glob(f".{STEP_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
    dirs = _step_dirs(root)
    return dirs[-1] if dirs else None


def read_position(path: str | Path) -> dict[str, Any]:
    """The trainer's position stored in a checkpoint (no tensors loaded)."""
    path = Path(path)
    with reading(path / "state.json", "checkpoint state"):
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        position = state["position"]
        if not isinstance(position, dict):
            raise CorruptFileError(f"{path / 'state.json'}: position is not a mapping")
    return position


def load_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    fingerprint: dict[str, Any],
) -> dict[str, Any]:
    """Restore parameters, optimizer and scheduler from ``path``; return position and RNG states.

    Raises ValueError naming the checkpoint when it was written by a different run configuration
    or holds parameters of other names or shapes than this model's trainable ones.
    """
    path = Path(path)
    with reading(path / "state.json", "checkpoint state"):
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        if not isinstance(state, dict) or not {"fingerprint", "position", "optimizer", "scheduler", "rng"} <= set(
            state
        ):
            raise CorruptFileError(
                f"{path / 'state.json'}: checkpoint state lacks keys; delete {path.parent} to start over"
            )
    saved_fp = state["fingerprint"]
    diff = sorted(k for k in set(saved_fp) | set(fingerprint) if saved_fp.get(k) != fingerprint.get(k))
    if diff:
        detail = ", ".join(f"{k}: {saved_fp.get(k)!r} vs now {fingerprint.get(k)!r}" for k in diff)
        raise ValueError(
            f"{path}: checkpoint belongs to another run configuration ({detail}); delete {path.parent} to start over"
        )
    _load_params(path / "trainable.safetensors", model)
    with reading(path / "state.safetensors", "checkpoint tensors"):
        tensors = load_file(str(path / "state.safetensors"))
        optimizer.load_state_dict(_decode(state["optimizer"], tensors))
        scheduler.load_state_dict(_decode(state["scheduler"], tensors))
        rng = _decode(state["rng"], tensors)
    return {"position": state["position"], "rng": rng}


def _load_params(file: Path, model: torch.nn.Module) -> None:
    with reading(file, "checkpoint parameters"):
        saved = load_file(str(file))
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    if set(saved) != set(params):
        missing, extra = sorted(set(params) - set(saved)), sorted(set(saved) - set(params))
        raise ValueError(
            f"{file}: trainable parameters differ from the model's (missing {missing[:5]}, unexpected {extra[:5]})"
        )
    with torch.no_grad():
        for name, p in params.items():
            if saved[name].shape != p.shape:
                raise ValueError(
                    f"{file}: {name} has shape {tuple(saved[name].shape)}, the model expects {tuple(p.shape)}"
                )
            p.copy_(saved[name])
