"""One demo backbone end to end: train the tokenizer, pre-train, save model, tokenizer, visual
projections, log and summary into ``<out>/`` atomically (``build_demo_backbone``)."""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import AutoModelForSeq2SeqLM

from vlpeft.constants import ARCHS
from vlpeft.io import atomic_path, seed_everything, sha256_file, write_json, write_jsonl
from vlpeft.models import prepare_tokenizer, save_visual_embeddings
from vlpeft.models.tokenizer_train import collect_corpus, train_tokenizer
from vlpeft.pretrain.loop import PretrainSettings, pretrain, tiny_config
from vlpeft.pretrain.objectives import CaptionObjective, DenoisingObjective, QAObjective


def _move_aside(out: Path) -> Path:
    """Move an existing ``out`` aside so that ``atomic_path`` can rename the new directory onto it."""
    aside = out.with_name(f".{out.name}.old")
    shutil.rmtree(aside, ignore_errors=True)
    if out.exists():
        os.replace(out, aside)
    return aside


def build_demo_backbone(
    data_dir: str | os.PathLike,
    out: str | os.PathLike,
    settings: PretrainSettings,
    features_image: str | os.PathLike | None = None,
    features_video: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Train the tokenizer, pre-train the tiny backbone and save both into ``out`` (atomically).

    Returns the summary written to ``<out>/pretrain.json``.
    """
    s = settings
    if s.arch not in ARCHS:
        raise ValueError(f"unknown arch {s.arch!r}; expected one of {', '.join(ARCHS)}")
    features = {"image": features_image, "video": features_video}
    for group, path in features.items():
        if path is not None and not Path(path).is_file():
            raise FileNotFoundError(f"{group} feature file not found: {path}")
    corpus = collect_corpus(data_dir)
    tokenizer = train_tokenizer(corpus.tokenizer_texts(), s.arch, s.vocab_size)
    prepare_tokenizer(tokenizer, s.arch)  # the added vocabulary build_model expects (docs/methods.md B.0)
    torch.set_num_threads(s.threads)
    seed_everything(s.seed)
    backbone = AutoModelForSeq2SeqLM.from_config(tiny_config(s.arch, tokenizer, s))
    objectives: list[DenoisingObjective | CaptionObjective] = [
        DenoisingObjective(backbone, tokenizer, s.arch, corpus.texts, s.max_len)
    ]
    for group, path in features.items():
        if path is not None:
            caption = CaptionObjective(backbone, tokenizer, group, corpus.captions, path)
            objectives.append(caption)
            if group == "image" and corpus.qa:
                objectives.append(QAObjective(caption, tokenizer, corpus.qa))
    trained = nn.ModuleDict({o.name: o.module for o in objectives})  # the backbone counted once
    log, losses = pretrain(trained, objectives, s)
    inputs = {**corpus.files, **{f"features/{g}": sha256_file(p) for g, p in features.items() if p is not None}}
    summary = {
        "settings": asdict(s),
        "inputs": inputs,
        "objectives": [o.name for o in objectives],
        "examples": {o.name: len(o) for o in objectives},
        "eval_loss": losses,
        "tokenizer_size": len(tokenizer),
        "backbone_parameters": sum(p.numel() for p in backbone.parameters()),
    }
    out = Path(out)
    with atomic_path(out) as tmp:
        backbone.save_pretrained(tmp)
        projections = {
            o.group: o.module.visual_embedding
            for o in objectives
            if isinstance(o, CaptionObjective) and not isinstance(o, QAObjective)
        }
        if projections:
            save_visual_embeddings(projections, tmp)
        tokenizer.save_pretrained(tmp)
        write_jsonl(tmp / "pretrain_log.jsonl", log)
        write_json(tmp / "pretrain.json", summary)
        aside = _move_aside(out)
    shutil.rmtree(aside, ignore_errors=True)
    return summary
