"""VL-T5 / VL-BART as a stock Hugging Face seq2seq model fed through ``inputs_embeds`` (docs/methods.md B.0, D).

Encoder input = ``[prompt vectors][text tokens][visual tokens]`` with attention mask
``[1 ...][text mask][1 ...]``. The papers' two encoder details are obtained with hooks on stock
submodules, never by copying the encoder:

- BART: learned positions (offset 2) are added to the text tokens only, and ``layernorm_embedding``
  normalises prompt + text only (hooks on ``encoder.embed_positions`` / ``encoder.layernorm_embedding``).
- T5: the relative position bias covers the prompt + text block; rows and columns of visual tokens
  get zero bias (a pre-hook on the first encoder block's ``SelfAttention``, which creates the bias
  that every later encoder layer reuses).

The hooks read the block lengths from ``model.task_context`` and do nothing outside an encoder call
made by ``VLModel`` (``text_len`` is None then), so the stock backbone still works on its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from transformers import BartForConditionalGeneration, T5ForConditionalGeneration
from transformers.modeling_outputs import Seq2SeqLMOutput
from transformers.models.t5.modeling_t5 import T5Attention

from .visual import VisualEmbedding

# The stock seq2seq models a VLModel wraps.
Backbone = T5ForConditionalGeneration | BartForConditionalGeneration
BACKBONE_CLASSES: dict[str, type[Backbone]] = {"t5": T5ForConditionalGeneration, "bart": BartForConditionalGeneration}


@dataclass
class TaskContext:
    """What PET modules and the encoder hooks read during a forward/generate call.

    ``task`` is set by every ``VLModel.forward``/``generate`` (PET modules route on it).
    ``prompt_len``/``text_len``/``visual_len`` describe the encoder input while it is being encoded
    (``text_len`` is None outside).
    """

    task: str | None = None
    prompt_len: int = 0
    text_len: int | None = None
    visual_len: int = 0

    @property
    def text_block_len(self) -> int | None:
        """Length of the prompt + text block that gets positions (None outside an encoder call)."""
        return None if self.text_len is None else self.prompt_len + self.text_len


class _BartTextPositions:
    """Forward hook on BART's ``encoder.embed_positions``: positions 0..L-1 on the text, zeros elsewhere."""

    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx

    def __call__(self, module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        if self.ctx.text_len is None:
            return None
        batch, n, dim = output.shape
        p, text = self.ctx.prompt_len, self.ctx.text_len
        return torch.cat(
            [output.new_zeros(batch, p, dim), output[:, :text], output.new_zeros(batch, n - p - text, dim)], dim=1
        )


class _BartTextLayerNorm:
    """Forward hook on BART's ``encoder.layernorm_embedding``: visual tokens leave it untouched."""

    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx

    def __call__(self, module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        n_text = self.ctx.text_block_len
        if n_text is None:
            return None
        return torch.cat([output[:, :n_text], args[0][:, n_text:]], dim=1)


class _T5TextPositionBias:
    """Forward pre-hook on the first T5 encoder ``SelfAttention``: bias for the text block, zeros for vision.

    Equals the original ``position_bias[:, :, :L, :L] = text_bias`` on a zero tensor.
    """

    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx

    def __call__(self, module: T5Attention, args: tuple, kwargs: dict) -> tuple[tuple, dict] | None:
        n_text = self.ctx.text_block_len
        if n_text is None or kwargs.get("position_bias") is not None:
            return None
        hidden = args[0] if args else kwargs["hidden_states"]
        n = hidden.shape[1]
        bias = module.compute_bias(n_text, n_text, device=hidden.device)  # (1, heads, n_text, n_text)
        kwargs["position_bias"] = F.pad(bias, (0, n - n_text, 0, n - n_text))
        return args, kwargs


class VLModel(nn.Module):
    """A stock T5/BART backbone plus the visual embedding; see the module docstring.

    Attributes: ``backbone``, ``visual_embedding``, ``prompt`` (None, or a module
    ``prompt(task, batch_size) -> (B, P, d)`` set by a PET method), ``task_context``, ``arch``, ``config``.
    """

    pet_info: dict[str, Any]  # set by vlpeft.pet.registry.apply_method (absent until a method is applied)

    def __init__(self, backbone: Backbone, feat_dim: int) -> None:
        super().__init__()
        arch = backbone.config.model_type
        if arch not in BACKBONE_CLASSES:
            raise ValueError(f"backbone model_type {arch!r} is not supported; expected 't5' or 'bart'")
        self.arch = arch
        self.backbone = backbone  # registered first: the shared embedding's first name is the backbone's
        config = backbone.config
        # transformers types get_input_embeddings() as nn.Module; T5/BART return their nn.Embedding
        token_embedding = cast(Callable[[], nn.Embedding], backbone.get_input_embeddings)
        self.visual_embedding = VisualEmbedding(
            feat_dim,
            cast(int, config.d_model),
            arch,
            token_embedding,  # BartConfig types d_model `int | None`
            eps=getattr(config, "layer_norm_epsilon", 1e-5),
            init_std=config.init_std if arch == "bart" else None,
        )
        self.prompt: nn.Module | None = None
        self.task_context = TaskContext()
        self._install_encoder_hooks()

    @property
    def config(self):
        """The backbone's transformers config."""
        return self.backbone.config

    @property
    def encoder(self) -> nn.Module:
        """The backbone's encoder stack (``backbone.model.encoder`` for BART, ``backbone.encoder`` for T5)."""
        return self.backbone.get_encoder()

    def _install_encoder_hooks(self) -> None:
        ctx, encoder = self.task_context, self.encoder
        if self.arch == "bart":
            encoder.get_submodule("embed_positions").register_forward_hook(_BartTextPositions(ctx))
            encoder.get_submodule("layernorm_embedding").register_forward_hook(_BartTextLayerNorm(ctx))
        else:
            attention = encoder.get_submodule("block.0.layer.0.SelfAttention")
            attention.register_forward_pre_hook(_T5TextPositionBias(ctx), with_kwargs=True)

    def embed_inputs(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        vis_feats: torch.Tensor,
        task: str,
        img_order: torch.Tensor | None = None,
        vis_attention_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, TaskContext]:
        """Encoder ``inputs_embeds (B, P+L+V, d)``, its attention mask, and the layout to encode it with."""
        if input_ids.dim() != 2 or attention_mask.shape != input_ids.shape:
            raise ValueError(
                f"input_ids / attention_mask: expected equal (batch, length) shapes, got "
                f"{tuple(input_ids.shape)} and {tuple(attention_mask.shape)}"
            )
        batch = input_ids.shape[0]
        text = self.encoder.get_submodule("embed_tokens")(input_ids)  # BART: x embed_scale; positions: the hook
        visual = self.visual_embedding(vis_feats, img_order)
        if visual.shape[0] != batch:
            raise ValueError(f"vis_feats: batch {visual.shape[0]} does not match input_ids batch {batch}")
        if vis_attention_mask is None:
            vis_attention_mask = attention_mask.new_ones(batch, visual.shape[1])
        parts, masks = [text, visual.to(text.dtype)], [attention_mask, vis_attention_mask.to(attention_mask.dtype)]
        prompt_len = 0
        if self.prompt is not None:
            prompt = self.prompt(task, batch)
            if prompt.dim() != 3 or prompt.shape[0] != batch or prompt.shape[2] != text.shape[2]:
                raise ValueError(
                    f"prompt module returned shape {tuple(prompt.shape)}, expected ({batch}, P, {text.shape[2]})"
                )
            prompt_len = prompt.shape[1]
            parts.insert(0, prompt.to(text.dtype))
            masks.insert(0, attention_mask.new_ones(batch, prompt_len))
        layout = TaskContext(task, prompt_len, input_ids.shape[1], visual.shape[1])
        return torch.cat(parts, dim=1), torch.cat(masks, dim=1), layout

    @contextlib.contextmanager
    def _encoding(self, layout: TaskContext) -> Iterator[None]:
        """Publish the encoder layout to the hooks for the duration of a backbone call."""
        ctx = self.task_context
        ctx.task, ctx.prompt_len, ctx.text_len, ctx.visual_len = (
            layout.task,
            layout.prompt_len,
            layout.text_len,
            layout.visual_len,
        )
        try:
            yield
        finally:
            ctx.prompt_len, ctx.text_len, ctx.visual_len = 0, None, 0

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        vis_feats: torch.Tensor,
        task: str,
        labels: torch.Tensor | None = None,
        img_order: torch.Tensor | None = None,
        decoder_input_ids: torch.Tensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        vis_attention_mask: torch.Tensor | None = None,
        **backbone_kwargs: Any,
    ) -> Seq2SeqLMOutput:
        """Teacher-forced pass; returns the stock ``Seq2SeqLMOutput`` (``logits``; ``loss`` when ``labels`` given).

        ``labels`` (-100 padding allowed) build the decoder inputs by the backbone's own right shift.
        """
        self.task_context.task = task
        embeds, mask, layout = self.embed_inputs(
            input_ids, attention_mask, vis_feats, task, img_order, vis_attention_mask
        )
        with self._encoding(layout):
            return self.backbone(
                inputs_embeds=embeds,
                attention_mask=mask,
                labels=labels,
                decoder_input_ids=decoder_input_ids,
                decoder_attention_mask=decoder_attention_mask,
                **backbone_kwargs,
            )

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        vis_feats: torch.Tensor,
        task: str,
        img_order: torch.Tensor | None = None,
        vis_attention_mask: torch.Tensor | None = None,
        **generate_kwargs: Any,
    ) -> torch.Tensor:
        """Decode with the stock ``backbone.generate`` (greedy, beam search, ...); returns the generated ids."""
        self.task_context.task = task
        embeds, mask, layout = self.embed_inputs(
            input_ids, attention_mask, vis_feats, task, img_order, vis_attention_mask
        )
        with self._encoding(layout):
            # transformers annotates generate's self as a Protocol written for the ty checker that its own
            # models do not satisfy under mypy; without return_dict_in_generate the result is the ids tensor
            ids = self.backbone.generate(inputs_embeds=embeds, attention_mask=mask, **generate_kwargs)  # type: ignore[misc]
            return cast(torch.Tensor, ids)
