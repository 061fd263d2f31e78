"""Helpers for the backbone tests: tiny seeded models and inputs."""

from __future__ import annotations

import torch
from torch import nn

from vlpeft.models import build_model

FEAT_DIM = 16


def make_model(name: str, seed: int = 0, feat_dim: int = FEAT_DIM):
    """A tiny project backbone in eval mode, built under ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    return build_model(name, feat_dim=feat_dim, from_config=True).eval()


def text_batch(batch: int = 2, length: int = 6, pad_last: int = 2, seed: int = 1):
    """Token ids in 3..99 with the last ``pad_last`` positions of the last row masked out."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, 100, (batch, length), generator=g)
    mask = torch.ones(batch, length, dtype=torch.long)
    if pad_last:
        mask[-1, -pad_last:] = 0
    return ids, mask


def image_feats(batch: int = 2, n_images: int = 1, tokens: int = 49, seed: int = 2):
    """Random CLIP-grid-like features ``(B, n_images, tokens, FEAT_DIM)``."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, n_images, tokens, FEAT_DIM, generator=g)


def is_tied(model) -> bool:
    """True when the LM head, the encoder/decoder token embeddings and the object-order rows share one tensor."""
    weight = model.backbone.get_input_embeddings().weight
    others = [
        model.backbone.get_output_embeddings(),
        model.encoder.embed_tokens,
        model.backbone.get_decoder().embed_tokens,
        model.visual_embedding.obj_order_embedding,
    ]
    return all(isinstance(m, nn.Module) and m.weight is weight for m in others)
