"""The pre-training objectives of the demo backbones: text denoising on the bare backbone, captioning
of the pre-training images/videos and visual QA through ``VLModel``. Each gives batches and a loss."""

from __future__ import annotations

import os
import random
from typing import Any

import torch

from vlpeft.features.cache import FeatureReader
from vlpeft.models import VLModel, fit_video_features
from vlpeft.pretrain.noising import collate, make_denoiser, random_window
from vlpeft.tasks import TASKS
from vlpeft.train.optim import sequence_loss


class DenoisingObjective:
    """Text denoising batches over the tokenized corpus, scored on the bare backbone."""

    name = "denoise"

    def __init__(self, backbone, tokenizer, arch: str, texts: list[str], max_len: int):
        ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
        self.ids = [x for x in ids if x]
        if not self.ids:
            raise ValueError("no annotation text to pre-train on")
        self.module, self.pad_id, self.max_len = backbone, tokenizer.pad_token_id, max_len
        self.denoise = make_denoiser(tokenizer, arch)

    def __len__(self) -> int:
        return len(self.ids)

    def batch(self, rng: random.Random, rows: list[int]) -> dict[str, Any]:
        return collate(
            [self.denoise(random_window(self.ids[r], self.max_len - 2, rng), rng) for r in rows], self.pad_id
        )

    def loss(self, batch: dict[str, Any]):
        out = self.module(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"])
        return sequence_loss(out.logits, batch["labels"])


class CaptionObjective:
    """Captioning of the pre-training images or videos through ``VLModel`` (visual tokens after the text).

    The encoder text is the caption task prompt; the visual projection trained here is saved beside the
    backbone (``visual_embedding.safetensors``).
    """

    def __init__(self, backbone, tokenizer, group: str, captions: list[dict], features: str | os.PathLike):
        self.name, self.group = f"caption_{group}", group
        self.rows = [c for c in captions if c["group"] == group]
        if not self.rows:
            raise ValueError(
                f"{features}: given for {group} captions, but the data has no {group} pre-training captions"
            )
        reader = FeatureReader(features)
        self.feats = {key: self._fit(reader.get(key), group) for key in sorted({c["key"] for c in self.rows})}
        reader.close()
        self.module = VLModel(backbone, feat_dim=next(iter(self.feats.values())).shape[-1])
        self.prompt = tokenizer(TASKS["caption"].prompt)["input_ids"]
        self.targets = tokenizer(
            [c["caption"] for c in self.rows], truncation=True, max_length=TASKS["caption"].max_target_len
        )["input_ids"]
        self.pad_id = tokenizer.pad_token_id

    @staticmethod
    def _fit(feats, group: str):
        """Image grids as stored ``(49, C)``; whole-video features padded/pooled to 64 tokens."""
        x = torch.from_numpy(feats).float()
        return fit_video_features(x)[0] if group == "video" else x

    def __len__(self) -> int:
        return len(self.rows)

    def batch(self, rng: random.Random, rows: list[int]) -> dict[str, Any]:
        out = collate([(self.prompt, self.targets[r]) for r in rows], self.pad_id)
        out["vis_feats"] = torch.stack([self.feats[self.rows[r]["key"]] for r in rows]).unsqueeze(1)
        return out

    def loss(self, batch: dict[str, Any]):
        out = self.module(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            vis_feats=batch["vis_feats"],
            task=self.name,
            labels=batch["labels"],
        )
        return sequence_loss(out.logits, batch["labels"])


class QAObjective(CaptionObjective):
    """Visual QA on the pre-training images (``annotations/pretrain/image_qa.jsonl``), as VL-T5/VL-BART
    pre-train with QA: encoder text ``"vqa: " + question`` before the visual tokens, target the answer.
    It shares the image captioning objective's ``VLModel`` (one image projection, saved once).

    Used only when the world has the file (``vlpeft demo --pretrain-qa N``; the default world has
    none). Measured on the default world v2, full fine-tuning for 5 epochs, seed 42, 1500 pre-training
    steps: VQA 60.8 / GQA 67 / NLVR2 59.5 / CIDEr 309 without it, 41.9 / 52 / 50 / 43 with 1600 QA
    pairs (the pre-training captioning loss ended at 0.84 instead of 0.66: the QA steps taken from
    captioning left a backbone that ignores the picture).
    """

    def __init__(self, caption: CaptionObjective, tokenizer, rows: list[dict]):
        self.name, self.group, self.module, self.pad_id = "qa_image", "image", caption.module, caption.pad_id
        self.rows = [r for r in rows if r["key"] in caption.feats]
        missing = sorted({r["key"] for r in rows} - set(caption.feats))
        if missing:
            raise KeyError(f"pre-training QA names image(s) without features: {', '.join(missing[:5])}")
        if not self.rows:
            raise ValueError("no pre-training QA rows")
        self.feats = caption.feats
        spec = TASKS["vqa"]
        self.sources = tokenizer(
            [spec.prompt + r["question"] for r in self.rows], truncation=True, max_length=spec.max_input_len
        )["input_ids"]
        self.targets = tokenizer([r["answer"] for r in self.rows], truncation=True, max_length=spec.max_target_len)[
            "input_ids"
        ]

    def batch(self, rng: random.Random, rows: list[int]) -> dict[str, Any]:
        out = collate([(self.sources[r], self.targets[r]) for r in rows], self.pad_id)
        out["vis_feats"] = torch.stack([self.feats[self.rows[r]["key"]] for r in rows]).unsqueeze(1)
        return out
