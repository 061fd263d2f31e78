"""Backbone configurations stored in the project, and the added-vocabulary rule (docs/methods.md B.0).

``bart-base`` and ``t5-base`` carry the architecture numbers of the public ``facebook/bart-base``
and ``t5-base`` configs, so the full-size models can be built (random weights) for parameter
accounting without downloading anything. ``tiny-bart`` / ``tiny-t5`` are test-sized versions of
the same architectures. Generation defaults of the hub configs (``num_beams``,
``no_repeat_ngram_size``, ...) are deliberately absent: decoding settings come from the task
registry.
"""

from __future__ import annotations

from typing import Any

from transformers import BartConfig, PreTrainedConfig, T5Config

from vlpeft.constants import ARCHS

NUM_EXTRA_IDS = 100  # <extra_id_0..99> (text sentinels) and <vis_extra_id_0..99> (object order)

_BART_COMMON: dict[str, Any] = {
    "activation_function": "gelu",
    "dropout": 0.1,
    "attention_dropout": 0.1,
    "activation_dropout": 0.1,
    "init_std": 0.02,
    "scale_embedding": False,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "decoder_start_token_id": 2,
    "forced_eos_token_id": 2,
    "tie_word_embeddings": True,
}

_T5_COMMON: dict[str, Any] = {
    "dropout_rate": 0.1,
    "layer_norm_epsilon": 1e-6,
    "initializer_factor": 1.0,
    "feed_forward_proj": "relu",
    "pad_token_id": 0,
    "eos_token_id": 1,
    "decoder_start_token_id": 0,
    "tie_word_embeddings": True,
}

# name -> (arch, config fields, embedding rows after the B.0 vocabulary resize)
PROJECT_CONFIGS: dict[str, tuple[str, dict[str, Any], int]] = {
    # facebook/bart-base: 50265 rows + 200 added specials (<extra_id_*>, <vis_extra_id_*>)
    "bart-base": (
        "bart",
        {
            **_BART_COMMON,
            "vocab_size": 50265,
            "d_model": 768,
            "encoder_layers": 6,
            "decoder_layers": 6,
            "encoder_attention_heads": 12,
            "decoder_attention_heads": 12,
            "encoder_ffn_dim": 3072,
            "decoder_ffn_dim": 3072,
            "max_position_embeddings": 1024,
        },
        50265 + 2 * NUM_EXTRA_IDS,
    ),
    # t5-base: 32128 rows; VLT5TokenizerFast reports 32000 pieces + 100 + 100 = 32200
    "t5-base": (
        "t5",
        {
            **_T5_COMMON,
            "vocab_size": 32128,
            "d_model": 768,
            "d_kv": 64,
            "d_ff": 3072,
            "num_layers": 12,
            "num_heads": 12,
            "relative_attention_num_buckets": 32,
            "relative_attention_max_distance": 128,
        },
        32000 + 2 * NUM_EXTRA_IDS,
    ),
    "tiny-bart": (
        "bart",
        {
            **_BART_COMMON,
            "vocab_size": 256,
            "d_model": 32,
            "encoder_layers": 2,
            "decoder_layers": 2,
            "encoder_attention_heads": 4,
            "decoder_attention_heads": 4,
            "encoder_ffn_dim": 64,
            "decoder_ffn_dim": 64,
            "max_position_embeddings": 256,
        },
        256 + 2 * NUM_EXTRA_IDS,
    ),
    # like t5-base: 100 pieces + 100 sentinels, padded to 228 rows; resized to 100 + 100 + 100
    "tiny-t5": (
        "t5",
        {
            **_T5_COMMON,
            "vocab_size": 228,
            "d_model": 32,
            "d_kv": 8,
            "d_ff": 64,
            "num_layers": 2,
            "num_heads": 4,
            "relative_attention_num_buckets": 32,
            "relative_attention_max_distance": 128,
        },
        100 + 2 * NUM_EXTRA_IDS,
    ),
}

# project name -> hub name, for build_model(name) without from_config
HUB_NAMES = {"bart-base": "facebook/bart-base", "t5-base": "t5-base"}

_CONFIG_CLASSES = {"bart": BartConfig, "t5": T5Config}


def _entry(name: str) -> tuple[str, dict[str, Any], int]:
    try:
        return PROJECT_CONFIGS[name]
    except KeyError:
        raise KeyError(f"unknown backbone config {name!r}; expected one of {', '.join(PROJECT_CONFIGS)}") from None


def backbone_config(name: str, **overrides: Any) -> PreTrainedConfig:
    """The transformers config of a project backbone (``bart-base``, ``t5-base``, ``tiny-bart``, ``tiny-t5``).

    The vocabulary is the original one (before the B.0 resize, see ``resized_vocab_size``).
    ``overrides`` replace config fields before the config is built, so derived fields follow
    (T5's ``num_decoder_layers`` defaults to ``num_layers``); an unknown field raises KeyError naming it.
    """
    arch, fields, _ = _entry(name)
    cls = _CONFIG_CLASSES[arch]
    known = cls()
    for key in sorted(overrides):
        if not hasattr(known, key):
            raise KeyError(f"{name}: unknown config field {key!r} for a {arch} backbone")
    return cls(**{**fields, **overrides})


def backbone_arch(name: str) -> str:
    """``"t5"`` or ``"bart"`` for a project backbone name."""
    return _entry(name)[0]


def resized_vocab_size(name: str) -> int:
    """Embedding rows of a project backbone after the B.0 vocabulary resize (50465 for bart-base, 32200 for t5-base)."""
    return _entry(name)[2]


def arch_of_config(config: PreTrainedConfig, source: str = "config") -> str:
    """The arch (``"t5"``/``"bart"``) of a transformers config, from its ``model_type``."""
    model_type = getattr(config, "model_type", None)
    if model_type not in ARCHS:
        raise ValueError(f"{source}: model_type {model_type!r} is not supported; expected one of {', '.join(ARCHS)}")
    return model_type


def set_dropout(config: PreTrainedConfig, p: float) -> None:
    """Set every dropout probability of the backbone to ``p``, as the original trainers do for ``--dropout``."""
    for key in ("dropout", "attention_dropout", "activation_dropout", "dropout_rate"):
        if hasattr(config, key):
            setattr(config, key, p)


def apply_overrides(config: PreTrainedConfig, overrides: dict[str, Any], source: str = "config") -> None:
    """Set config fields from ``overrides``; a field the config does not have raises KeyError naming it."""
    for key, value in sorted(overrides.items()):
        if not hasattr(config, key):
            raise KeyError(f"{source}: unknown config field {key!r} for a {config.model_type} backbone")
        setattr(config, key, value)
