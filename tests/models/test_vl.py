"""VLModel: encoder input layout, the BART/T5 encoder details of methods.md D, forward, loss, generate."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from vl_helpers import image_feats, make_model, text_batch


class ToyPrompt(nn.Module):
    """A PET-style prompt: ``prompt(task, batch_size) -> (B, P, d)``; records the tasks it saw."""

    def __init__(self, length: int, d_model: int) -> None:
        super().__init__()
        self.vectors = nn.Parameter(torch.randn(length, d_model))
        self.tasks: list[str] = []

    def forward(self, task: str, batch_size: int) -> torch.Tensor:
        self.tasks.append(task)
        return self.vectors.expand(batch_size, -1, -1)


def _capture_layer0_input(model):
    """Run-time capture of the hidden states entering the first encoder layer."""
    seen = {}
    layer = model.encoder.layers[0] if model.arch == "bart" else model.encoder.block[0]
    handle = layer.register_forward_pre_hook(lambda m, args: seen.__setitem__("h", args[0].detach().clone()))
    return seen, handle


def _capture_t5_bias(model, block: int = 0):
    seen = {}
    attn = model.encoder.block[block].layer[0].SelfAttention
    handle = attn.register_forward_hook(lambda m, args, out: seen.__setitem__("bias", out[1]))
    return seen, handle


def _encode(model, ids, mask, feats, task="vqa", **kw):
    return model(ids, mask, feats, task, decoder_input_ids=torch.zeros(ids.shape[0], 1, dtype=torch.long), **kw)


def test_encoder_length_and_mask(model):
    ids, mask = text_batch(length=6, pad_last=2)
    embeds, enc_mask, layout = model.embed_inputs(ids, mask, image_feats(), "vqa")
    assert embeds.shape[:2] == (2, 6 + 36) and (layout.prompt_len, layout.text_len, layout.visual_len) == (0, 6, 36)
    assert enc_mask[1].tolist() == [1] * 4 + [0] * 2 + [1] * 36
    out = _encode(model, ids, mask, image_feats())
    assert out.encoder_last_hidden_state.shape[1] == 42


def test_prompt_module_prepends_vectors_and_ones(model):
    d = model.config.d_model
    model.prompt = ToyPrompt(5, d)
    try:
        ids, mask = text_batch(length=6, pad_last=2)
        embeds, enc_mask, layout = model.embed_inputs(ids, mask, image_feats(), "gqa")
        assert layout.prompt_len == 5 and embeds.shape[1] == 5 + 6 + 36
        assert enc_mask[1].tolist() == [1] * 5 + [1] * 4 + [0] * 2 + [1] * 36
        torch.testing.assert_close(embeds[:, :5], model.prompt.vectors.expand(2, -1, -1))
        out = _encode(model, ids, mask, image_feats(), task="caption")
        assert out.encoder_last_hidden_state.shape[1] == 47
        assert model.prompt.tasks[-1] == "caption"
        assert "prompt.vectors" in dict(model.named_parameters())
    finally:
        model.prompt = None


def test_task_context_is_set_and_layout_cleared(model):
    ids, mask = text_batch()
    _encode(model, ids, mask, image_feats(), task="nlvr")
    assert model.task_context.task == "nlvr"
    assert model.task_context.text_len is None  # hooks are inert outside VLModel calls


def test_bart_visual_tokens_skip_positions_and_embedding_layernorm():
    model = make_model("tiny-bart")
    enc = model.encoder
    feats = image_feats(batch=1)
    visual = model.visual_embedding(feats)
    seen, handle = _capture_layer0_input(model)
    try:
        rows = {}
        for length in (3, 7):  # the visual tokens sit at different absolute positions
            ids, mask = text_batch(batch=1, length=length, pad_last=0, seed=length)
            _encode(model, ids, mask, feats)
            rows[length] = seen["h"]
            text = enc.layernorm_embedding(enc.embed_tokens(ids) + enc.embed_positions.weight[2 : 2 + length])
            torch.testing.assert_close(seen["h"][:, :length], text)  # text: positions 0.. (offset 2) + LN
            torch.testing.assert_close(seen["h"][:, length:], visual)  # vision: neither
        torch.testing.assert_close(rows[3][:, 3:], rows[7][:, 7:])
        # prompt vectors: no positions, but the embedding LN; the text keeps positions from 0
        model.prompt = ToyPrompt(4, model.config.d_model)
        ids, mask = text_batch(batch=1, length=3, pad_last=0, seed=3)
        _encode(model, ids, mask, feats)
        torch.testing.assert_close(seen["h"][:, :4], enc.layernorm_embedding(model.prompt.vectors[None]))
        torch.testing.assert_close(seen["h"][:, 4:7], rows[3][:, :3])
        torch.testing.assert_close(seen["h"][:, 7:], visual)
    finally:
        handle.remove()
        model.prompt = None


def test_t5_visual_tokens_get_zero_position_bias():
    model = make_model("tiny-t5")
    attn = model.encoder.block[0].layer[0].SelfAttention
    seen, handle = _capture_t5_bias(model)
    seen1, handle1 = _capture_t5_bias(model, block=1)
    try:
        ids, mask = text_batch(length=6)
        _encode(model, ids, mask, image_feats())
        bias = seen["bias"]
        assert bias.shape == (1, model.config.num_heads, 42, 42)
        torch.testing.assert_close(bias[:, :, :6, :6], attn.compute_bias(6, 6))
        assert not bias[:, :, 6:, :].any() and not bias[:, :, :, 6:].any()
        assert seen1["bias"] is bias  # later layers reuse the first layer's bias
        model.prompt = ToyPrompt(3, model.config.d_model)  # prompts count as text
        _encode(model, ids, mask, image_feats())
        torch.testing.assert_close(seen["bias"][:, :, :9, :9], attn.compute_bias(9, 9))
        assert not seen["bias"][:, :, 9:, :].any() and not seen["bias"][:, :, :, 9:].any()
    finally:
        handle.remove()
        handle1.remove()
        model.prompt = None


def test_t5_text_embeddings_are_unscaled_token_embeddings():
    model = make_model("tiny-t5")
    seen, handle = _capture_layer0_input(model)
    try:
        ids, mask = text_batch(batch=1, length=4, pad_last=0)
        feats = image_feats(batch=1)
        _encode(model, ids, mask, feats)
        torch.testing.assert_close(seen["h"][:, :4], model.backbone.shared(ids))
        torch.testing.assert_close(seen["h"][:, 4:], model.visual_embedding(feats))
    finally:
        handle.remove()


def test_stock_backbone_is_unaffected_outside_vlmodel(model):
    ids, mask = text_batch(length=5, pad_last=0)
    embeds, enc_mask, _ = model.embed_inputs(ids, mask, image_feats(), "vqa")
    stock = model.encoder(inputs_embeds=embeds, attention_mask=enc_mask).last_hidden_state
    ours = _encode(model, ids, mask, image_feats()).encoder_last_hidden_state
    assert not torch.allclose(stock, ours)  # the hooks only act inside VLModel calls


def test_forward_loss_backward(model):
    model.train()
    try:
        ids, mask = text_batch()
        labels = torch.tensor([[5, 6, 7, 1], [8, 9, -100, -100]])
        out = model(ids, mask, image_feats(), "vqa", labels=labels)
        assert out.logits.shape == (2, 4, model.backbone.get_input_embeddings().num_embeddings)
        loss = nn.functional.cross_entropy(out.logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
        torch.testing.assert_close(loss, out.loss)
        loss.backward()
        ve = model.visual_embedding
        box = ve.absolute_vis_pos_embedding[0]
        for p in (ve.feat_embedding[0].weight, box.bias, ve.img_order_embedding.weight):
            assert p.grad is not None and p.grad.abs().sum() > 0
        assert not box.weight.grad.any()  # zero boxes: only the bias of the box term learns
    finally:
        model.zero_grad(set_to_none=True)
        model.eval()


def test_labels_build_decoder_inputs_by_right_shift(model):
    ids, mask = text_batch()
    labels = torch.tensor([[5, 6, 7], [8, -100, -100]])
    start, pad = model.config.decoder_start_token_id, model.config.pad_token_id
    shifted = torch.tensor([[start, 5, 6], [start, 8, pad]])
    a = model(ids, mask, image_feats(), "vqa", labels=labels).logits
    b = model(ids, mask, image_feats(), "vqa", decoder_input_ids=shifted).logits
    torch.testing.assert_close(a, b)


def test_visual_features_reach_the_logits(model):
    ids, mask = text_batch()
    a = _encode(model, ids, mask, image_feats(seed=2)).logits
    b = _encode(model, ids, mask, image_feats(seed=3)).logits
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("n_images,tokens", [(2, 49), (1, 64)])
def test_nlvr2_and_video_inputs(model, n_images, tokens):
    ids, mask = text_batch()
    out = _encode(model, ids, mask, image_feats(n_images=n_images, tokens=tokens))
    visual = 72 if n_images == 2 else 64
    assert out.encoder_last_hidden_state.shape[1] == 6 + visual


def _check_greedy(model, ids, mask, feats, generated):
    """Greedy output == argmax of teacher-forced logits, step by step, up to each sequence's EOS."""
    eos = model.config.eos_token_id
    logits = model(ids, mask, feats, "vqa", decoder_input_ids=generated[:, :-1]).logits
    pred = logits.argmax(-1)
    for row, seq in enumerate(generated[:, 1:]):
        stop = (seq == eos).nonzero()
        end = int(stop[0]) + 1 if len(stop) else len(seq)
        assert pred[row, :end].tolist() == seq[:end].tolist()


