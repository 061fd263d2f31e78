"""Saving and loading the trained PET weights only (safetensors), with the identity of the method,
its resolved config, the tasks and the backbone, so that a file never loads onto the wrong model."""

from __future__ import annotations

import hashlib
import json
import os
from typing import TYPE_CHECKING, Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from vlpeft.io import atomic_path, canonical_json

if TYPE_CHECKING:  # annotations only
    from vlpeft.models.vl import VLModel

FORMAT = "vlpeft-adapter/1"
# Config keys that say nothing about the architecture or its weights (paths, versions, dropout
# probabilities and other run-time choices): an adapter trained with dropout 0.1 loads for evaluation.
_VOLATILE = {
    "_name_or_path",
    "transformers_version",
    "_commit_hash",
    "dtype",
    "torch_dtype",
    "_attn_implementation",
    "_attn_implementation_autoset",
    "use_cache",
    "output_attentions",
    "output_hidden_states",
    "return_dict",
    "dropout",
    "attention_dropout",
    "activation_dropout",
    "classifier_dropout",
    "dropout_rate",
}


def backbone_fingerprint(model: VLModel) -> str:
    """sha256 of the canonical JSON of the backbone config (volatile keys dropped)."""
    cfg = {k: v for k, v in sorted(model.backbone.config.to_dict().items()) if k not in _VOLATILE}
    return hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()


def _identity(model: VLModel) -> dict:
    info = getattr(model, "pet_info", None)
    if info is None:
        raise ValueError("no PET method is applied to this model (call vlpeft.pet.apply_method first)")
    return {
        "format": FORMAT,
        "method": info["method"],
        "config": info["config"],
        "tasks": info["tasks"],
        "arch": model.arch,
        "backbone_fingerprint": backbone_fingerprint(model),
    }


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The trainable tensors by their first (deduplicated) name."""
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def save_adapter(path: str | os.PathLike, model: VLModel, meta: dict[str, Any] | None = None) -> None:
    """Write the trainable tensors of ``model`` to ``path`` (atomically, deterministic bytes).

    The header holds one metadata key ``vlpeft``: canonical JSON of the method, resolved config,
    tasks, arch, backbone fingerprint and ``meta`` (free-form run information, JSON-serialisable).
    """
    header = dict(_identity(model), meta=meta or {})
    tensors = {n: p.detach().to("cpu").contiguous().clone() for n, p in sorted(trainable_state(model).items())}
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata={"vlpeft": canonical_json(header)})


def read_adapter_header(path: str | os.PathLike) -> dict:
    """The ``vlpeft`` metadata of an adapter file."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: adapter file not found")
    from vlpeft.io import reading

    with reading(path, "adapter file"):
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        if "vlpeft" not in meta:
            raise ValueError(f"{path}: not a vlpeft adapter file (no 'vlpeft' metadata)")
        return json.loads(meta["vlpeft"])


def load_adapter(path: str | os.PathLike, model: VLModel) -> dict:
    """Load an adapter file into ``model`` (which must have the same method, config, tasks and
    backbone applied) and return its header. Any mismatch is a ``ValueError`` naming the file."""
    header = read_adapter_header(path)
    expected = _identity(model)
    for key in ("format", "arch", "backbone_fingerprint", "method", "tasks", "config"):
        if header.get(key) != expected[key]:
            raise ValueError(f"{path}: {key} mismatch: file has {header.get(key)!r}, model has {expected[key]!r}")
    params = trainable_state(model)
    from vlpeft.io import reading

    with reading(path, "adapter file"), safe_open(str(path), framework="pt") as f:
        names = set(f.keys())
        if names != set(params):
            missing, extra = sorted(set(params) - names), sorted(names - set(params))
            raise ValueError(
                f"{path}: tensor names differ from the model's trainable parameters "
                f"(missing {missing[:5]}, unexpected {extra[:5]})"
            )
        with torch.no_grad():
            for name in sorted(names):
                tensor = f.get_tensor(name)
                if tensor.shape != params[name].shape:
                    raise ValueError(
                        f"{path}: {name} has shape {tuple(tensor.shape)}, the model expects {tuple(params[name].shape)}"
                    )
                params[name].copy_(tensor)
    return header
