"""The settings of one demo-backbone run, its tiny config and the pre-training loop (AdamW and the linear
schedule of the fine-tuning recipe, docs/methods.md C)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from vlpeft.constants import DEFAULT_SEED
from vlpeft.models import backbone_config
from vlpeft.models.configs import set_dropout
from vlpeft.progress import progress_bar as tqdm
from vlpeft.train.optim import build_optimizer, build_scheduler

EVAL_EXAMPLES = 64  # per objective: its first examples, fixed noise, scored before and after pre-training


@dataclass(frozen=True)
class PretrainSettings:
    """Every knob of one backbone-demo run (recorded in ``pretrain.json``)."""

    arch: str
    vocab_size: int = 1024
    d_model: int = 64
    layers: int = 2
    heads: int = 4
    d_ff: int = 256
    max_len: int = 64
    steps: int = 1500
    batch_size: int = 16
    lr: float = 3e-3
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    grad_clip: float = 5.0
    seed: int = DEFAULT_SEED
    # No dropout: a backbone this small underfits the demo tasks (seed 42, 5 epochs: full fine-tuning's
    # average 125.5 -> 132.7, the adapter's 106.6 -> 111.8 with the same weights and dropout 0.1 -> 0).
    dropout: float = 0.0
    threads: int = 1  # torch CPU threads: a model this small runs fastest on one, and the count changes float sums


def tiny_config(arch: str, tokenizer, s: PretrainSettings):
    """The project's ``tiny-<arch>`` config at the requested sizes, its vocabulary the tokenizer's.

    BART keeps bart-base's 1024 learned positions: video inputs reach 600 text tokens (docs/methods.md D).
    """
    if arch == "t5":
        sizes = {
            "d_model": s.d_model,
            "d_kv": s.d_model // s.heads,
            "d_ff": s.d_ff,
            "num_layers": s.layers,
            "num_decoder_layers": s.layers,
            "num_heads": s.heads,
        }
    else:
        sizes = {
            "d_model": s.d_model,
            "encoder_layers": s.layers,
            "decoder_layers": s.layers,
            "encoder_attention_heads": s.heads,
            "decoder_attention_heads": s.heads,
            "encoder_ffn_dim": s.d_ff,
            "decoder_ffn_dim": s.d_ff,
            "max_position_embeddings": 1024,
        }
    if s.d_model % s.heads:
        raise ValueError(f"--d-model {s.d_model} is not a multiple of --heads {s.heads}")
    config = backbone_config(f"tiny-{arch}", vocab_size=len(tokenizer), **sizes)
    set_dropout(config, s.dropout)
    for name in ("pad_token_id", "eos_token_id", "bos_token_id"):
        want = getattr(tokenizer, name, None)
        if want is not None and getattr(config, name, None) not in (None, want):
            raise ValueError(f"tiny-{arch} config: {name} {getattr(config, name)} != tokenizer's {want}")
    return config


def evaluate(model, objectives: list, batches: list[list[dict]]) -> dict[str, float]:
    """Mean loss of each objective's fixed batches, dropout off."""
    model.eval()
    with torch.no_grad():
        out = {o.name: round(sum(float(o.loss(b)) for b in bs) / len(bs), 6) for o, bs in zip(objectives, batches)}
    model.train()
    return out


def pretrain(model, objectives: list, s: PretrainSettings) -> tuple[list[dict], dict[str, dict[str, float]]]:
    """AdamW + linear warmup/decay for ``s.steps`` steps, the objectives in turn.

    ``model`` holds every trained module (parameters shared by several objectives count once).
    Returns the per-step log rows and the losses ``{"before": {...}, "after": {...}}`` of fixed
    batches (the first ``EVAL_EXAMPLES`` examples of each objective, fixed noise, dropout off).
    """
    rng, eval_rng = random.Random(s.seed), random.Random(s.seed + 1)
    eval_batches = [
        [
            o.batch(eval_rng, list(range(i, min(i + s.batch_size, EVAL_EXAMPLES, len(o)))))
            for i in range(0, min(EVAL_EXAMPLES, len(o)), s.batch_size)
        ]
        for o in objectives
    ]
    losses = {"before": evaluate(model, objectives, eval_batches)}
    opt = build_optimizer(model, s.lr, s.weight_decay)  # the fine-tuning recipe's AdamW (docs/methods.md C)
    sched = build_scheduler(opt, s.steps, s.warmup_ratio)
    log = []
    model.train()
    for step in (bar := tqdm(range(1, s.steps + 1), desc=f"pre-train {s.arch}", unit="step")):
        obj = objectives[(step - 1) % len(objectives)]
        loss = obj.loss(obj.batch(rng, [rng.randrange(len(obj)) for _ in range(s.batch_size)]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
        opt.step()
        sched.step()
        log.append({"step": step, "objective": obj.name, "loss": round(loss.item(), 6)})
        bar.set_postfix(loss=f"{loss.item():.3f}")
    losses["after"] = evaluate(model, objectives, eval_batches)
    return log, losses
