"""The project's added vocabulary (docs/methods.md B.0) and tokenizer loading.

VL-T5/VL-BART give the tokenizer ``<extra_id_99> .. <extra_id_0>`` then ``<vis_extra_id_99> .. <vis_extra_id_0>``
as special tokens (T5 already has the first hundred), so ``<vis_extra_id_i>`` is row ``V-1-i`` of a
vocabulary of ``V`` entries: the row the visual embedding uses for object order ``i`` (section D).
"""

from __future__ import annotations

import os
from typing import cast

from transformers import AutoConfig, AutoTokenizer, PreTrainedTokenizerBase

from .configs import ARCHS, HUB_NAMES, NUM_EXTRA_IDS, arch_of_config


def added_tokens() -> list[str]:
    """The 200 project tokens in the order they are appended (highest index first, as the original)."""
    extra = [f"<extra_id_{i}>" for i in reversed(range(NUM_EXTRA_IDS))]
    vis = [f"<vis_extra_id_{i}>" for i in reversed(range(NUM_EXTRA_IDS))]
    return extra + vis


def prepare_tokenizer(tokenizer: PreTrainedTokenizerBase, arch: str) -> int:
    """Append the B.0 special tokens the tokenizer lacks; return how many were added.

    BART tokenizers gain all 200 (50265 -> 50465); T5 tokenizers, which hold the ``<extra_id_*>``
    sentinels already, gain the 100 ``<vis_extra_id_*>`` (32100 -> 32200). Calling it twice adds
    nothing. Raises ValueError when ``<vis_extra_id_i>`` does not end up at index ``len - 1 - i``.
    """
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; expected one of {', '.join(ARCHS)}")
    vocab = tokenizer.get_vocab()
    missing = [t for t in added_tokens() if t not in vocab]
    added = 0
    if missing:
        added = tokenizer.add_special_tokens({"extra_special_tokens": missing}, replace_extra_special_tokens=False)
    check_visual_tokens(tokenizer)
    return added


def check_visual_tokens(tokenizer: PreTrainedTokenizerBase) -> None:
    """Raise ValueError unless ``<vis_extra_id_i>`` has id ``len(tokenizer) - 1 - i`` for every i."""
    n = len(tokenizer)
    # a list of tokens in, a list of ids out (transformers types the result `int | list[int]`)
    ids = cast(list[int], tokenizer.convert_tokens_to_ids([f"<vis_extra_id_{i}>" for i in range(NUM_EXTRA_IDS)]))
    bad = [i for i, tid in enumerate(ids) if tid != n - 1 - i]
    if bad:
        raise ValueError(
            f"tokenizer: <vis_extra_id_{bad[0]}> has id {ids[bad[0]]}, expected {n - 1 - bad[0]} "
            f"(the visual object-order rows must be the last {NUM_EXTRA_IDS} of the vocabulary)"
        )


def resolve_name(name_or_path: str | os.PathLike) -> str:
    """A local directory as given; a project backbone name mapped to its hub name; else the name itself."""
    name = str(name_or_path)
    if os.path.isdir(name):
        return name
    return HUB_NAMES.get(name, name)


def load_tokenizer(name_or_path: str | os.PathLike, arch: str | None = None) -> PreTrainedTokenizerBase:
    """Load a backbone's tokenizer (local directory or hub name) and apply ``prepare_tokenizer``.

    ``arch`` defaults to the ``model_type`` of the config stored beside the tokenizer. Raises
    FileNotFoundError naming ``name_or_path`` when it is neither a directory nor available offline.
    """
    name = resolve_name(name_or_path)
    try:
        if arch is None:
            arch = arch_of_config(AutoConfig.from_pretrained(name), source=name)
        tokenizer = AutoTokenizer.from_pretrained(name)
    except OSError as e:
        raise FileNotFoundError(
            f"backbone tokenizer {str(name_or_path)!r}: not a local directory with a tokenizer, and not "
            f"loadable from the hub (offline?): {e}"
        ) from None
    prepare_tokenizer(tokenizer, arch)
    return tokenizer
