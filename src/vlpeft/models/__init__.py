"""The VL-T5 / VL-BART backbone: a stock Hugging Face T5/BART fed through ``inputs_embeds``.

Public API (imported lazily, so ``import vlpeft.models.tokenizer_train`` does not pay for torch):
``build_model``, ``VLModel``, ``TaskContext``, ``VisualEmbedding``, ``fit_video_features``,
``backbone_config``, ``resized_vocab_size``, ``PROJECT_CONFIGS``, ``prepare_tokenizer``, ``load_tokenizer``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "build_model": "build",
    "resize_vocabulary": "build",
    "save_visual_embeddings": "build",
    "load_visual_embedding": "build",
    "VLModel": "vl",
    "TaskContext": "vl",
    "VisualEmbedding": "visual",
    "fit_video_features": "visual",
    "backbone_config": "configs",
    "backbone_arch": "configs",
    "resized_vocab_size": "configs",
    "PROJECT_CONFIGS": "configs",
    "prepare_tokenizer": "tokenizer",
    "load_tokenizer": "tokenizer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
