"""Project backbone configs, the B.0 vocabulary resize and parameter accounting (methods.md E)."""

from __future__ import annotations

import pytest
import torch
from vl_helpers import is_tied, make_model

from vlpeft.models import backbone_config, build_model, resized_vocab_size
from vlpeft.models.vl import BACKBONE_CLASSES


def _numel(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())  # parameters() deduplicates tied tensors


@pytest.mark.parametrize("name,expected", [("bart-base", 139_420_416), ("t5-base", 222_903_552)])
def test_full_size_backbone_parameter_totals_before_resize(name, expected):
    config = backbone_config(name)
    with torch.device("meta"):  # exact shapes, no memory
        backbone = BACKBONE_CLASSES[config.model_type](config)
    assert _numel(backbone) == expected


@pytest.mark.parametrize(
    "name,rows,vocab,visual",
    [
        ("bart-base", 50465, 50265, 2048 * 768 + 768 + 2 * 768 + 5 * 768 + 768 + 2 * 768 + 2 * 768),
        ("t5-base", 32200, 32128, 2048 * 768 + 768 + 768 + 5 * 768 + 768 + 768 + 2 * 768),  # RMS norm: no bias
    ],
)
def test_full_size_vl_model_after_resize(name, rows, vocab, visual):
    with torch.device("meta"):
        model = build_model(name, feat_dim=2048, from_config=True)
    assert resized_vocab_size(name) == rows
    assert model.backbone.get_input_embeddings().num_embeddings == rows == model.config.vocab_size
    assert is_tied(model)
    assert _numel(model.visual_embedding) == visual
    before = 139_420_416 if name == "bart-base" else 222_903_552
    assert _numel(model) == before + (rows - vocab) * 768 + visual


def test_video_feature_projection_is_smaller():
    with torch.device("meta"):
        model = build_model("bart-base", feat_dim=512, from_config=True)
    assert model.visual_embedding.feat_embedding[0].weight.shape == (768, 512)


def test_configs_carry_public_numbers():
    bart, t5 = backbone_config("bart-base"), backbone_config("t5-base")
    assert (
        bart.d_model,
        bart.encoder_layers,
        bart.decoder_layers,
        bart.encoder_attention_heads,
        bart.encoder_ffn_dim,
        bart.max_position_embeddings,
        bart.tie_word_embeddings,
    ) == (768, 6, 6, 12, 3072, 1024, True)
    assert (
        t5.d_model,
        t5.d_kv,
        t5.d_ff,
        t5.num_layers,
        t5.num_decoder_layers,
        t5.num_heads,
        t5.relative_attention_num_buckets,
        t5.tie_word_embeddings,
        t5.decoder_start_token_id,
    ) == (768, 64, 3072, 12, 12, 12, 32, True, 0)
    for name in ("tiny-bart", "tiny-t5"):
        assert backbone_config(name).d_model <= 64


def test_unknown_names_and_fields_are_clear_errors():
    with pytest.raises(KeyError, match="unknown backbone config 'bart-large'"):
        backbone_config("bart-large")
    with pytest.raises(KeyError, match="bart-large"):
        build_model("bart-large", feat_dim=4, from_config=True)
    with pytest.raises(KeyError, match="no_such_field"):
        build_model("tiny-t5", feat_dim=4, from_config=True, no_such_field=1)
    with pytest.raises(ValueError, match="vocab_size cannot be overridden"):
        build_model("tiny-t5", feat_dim=4, from_config=True, vocab_size=500)
    with pytest.raises(ValueError, match="is a t5 model, not bart"):
        build_model("tiny-t5", feat_dim=4, from_config=True, arch="bart")


def test_dropout_and_overrides_reach_the_config():
    bart = build_model("tiny-bart", feat_dim=4, from_config=True, dropout=0.3, encoder_layerdrop=0.0)
    assert (bart.config.dropout, bart.config.attention_dropout, bart.config.activation_dropout) == (0.3, 0.3, 0.3)
    t5 = build_model("tiny-t5", feat_dim=4, from_config=True, dropout=0.2)
    assert t5.config.dropout_rate == 0.2
    assert t5.backbone.encoder.dropout.p == 0.2


@pytest.mark.parametrize("name", ["tiny-bart", "tiny-t5"])
def test_init_is_deterministic_given_the_seed(name):
    a, b, c = make_model(name, seed=3), make_model(name, seed=3), make_model(name, seed=4)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    key = "visual_embedding.feat_embedding.0.weight"
    assert not torch.equal(sa[key], sc[key])


def test_added_rows_follow_the_backbone_init_not_the_mean():
    # BART: new rows N(0, init_std=0.02); mean-resizing would make them nearly identical to each other
    model = make_model("tiny-bart")
    table = model.backbone.get_input_embeddings().weight.detach()
    added = table[256:]
    assert added.shape[0] == 200
    assert 0.01 < added.std().item() < 0.03
    assert torch.cdist(added[:10], added[:10]).fill_diagonal_(1.0).min() > 0.05


def test_config_overrides_are_applied_before_derived_fields():
    t5 = backbone_config("tiny-t5", num_layers=3, vocab_size=300)
    assert (t5.num_layers, t5.num_decoder_layers, t5.vocab_size) == (3, 3, 300)
    with pytest.raises(KeyError, match="tiny-bart: unknown config field 'num_layers'"):
        backbone_config("tiny-bart", num_layers=3)
