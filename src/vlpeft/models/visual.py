"""The visual embedding of VL-T5 / VL-BART (docs/methods.md D) and the shaping of visual features.

    v_i = LN(W_f f_i + b) + LN(W_p box_i + b) + E_img[img_order_i] + E_tok[V-1-obj_order_i]

Boxes are all zeros for CLIP grid and video features, so the box term is a learned constant; its
Linear is kept so the parameter count matches the papers. ``E_tok`` is the backbone's shared token
embedding, looked up through the backbone at every call: never copied, never registered here, so it
is neither double-counted nor made trainable by ``visual_embedding.requires_grad_()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers.models.t5.modeling_t5 import T5LayerNorm

from vlpeft.constants import IMAGE_GRID, VIDEO_TOKENS

BOX_DIM = 5  # [x1, x2, y1, y2, area]
N_IMAGE_ORDERS = 2  # E_img rows: one image, or the two NLVR2 images
POOLED_GRID = 6  # --downsample: AdaptiveMaxPool2d((6, 6)) -> 36 tokens per image


def _norm(arch: str, d_model: int, eps: float) -> nn.Module:
    return T5LayerNorm(d_model, eps=eps) if arch == "t5" else nn.LayerNorm(d_model, eps=eps)


class VisualEmbedding(nn.Module):
    """Feature projection + box constant + image-order + object-order embeddings (the "visual projection").

    ``token_embedding`` returns the backbone's shared ``nn.Embedding`` (e.g. ``backbone.get_input_embeddings``);
    ``init_std`` given means BART's init (Linear/Embedding weights N(0, std), zero biases), None keeps
    PyTorch's defaults as VL-T5 does.
    """

    def __init__(
        self,
        feat_dim: int,
        d_model: int,
        arch: str,
        token_embedding: Callable[[], nn.Embedding],
        eps: float = 1e-6,
        init_std: float | None = None,
    ) -> None:
        super().__init__()
        if arch not in ("t5", "bart"):
            raise ValueError(f"unknown arch {arch!r}; expected 't5' or 'bart'")
        self.feat_dim, self.d_model, self.arch = feat_dim, d_model, arch
        feat_proj = nn.Linear(feat_dim, d_model)
        self.feat_embedding = nn.Sequential(feat_proj, _norm(arch, d_model, eps))
        box_proj = nn.Linear(BOX_DIM, d_model)
        self.absolute_vis_pos_embedding = nn.Sequential(box_proj, _norm(arch, d_model, eps))
        self.img_order_embedding = nn.Embedding(N_IMAGE_ORDERS, d_model)
        self._token_embedding = token_embedding  # a callable, not a submodule: the shared table stays the backbone's
        if init_std is not None:
            modules: tuple[nn.Linear | nn.Embedding, ...] = (feat_proj, box_proj, self.img_order_embedding)
            for module in modules:
                nn.init.normal_(module.weight, mean=0.0, std=init_std)
                bias = getattr(module, "bias", None)
                if bias is not None:
                    nn.init.zeros_(bias)

    @property
    def obj_order_embedding(self) -> nn.Embedding:
        """The backbone's shared token embedding (E_tok)."""
        return self._token_embedding()

    def forward(self, vis_feats: torch.Tensor, img_order: torch.Tensor | None = None) -> torch.Tensor:
        """``vis_feats (B, n_images, T, D)`` -> visual tokens ``(B, n_images * T', d)``.

        Image grids (T=49) are max-pooled to 6x6 = 36 tokens; other T (64 video tokens) pass as is.
        ``img_order``: E_img row per image, ``(n_images,)`` or ``(B, n_images)``; default 0, 1, ...
        """
        feats = downsample_grid(check_visual_features(vis_feats, self.feat_dim))
        batch, n_images, n_tokens, _ = feats.shape
        feat_proj = cast(nn.Linear, self.feat_embedding[0])  # nn.Sequential indexing is typed Module
        feats = feats.reshape(batch, n_images * n_tokens, self.feat_dim).to(feat_proj.weight.dtype)
        boxes = feats.new_zeros(batch, n_images * n_tokens, BOX_DIM)
        img_ids, obj_ids = visual_order_ids(batch, n_images, n_tokens, img_order, feats.device)
        table = self.obj_order_embedding.weight
        return (
            self.feat_embedding(feats)
            + self.absolute_vis_pos_embedding(boxes)
            + self.img_order_embedding(img_ids)
            + F.embedding(table.shape[0] - 1 - obj_ids, table)
        )


