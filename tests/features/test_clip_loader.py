import pytest
import torch

from vlpeft.features.clip_loader import (
    frame_embeddings,
    image_grid_features,
    import_clip,
    is_resnet,
    load_clip,
    resolve_checkpoint,
)
from vlpeft.features.demo_clip import CONFIGS, build_demo_clip


def test_state_dict_round_trip_through_clip_load(clip_ckpts):
    clip = import_clip()
    for kind, path in clip_ckpts.items():
        model, preprocess = load_clip(path, "cpu")
        assert isinstance(model, clip.model.CLIP) and not model.training
        assert is_resnet(model) == (kind == "rn")
        # the rebuilt model has the saved weights (fp16 in the file, fp32 on CPU)
        saved = torch.load(path, map_location="cpu", weights_only=True)
        for key, value in model.state_dict().items():
            torch.testing.assert_close(value, saved[key].to(value.dtype))
        assert model.visual.input_resolution == 224
        names = [type(t).__name__ for t in preprocess.transforms]
        assert names[:2] == ["Resize", "CenterCrop"] and names[-1] == "Normalize"
        assert "bicubic" in str(preprocess.transforms[0].interpolation).lower()


def test_rn_grid_is_layer4_before_attention_pool(clip_ckpts):
    model, _ = load_clip(clip_ckpts["rn"], "cpu")
    x = torch.randn(2, 3, 224, 224)
    grid = image_grid_features(model, x)
    width = CONFIGS["rn"]["vision_width"] * 32
    assert grid.shape == (2, 49, width)
    v = model.visual  # recompute layer4 by hand: stem, layers 1-4
    with torch.no_grad():
        h = v.relu1(v.bn1(v.conv1(x)))
        h = v.relu2(v.bn2(v.conv2(h)))
        h = v.avgpool(v.relu3(v.bn3(v.conv3(h))))
        h = v.layer4(v.layer3(v.layer2(v.layer1(h))))
    torch.testing.assert_close(grid, h.flatten(2).transpose(1, 2))


def test_vit_frame_embeddings(clip_ckpts):
    model, _ = load_clip(clip_ckpts["vit"], "cpu")
    emb = frame_embeddings(model, torch.randn(3, 3, 224, 224))
    assert emb.shape == (3, CONFIGS["vit"]["embed_dim"])
    with pytest.raises(ValueError, match="ResNet"):
        image_grid_features(model, torch.randn(1, 3, 224, 224))


def test_name_not_available_offline(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"'RN101' is not available offline.*path"):
        load_clip("RN101", "cpu", download_root=tmp_path)
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        resolve_checkpoint("no-such-model")


def test_checkpoint_with_wrong_shapes_names_file(tmp_path):
    state = build_demo_clip("rn").state_dict()
    state["visual.layer1.0.conv2.weight"] = torch.zeros(3, 3, 3, 3)  # does not fit
    bad = tmp_path / "bad_shapes.pt"
    torch.save(state, bad)
    with pytest.raises(ValueError, match=r"bad_shapes\.pt.*size mismatch"):
        load_clip(bad, "cpu")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00not a checkpoint")
    with pytest.raises(ValueError, match=r"junk\.pt"):
        load_clip(junk, "cpu")
    missing = tmp_path / "partial.pt"
    torch.save({"text_projection": torch.zeros(64, 64)}, missing)
    with pytest.raises(ValueError, match=r"partial\.pt"):
        load_clip(missing, "cpu")
