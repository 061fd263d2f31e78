"""Decoding per task (docs/methods.md C.6): VQA and GQA greedy; video QA beam search (5 beams, max
length 20); captions beam search (5 beams, max length 40 for COCO, 20 for video); NLVR2 by comparing
the logits of "true" and "false" at the first answer step (quirk F9), not by free generation.

The settings the official code's transformers 4.2.1 read from the checkpoint's own config
(``no_repeat_ngram_size``, ``early_stopping``, ``length_penalty``, ... : facebook/bart-base sets
``no_repeat_ngram_size=3`` and ``early_stopping=True``) are applied as that version applied them;
``forced_bos_token_id`` (transformers >= 4.3) is not, and BART's end-of-sequence forcing at the
last step applies to beam search only (docs/methods.md C.6)."""

from __future__ import annotations

from typing import Any

import torch

from vlpeft.progress import progress_bar as tqdm
from vlpeft.tasks import TaskSpec
from vlpeft.train.data import Collator, TaskData, move_batch
from vlpeft.train.distributed import autocast_for

GEN_MAX_LENGTH = 20  # the original's default gen_max_length, used by the greedy (QA) tasks


# generate() settings transformers 4.2.1 took from the model config when the call did not pass them
CHECKPOINT_GENERATION_KEYS = (
    "no_repeat_ngram_size",
    "early_stopping",
    "length_penalty",
    "min_length",
    "repetition_penalty",
    "bad_words_ids",
)


def generation_kwargs(spec: TaskSpec, model: Any = None) -> dict[str, Any]:
    """``generate`` arguments of a generative task: greedy, or beam search with the task's length.

    With ``model`` (a VLModel), the checkpoint's own generation settings are added as the official
    code's transformers 4.2.1 applied them (module docstring)."""
    if spec.decoding == "greedy":
        kwargs: dict[str, Any] = {"num_beams": 1, "do_sample": False, "max_length": GEN_MAX_LENGTH}
    elif spec.decoding == "beam":
        kwargs = {"num_beams": spec.num_beams, "do_sample": False, "max_length": spec.max_target_len}
    else:
        raise ValueError(f"task {spec.name}: decoding {spec.decoding!r} is not generative")
    if model is not None:
        kwargs.update(checkpoint_generation_settings(model, beam=kwargs["num_beams"] > 1))
    return kwargs


def checkpoint_generation_settings(model: Any, beam: bool) -> dict[str, Any]:
    """The checkpoint's generation settings that transformers 4.2.1 applied (docs/methods.md C.6)."""
    config = model.backbone.generation_config
    settings = {k: getattr(config, k) for k in CHECKPOINT_GENERATION_KEYS if getattr(config, k, None) is not None}
    settings["forced_bos_token_id"] = None  # no such setting before transformers 4.3
    # BART's adjust_logits_during_generation forced EOS at max_length - 1, in beam search only
    settings["forced_eos_token_id"] = model.config.eos_token_id if (beam and model.arch == "bart") else None
    return settings


def true_false_ids(tokenizer: Any) -> tuple[list[int], int, int]:
    """(decoder prefix, id of "true", id of "false") at the first answer step.

    The answers are tokenised as training targets are (special tokens included), so BART's leading
    ``<s>`` becomes part of the prefix; the compared ids are the first ones where the two differ.
    """
    t, f = (tokenizer(w)["input_ids"] for w in ("true", "false"))
    for k, (a, b) in enumerate(zip(t, f)):
        if a != b:
            return list(t[:k]), int(a), int(b)
    raise ValueError("the tokenizer encodes 'true' and 'false' identically")


@torch.no_grad()
def _predict_true_false(model: Any, tokenizer: Any, batch: dict[str, Any]) -> list[str]:
    prefix, true_id, false_id = true_false_ids(tokenizer)
    start = model.config.decoder_start_token_id
    n = batch["input_ids"].shape[0]
    dec = torch.tensor([[start] + prefix] * n, dtype=torch.long, device=batch["input_ids"].device)
    out = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        vis_feats=batch["vis_feats"],
        task=batch["task"],
        decoder_input_ids=dec,
    )
    logits = out.logits[:, -1].float()
    return ["true" if bool(x) else "false" for x in (logits[:, true_id] > logits[:, false_id])]


@torch.no_grad()
def _predict_generate(model: Any, tokenizer: Any, batch: dict[str, Any], spec: TaskSpec) -> list[str]:
    ids = model.generate(
        batch["input_ids"], batch["attention_mask"], batch["vis_feats"], batch["task"], **generation_kwargs(spec, model)
    )
    return [s.strip() for s in tokenizer.batch_decode(ids, skip_special_tokens=True)]


def decode_task(
    model: Any,
    tokenizer: Any,
    data: TaskData,
    batch_size: int,
    device: torch.device,
    progress: bool = True,
    precision: str = "fp32",
) -> dict[str, str]:
    """Predictions ``{example id: text}`` of one task, in batches of ``batch_size`` (``precision``:
    the run's, from run.json)."""
    spec = data.spec
    collator = Collator(tokenizer, {spec.name: spec})
    model.eval()
    preds: dict[str, str] = {}
    starts = range(0, len(data), batch_size)
    for start in tqdm(starts, desc=f"decode {spec.name}", unit="batch", disable=not progress):
        items = [data.item(i) for i in range(start, min(start + batch_size, len(data)))]
        batch = move_batch(collator(items), device)
        with autocast_for(device, precision):
            if spec.decoding == "true_false_logits":
                texts = _predict_true_false(model, tokenizer, batch)
            else:
                texts = _predict_generate(model, tokenizer, batch, spec)
        for ex_id, text in zip(batch["ids"], texts):
            if ex_id in preds:
                raise ValueError(f"task {spec.name}: duplicate example id {ex_id!r}")
            preds[ex_id] = text
    return preds