def check_visual_features(vis_feats: torch.Tensor, feat_dim: int) -> torch.Tensor:
    """Raise ValueError unless ``vis_feats`` is ``(B, n_images, T, feat_dim)``; return it."""
    if vis_feats.dim() != 4 or vis_feats.shape[-1] != feat_dim:
        raise ValueError(
            f"vis_feats: expected shape (batch, n_images, tokens, {feat_dim}), got {tuple(vis_feats.shape)}"
        )
    return vis_feats


def downsample_grid(feats: torch.Tensor) -> torch.Tensor:
    """Max-pool 7x7 image grids ``(B, n, 49, D)`` to 6x6 ``(B, n, 36, D)``; any other token count is returned as is."""
    batch, n_images, n_tokens, dim = feats.shape
    if n_tokens != IMAGE_GRID:
        return feats
    side = int(IMAGE_GRID**0.5)
    grid = feats.reshape(batch * n_images, side, side, dim).permute(0, 3, 1, 2)  # row-major 7x7 map
    pooled = F.adaptive_max_pool2d(grid, POOLED_GRID)
    return pooled.flatten(2).transpose(1, 2).reshape(batch, n_images, POOLED_GRID**2, dim)


def visual_order_ids(
    batch: int, n_images: int, n_tokens: int, img_order: torch.Tensor | None, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token image-order and object-order ids, ``(B, n_images * n_tokens)`` each.

    Object order counts 0..n_tokens-1 within each image (so NLVR2's second image restarts at 0).
    """
    if img_order is None:
        img_order = torch.arange(n_images, device=device)
    img_order = torch.as_tensor(img_order, device=device).long().expand(batch, n_images)
    if int(img_order.max()) >= N_IMAGE_ORDERS or int(img_order.min()) < 0:
        raise ValueError(f"img_order: values must lie in [0, {N_IMAGE_ORDERS}), got {img_order.tolist()}")
    img_ids = img_order.repeat_interleave(n_tokens, dim=1)
    obj_ids = torch.arange(n_tokens, device=device).repeat(n_images).expand(batch, -1)
    return img_ids, obj_ids


def fit_video_features(feats, n: int = VIDEO_TOKENS, mask_padding: bool = False):
    """Zero-pad or adaptive-max-pool whole-video features ``(L, D)`` along time to ``(n, D)`` float32.

    Returns ``(features, mask)`` of the input's kind (numpy or torch). The mask is the attention mask
    of the visual tokens: all ones by default, as the original code attends to the zero padding too
    (docs/methods.md D); ``mask_padding=True`` gives zeros on the padded rows instead.
    """
    is_numpy = isinstance(feats, np.ndarray)
    x = torch.from_numpy(np.asarray(feats)) if is_numpy else feats
    if x.dim() != 2 or x.shape[0] == 0:
        raise ValueError(f"video features: expected a non-empty (frames, dim) array, got shape {tuple(x.shape)}")
    x = x.float()
    length = x.shape[0]
    mask = torch.ones(n, dtype=torch.long)
    if length > n:
        x = F.adaptive_max_pool1d(x.t().unsqueeze(0), n).squeeze(0).t()
    elif length < n:
        x = torch.cat([x, x.new_zeros(n - length, x.shape[1])])
        if mask_padding:
            mask[length:] = 0
    x = x.contiguous()
    return (x.numpy(), mask.numpy()) if is_numpy else (x, mask)
