"""The visual embedding (methods.md D): formula, shared object-order rows, pooling, NLVR2, video fitting."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from transformers.models.t5.modeling_t5 import T5LayerNorm
from vl_helpers import FEAT_DIM, image_feats, make_model

from vlpeft.models import fit_video_features
from vlpeft.models.visual import downsample_grid, visual_order_ids


def _expected(model, feats, img_ids, obj_ids):
    """The formula of methods.md D, written out term by term."""
    ve = model.visual_embedding
    zeros = torch.zeros(*feats.shape[:2], 5)
    table = model.backbone.get_input_embeddings().weight
    return (
        ve.feat_embedding(feats)
        + ve.absolute_vis_pos_embedding(zeros)
        + ve.img_order_embedding.weight[img_ids]
        + table[table.shape[0] - 1 - obj_ids]
    )


def test_norm_class_per_arch():
    bart, t5 = make_model("tiny-bart"), make_model("tiny-t5")
    assert isinstance(bart.visual_embedding.feat_embedding[1], torch.nn.LayerNorm)
    assert isinstance(t5.visual_embedding.feat_embedding[1], T5LayerNorm)
    assert isinstance(t5.visual_embedding.absolute_vis_pos_embedding[1], T5LayerNorm)


def test_single_image_formula_and_pooling(model):
    feats = image_feats(batch=2, n_images=1, tokens=49)
    out = model.visual_embedding(feats)
    assert out.shape == (2, 36, model.config.d_model)
    pooled = F.adaptive_max_pool2d(feats[:, 0].reshape(2, 7, 7, FEAT_DIM).permute(0, 3, 1, 2), (6, 6))
    pooled = pooled.permute(0, 2, 3, 1).reshape(2, 36, FEAT_DIM)
    ids = torch.arange(36).expand(2, -1)
    torch.testing.assert_close(out, _expected(model, pooled, torch.zeros_like(ids), ids))


def test_nlvr2_two_images(model):
    feats = image_feats(batch=3, n_images=2, tokens=49)
    out = model.visual_embedding(feats)
    assert out.shape == (3, 72, model.config.d_model)
    img_ids, obj_ids = visual_order_ids(3, 2, 36, None, torch.device("cpu"))
    assert img_ids[0].tolist() == [0] * 36 + [1] * 36
    assert obj_ids[0].tolist() == list(range(36)) * 2
    pooled = downsample_grid(feats).reshape(3, 72, FEAT_DIM)
    torch.testing.assert_close(out, _expected(model, pooled, img_ids, obj_ids))
    # the two images differ only through their features and E_img: swapping the order changes E_img only
    swapped = model.visual_embedding(feats, img_order=torch.tensor([1, 0]))
    delta = model.visual_embedding.img_order_embedding.weight
    torch.testing.assert_close(swapped[:, :36] - out[:, :36], (delta[1] - delta[0]).expand(3, 36, -1))


def test_img_order_out_of_range_is_an_error(model):
    with pytest.raises(ValueError, match="img_order"):
        model.visual_embedding(image_feats(n_images=1), img_order=torch.tensor([2]))


def test_bad_feature_shape_is_an_error(model):
    with pytest.raises(ValueError, match=r"vis_feats: expected shape \(batch, n_images, tokens, 16\)"):
        model.visual_embedding(torch.zeros(2, 49, FEAT_DIM))
    with pytest.raises(ValueError, match="got"):
        model.visual_embedding(torch.zeros(2, 1, 49, FEAT_DIM + 1))


def test_video_tokens_are_not_pooled(model):
    feats = image_feats(batch=1, n_images=1, tokens=64)
    out = model.visual_embedding(feats)
    ids = torch.arange(64).expand(1, -1)
    torch.testing.assert_close(out, _expected(model, feats[:, 0], torch.zeros_like(ids), ids))


def test_object_order_rows_are_the_shared_embedding_not_a_copy(model):
    shared = model.backbone.get_input_embeddings()
    ve = model.visual_embedding
    assert ve.obj_order_embedding is shared
    assert ve.obj_order_embedding.weight is model.backbone.get_output_embeddings().weight
    # not registered under the visual embedding: not double-counted, not unfrozen with it
    assert all(p is not shared.weight for p in ve.parameters())
    assert not any("obj_order" in n for n, _ in model.named_parameters())
    names = [n for n, p in model.named_parameters() if p is shared.weight]
    assert len(names) == 1 and "visual_embedding" not in names[0]
    # an in-place change of a <vis_extra_id_j> row shows up in the visual token j
    feats = image_feats(batch=1, tokens=49)
    before = ve(feats)
    with torch.no_grad():
        shared.weight[shared.num_embeddings - 1 - 5] += 1.0
        after = ve(feats)
        shared.weight[shared.num_embeddings - 1 - 5] -= 1.0
    changed = (after - before).abs().sum(-1)[0]
    assert changed.nonzero().flatten().tolist() == [5]


def test_freezing_the_backbone_keeps_object_order_rows_frozen(model):
    model.requires_grad_(False)
    model.visual_embedding.requires_grad_(True)
    try:
        out = model.visual_embedding(image_feats(batch=1))
        out.sum().backward()
        assert model.backbone.get_input_embeddings().weight.grad is None
        assert model.visual_embedding.feat_embedding[0].weight.grad is not None
    finally:
        model.requires_grad_(True)
        model.zero_grad(set_to_none=True)


def test_fit_video_features_pads_with_zeros_and_ones_mask():
    feats = np.arange(10 * 3, dtype=np.float16).reshape(10, 3)
    out, mask = fit_video_features(feats, n=64)
    assert isinstance(out, np.ndarray) and out.shape == (64, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:10], feats.astype(np.float32))
    assert not out[10:].any()
    assert mask.tolist() == [1] * 64  # the original attends to the padding (methods.md D)
    _, masked = fit_video_features(feats, n=64, mask_padding=True)
    assert masked.tolist() == [1] * 10 + [0] * 54


def test_fit_video_features_max_pools_long_videos():
    feats = torch.randn(130, 4)
    out, mask = fit_video_features(feats, n=64)
    assert isinstance(out, torch.Tensor) and out.shape == (64, 4)
    # adaptive windows: output i covers frames floor(i*L/n) .. ceil((i+1)*L/n)-1
    for i in (0, 17, 63):
        lo, hi = (i * 130) // 64, -((-(i + 1) * 130) // 64)
        torch.testing.assert_close(out[i], feats[lo:hi].max(dim=0).values)
    assert mask.sum() == 64
    same, _ = fit_video_features(feats[:64], n=64)
    torch.testing.assert_close(same, feats[:64])


def test_fit_video_features_rejects_bad_shapes():
    with pytest.raises(ValueError, match="video features"):
        fit_video_features(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="video features"):
        fit_video_features(np.zeros((4, 2, 2)))
