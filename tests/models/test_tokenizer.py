"""The B.0 added vocabulary on tokenizers, and build_model from a local pre-trained directory."""

from __future__ import annotations

import pytest
import torch
from tokenizers.pre_tokenizers import ByteLevel
from transformers import BartTokenizer, T5Tokenizer
from vl_helpers import FEAT_DIM, image_feats, is_tied, text_batch

from vlpeft.models import backbone_config, build_model, load_tokenizer, prepare_tokenizer
from vlpeft.models.vl import BACKBONE_CLASSES


def tiny_t5_tokenizer() -> T5Tokenizer:
    """100 pieces (<pad>, </s>, <unk> + 97 words) then <extra_id_99..0>, as T5's own layout."""
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + [(f"\u2581w{i}", -1.0 - i / 100) for i in range(97)]
    pieces += [(f"<extra_id_{i}>", 0.0) for i in reversed(range(100))]
    return T5Tokenizer(vocab=pieces, extra_ids=100)


def tiny_bart_tokenizer() -> BartTokenizer:
    """Byte-level BPE without merges: 4 specials, the 256 byte symbols, <mask> last (261 entries)."""
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for symbol in ByteLevel.alphabet():
        vocab.setdefault(symbol, len(vocab))
    vocab["<mask>"] = len(vocab)
    return BartTokenizer(vocab=vocab, merges=[])


def test_t5_tokenizer_gains_the_visual_ids_only():
    tok = tiny_t5_tokenizer()
    assert len(tok) == 200
    assert prepare_tokenizer(tok, "t5") == 100
    assert len(tok) == 300
    assert tok.convert_tokens_to_ids(["<extra_id_0>", "<vis_extra_id_0>", "<vis_extra_id_99>"]) == [199, 299, 200]
    assert prepare_tokenizer(tok, "t5") == 0 and len(tok) == 300  # idempotent


def test_bart_tokenizer_gains_200_tokens_in_the_original_order():
    tok = tiny_bart_tokenizer()
    assert prepare_tokenizer(tok, "bart") == 200
    assert len(tok) == 461
    ids = tok.convert_tokens_to_ids(["<extra_id_99>", "<extra_id_0>", "<vis_extra_id_99>", "<vis_extra_id_0>"])
    assert ids == [261, 360, 361, 460]
    assert tok.decode(tok("<vis_extra_id_3>").input_ids, skip_special_tokens=True) == ""  # special, not split


def test_prepare_tokenizer_errors():
    with pytest.raises(ValueError, match="unknown arch 'gpt2'"):
        prepare_tokenizer(tiny_t5_tokenizer(), "gpt2")
    tok = tiny_t5_tokenizer()
    tok.add_tokens(["<vis_extra_id_0>"], special_tokens=True)  # in the wrong place
    with pytest.raises(ValueError, match="<vis_extra_id_0> has id 200, expected 299"):
        prepare_tokenizer(tok, "t5")


def _save_backbone(path, name, tokenizer, **overrides):
    torch.manual_seed(0)
    config = backbone_config(name, **overrides)
    backbone = BACKBONE_CLASSES[config.model_type](config)
    backbone.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return backbone


@pytest.mark.parametrize(
    "name,make_tokenizer,overrides,rows",
    [
        ("tiny-t5", tiny_t5_tokenizer, {}, 300),  # 228 rows -> the prepared tokenizer's 300
        ("tiny-bart", tiny_bart_tokenizer, {"vocab_size": 261}, 461),
    ],
)
def test_build_model_from_a_local_directory(tmp_path, name, make_tokenizer, overrides, rows):
    saved = _save_backbone(tmp_path, name, make_tokenizer(), **overrides)
    old_rows = saved.get_input_embeddings().num_embeddings
    model = build_model(tmp_path, feat_dim=FEAT_DIM, dropout=0.0).eval()
    assert model.arch == saved.config.model_type
    assert model.backbone.get_input_embeddings().num_embeddings == rows == len(load_tokenizer(tmp_path))
    assert is_tied(model)
    torch.testing.assert_close(
        model.backbone.get_input_embeddings().weight[:old_rows], saved.get_input_embeddings().weight
    )
    ids, mask = text_batch()
    generated = model.generate(ids, mask, image_feats(), "vqa", max_new_tokens=3)
    assert generated.shape[0] == 2


def test_build_model_local_arch_mismatch(tmp_path):
    _save_backbone(tmp_path, "tiny-t5", tiny_t5_tokenizer())
    with pytest.raises(ValueError, match="is a t5 model, not bart"):
        build_model(tmp_path, feat_dim=FEAT_DIM, arch="bart")


def test_missing_backbone_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="backbone 't5-base': not a local model directory"):
        build_model("t5-base", feat_dim=FEAT_DIM)  # the hub name, offline in tests
    with pytest.raises(FileNotFoundError, match="no-such-dir"):
        build_model(tmp_path / "no-such-dir", feat_dim=FEAT_DIM)
    with pytest.raises(FileNotFoundError, match="backbone tokenizer"):
        load_tokenizer(tmp_path / "no-such-dir")
