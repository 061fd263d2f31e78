"""``build_model``: a project config (random weights) or a pre-trained checkpoint, resized per B.0,
wrapped in ``VLModel``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

from torch import nn
from transformers import AutoConfig, PreTrainedModel
from transformers.models.bart.modeling_bart import BartScaledWordEmbedding

from .configs import (
    PROJECT_CONFIGS,
    apply_overrides,
    arch_of_config,
    backbone_arch,
    backbone_config,
    resized_vocab_size,
    set_dropout,
)
from .tokenizer import load_tokenizer, resolve_name
from .vl import BACKBONE_CLASSES, VLModel


def build_model(
    name_or_path: str | os.PathLike,
    *,
    feat_dim: int,
    from_config: bool = False,
    arch: str | None = None,
    dropout: float | None = None,
    **config_overrides: Any,
) -> VLModel:
    """Build the VL backbone with its vocabulary resized per docs/methods.md B.0.

    - ``from_config=True``: ``name_or_path`` is a project config (``bart-base``, ``t5-base``,
      ``tiny-bart``, ``tiny-t5``); weights are random (deterministic under ``torch.manual_seed``),
      nothing is read or downloaded. Building under ``with torch.device("meta"):`` gives exact
      parameter counts of the full-size models without allocating them.
    - otherwise ``from_pretrained(name_or_path)``: a local directory (model + tokenizer) or a hub name
      (a project name maps to its hub name); offline and absent raises FileNotFoundError. The arch
      is the config's ``model_type``, the embedding is resized to the prepared tokenizer's length.

    ``arch``, when given, must agree with the backbone's. ``dropout`` sets every dropout probability;
    ``config_overrides`` set other config fields (unknown ones raise KeyError).
    """
    if from_config:
        name = str(name_or_path)
        if name not in PROJECT_CONFIGS:
            raise KeyError(
                f"unknown backbone config {name!r} (from_config=True); expected one of {', '.join(PROJECT_CONFIGS)}"
            )
        if "vocab_size" in config_overrides:  # the B.0 resize target is stored per config name
            raise ValueError(f"{name}: vocab_size cannot be overridden with from_config=True")
        found_arch, vocab = backbone_arch(name), resized_vocab_size(name)
        config = backbone_config(name, **config_overrides)
    else:
        name = resolve_name(name_or_path)
        try:
            config = AutoConfig.from_pretrained(name)
        except OSError as e:
            raise FileNotFoundError(
                f"backbone {str(name_or_path)!r}: not a local model directory, and not "
                f"loadable from the hub (offline?): {e}"
            ) from None
        found_arch = arch_of_config(config, source=str(name_or_path))
        apply_overrides(config, config_overrides, source=str(name_or_path))
        vocab = len(load_tokenizer(name, found_arch))
    if arch is not None and arch != found_arch:
        raise ValueError(f"backbone {str(name_or_path)!r} is a {found_arch} model, not {arch}")
    if dropout is not None:
        set_dropout(config, dropout)
    cls = BACKBONE_CLASSES[found_arch]
    if from_config:
        backbone = cls(cast(Any, config))  # the T5Config/BartConfig of found_arch, typed as their base class
    else:
        from vlpeft.io import reading

        with reading(name, "backbone checkpoint"):  # a truncated model.safetensors: one line naming it
            backbone = cls.from_pretrained(name, config=config)
    resize_vocabulary(backbone, vocab)
    return VLModel(backbone, feat_dim=feat_dim)


VISUAL_EMBEDDING_FILE = "visual_embedding.safetensors"


def save_visual_embeddings(embeddings: dict[str, nn.Module], directory: str | os.PathLike) -> Path:
    """Save VL-pre-trained visual projections ``{task group: VisualEmbedding}`` beside a backbone, as a
    VL-pre-trained checkpoint (VL-T5's) carries its own; keys ``<group>.<parameter>``, fp32."""
    from safetensors.torch import save_file

    path = Path(directory) / VISUAL_EMBEDDING_FILE
    tensors = {
        f"{group}.{k}": v.detach().float().contiguous()
        for group, emb in sorted(embeddings.items())
        for k, v in emb.state_dict().items()
    }
    save_file(tensors, str(path), metadata={"groups": ",".join(sorted(embeddings))})
    return path


def load_visual_embedding(model: VLModel, backbone: str | os.PathLike, group: str) -> bool:
    """Initialise ``model.visual_embedding`` from ``<backbone>/visual_embedding.safetensors`` when that
    file holds one for ``group``; returns whether it did. The papers' text-only backbones (t5-base,
    bart-base) have none, so their projection starts from random as in the papers; the demo backbones
    keep the one their captioning pre-training trained. A projection of other sizes is an error."""
    path = Path(backbone) / VISUAL_EMBEDDING_FILE
    if not path.is_file():
        return False
    from safetensors import safe_open

    prefix = f"{group}."
    from vlpeft.io import reading

    with reading(path, "visual projection"), safe_open(str(path), "pt") as f:
        state = {k[len(prefix) :]: f.get_tensor(k) for k in f.keys() if k.startswith(prefix)}
    if not state:
        return False
    own = model.visual_embedding.state_dict()
    wrong = sorted(
        k for k in own.keys() | state.keys() if k not in own or k not in state or own[k].shape != state[k].shape
    )
    if wrong:
        raise ValueError(
            f"{path}: the {group} visual projection does not fit this model (feature dim "
            f"{model.visual_embedding.feat_dim}, d_model {model.visual_embedding.d_model}): {', '.join(wrong)}"
        )
    model.visual_embedding.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
    return True


def resize_vocabulary(backbone: PreTrainedModel, n_rows: int) -> None:
    """Resize the tied token embedding / LM head to ``n_rows``, new rows initialised as the original code did.

    New rows follow the backbone's ``_init_weights`` (BART N(0, 0.02), T5 N(0, 1)), not the
    mean-of-old-rows default of recent transformers: the last rows are the object-order embeddings.
    BART's scaled word embedding (``embed_scale``) survives the resize.
    """
    if backbone.get_input_embeddings().num_embeddings == n_rows:
        return
    old = backbone.get_input_embeddings()
    backbone.resize_token_embeddings(n_rows, mean_resizing=False)
    # get_input_embeddings() is typed Module; resize_token_embeddings has set an nn.Embedding
    new = cast(nn.Embedding, backbone.get_input_embeddings())
    if isinstance(old, BartScaledWordEmbedding) and not isinstance(new, BartScaledWordEmbedding):
        # transformers annotates padding_idx `int`; the nn.Embedding it subclasses takes `int | None` (as read here)
        scaled = BartScaledWordEmbedding(
            n_rows,
            new.embedding_dim,
            old.padding_idx,  # type: ignore[arg-type]
            embed_scale=old.embed_scale,
        )
        scaled.weight = new.weight  # the same Parameter: the LM head stays tied
        backbone.set_input_embeddings(scaled)
    if backbone.config.tie_word_embeddings and backbone.get_output_embeddings().weight is not new.weight:
        backbone.tie_weights()