def test_generate_greedy_matches_forward(model):
    ids, mask = text_batch()
    feats = image_feats(n_images=2)
    generated = model.generate(ids, mask, feats, "nlvr", max_new_tokens=6, num_beams=1, do_sample=False)
    assert generated.shape[0] == 2 and generated.shape[1] <= 7
    assert generated[0, 0] == model.config.decoder_start_token_id
    assert model.task_context.task == "nlvr"
    _check_greedy(model, ids, mask, feats, generated)


def test_generate_beam_search(model):
    ids, mask = text_batch()
    feats = image_feats()
    model.prompt = ToyPrompt(3, model.config.d_model)
    try:
        beams = model.generate(
            ids,
            mask,
            feats,
            "caption",
            max_new_tokens=6,
            num_beams=5,
            num_return_sequences=5,
            output_scores=True,
            return_dict_in_generate=True,
        )
        assert beams.sequences.shape[0] == 10 and beams.sequences.shape[1] <= 7
        assert model.prompt.tasks == ["caption"]  # prompts built once, before the beams are expanded
        best = model.generate(ids, mask, feats, "caption", max_new_tokens=6, num_beams=5)
        assert best.shape[0] == 2
        assert torch.equal(best[:, : beams.sequences.shape[1]], beams.sequences[::5, : best.shape[1]])
    finally:
        model.prompt = None


def test_bad_inputs_are_clear_errors(model):
    ids, mask = text_batch()
    with pytest.raises(ValueError, match="batch 3 does not match"):
        model(ids, mask, image_feats(batch=3), "vqa")
    with pytest.raises(ValueError, match="input_ids / attention_mask"):
        model(ids, mask[:, :3], image_feats(), "vqa")
    model.prompt = ToyPrompt(2, model.config.d_model + 1)
    try:
        with pytest.raises(ValueError, match="prompt module returned shape"):
            model(ids, mask, image_feats(), "vqa")
    finally:
        model.prompt = None


def test_deepcopy_keeps_hooks_and_sharing_on_the_copy(model):
    import copy

    clone = copy.deepcopy(model)
    assert clone.visual_embedding.obj_order_embedding is clone.backbone.get_input_embeddings()
    assert clone.visual_embedding.obj_order_embedding is not model.backbone.get_input_embeddings()
    ids, mask = text_batch()
    torch.testing.assert_close(
        _encode(clone, ids, mask, image_feats()).logits, _encode(model, ids, mask, image_feats()).logits
    )
    assert clone.task_context.task == "vqa" and clone.task_context is not model.task_context
