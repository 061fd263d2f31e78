"""`vlpeft backbone-demo`: a tiny pre-trained T5 or BART for the demo world.

Parameter-efficient tuning of a random backbone proves nothing, so the demo pipeline pre-trains its
own tiny backbone, briefly, on CPU, and saves it with ``save_pretrained`` so that the training step
loads it through ``from_pretrained(path)`` exactly as it loads ``t5-base``:

1. a tokenizer trained on the demo world's train + pre-training text (``tokenizer_train``), with the
   project's added vocabulary (``<extra_id_*>``, ``<vis_extra_id_*>``, docs/methods.md B.0);
2. a tiny config, seeded random init, then pre-training with AdamW and a linear schedule on
   (a) text denoising (T5 span corruption with sentinels / BART text infilling with ``<mask>``) and
   (b) captioning of the pre-training split's images/videos when feature files are given, through the
   ``VLModel`` wrapper, each task group with its own visual projection;
3. ``<out>/`` written atomically: model + tokenizer (``save_pretrained``), the visual projections
   (``visual_embedding.safetensors``, loaded by the training step as the initial projection, as a
   VL-pre-trained VL-T5 checkpoint carries its own; the papers' text-only backbones have none and start
   it from random), ``pretrain_log.jsonl`` (loss per step) and ``pretrain.json`` (settings, input
   checksums, loss on fixed batches before/after).

Measured on the default demo world: with a 400-step pre-training and a discarded projection, every
method stayed at chance after the demo's 2 epochs (the frozen decoder never emitted an answer token:
answers such as "true" or "a3", one-token texts, were not denoising targets, and a fresh projection
hides the images behind the shared component of the CLIP grid features).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from transformers import AutoModelForSeq2SeqLM

from vlpeft.features.cache import FeatureReader
from vlpeft.io import atomic_path, seed_everything, sha256_file, write_json, write_jsonl
from vlpeft.models import VLModel, backbone_config, fit_video_features, prepare_tokenizer, save_visual_embeddings
from vlpeft.models.configs import ARCHS, NUM_EXTRA_IDS
from vlpeft.models.tokenizer_train import collect_corpus, train_tokenizer
from vlpeft.progress import progress_bar as tqdm
from vlpeft.tasks import TASKS
from vlpeft.train.optim import build_optimizer, build_scheduler, sequence_loss

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
    seed: int = 9595
    threads: int = 1  # torch CPU threads: a model this small runs fastest on one, and the count changes float sums


# --------------------------------------------------------------------------- config

def tiny_config(arch: str, tokenizer, s: PretrainSettings):
    """The project's ``tiny-<arch>`` config at the requested sizes, its vocabulary the tokenizer's.

    BART keeps bart-base's 1024 learned positions: video inputs reach 600 text tokens (docs/methods.md D).
    """
    if arch == "t5":
        sizes = {"d_model": s.d_model, "d_kv": s.d_model // s.heads, "d_ff": s.d_ff, "num_layers": s.layers,
                 "num_decoder_layers": s.layers, "num_heads": s.heads}
    else:
        sizes = {"d_model": s.d_model, "encoder_layers": s.layers, "decoder_layers": s.layers,
                 "encoder_attention_heads": s.heads, "decoder_attention_heads": s.heads,
                 "encoder_ffn_dim": s.d_ff, "decoder_ffn_dim": s.d_ff, "max_position_embeddings": 1024}
    if s.d_model % s.heads:
        raise ValueError(f"--d-model {s.d_model} is not a multiple of --heads {s.heads}")
    config = backbone_config(f"tiny-{arch}", vocab_size=len(tokenizer), **sizes)
    for name in ("pad_token_id", "eos_token_id", "bos_token_id"):
        want = getattr(tokenizer, name, None)
        if want is not None and getattr(config, name, None) not in (None, want):
            raise ValueError(f"tiny-{arch} config: {name} {getattr(config, name)} != tokenizer's {want}")
    return config


# --------------------------------------------------------------------------- denoising objectives

def _partition(total: int, parts: int, rng: random.Random) -> list[int]:
    """A uniformly random split of ``total`` into ``parts`` positive integers."""
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    return [b - a for a, b in zip([0] + cuts, cuts + [total])]


def span_corrupt(ids: list[int], rng: random.Random, sentinels: list[int], eos_id: int,
                 density: float = 0.15, mean_span: float = 3.0) -> tuple[list[int], list[int]]:
    """T5 span corruption (our own: transformers ships it only in its Flax examples).

    About ``density`` of the tokens, in spans of mean length ``mean_span``, are cut out of the input
    and replaced by ``<extra_id_k>``; the target lists each sentinel followed by its span. A
    one-token text (an answer: "true", "a3", "white") is corrupted whole, so that answer tokens are
    trained as decoder targets, as every word of a real backbone's vocabulary is.
    """
    n = len(ids)
    if n == 1:
        return [sentinels[0], eos_id], [sentinels[0], ids[0], eos_id]
    n_noise = min(max(1, round(n * density)), n - 1)
    n_spans = max(1, min(round(n_noise / mean_span), n_noise, n - n_noise, len(sentinels)))
    keep, noise = _partition(n - n_noise, n_spans, rng), _partition(n_noise, n_spans, rng)
    src, tgt, pos = [], [], 0
    for k, (a, b) in enumerate(zip(keep, noise)):
        src += ids[pos:pos + a] + [sentinels[k]]
        tgt += [sentinels[k]] + ids[pos + a:pos + a + b]
        pos += a + b
    return src + [eos_id], tgt + [eos_id]


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's Poisson sampler (the span lengths of BART's text infilling)."""
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def text_infill(ids: list[int], rng: random.Random, mask_id: int, bos_id: int, eos_id: int,
                ratio: float = 0.3, lam: float = 3.0) -> tuple[list[int], list[int]]:
    """BART text infilling (our own: transformers has no BART noising collator).

    Spans with Poisson(``lam``) lengths covering about ``ratio`` of the tokens are each replaced by a
    single ``<mask>`` (a 0-length span inserts one); the target is the whole original text.
    """
    n = len(ids)
    masked, inserts, spent = [False] * n, set(), 0
    while spent < max(1, round(n * ratio)):
        length, start = _poisson(rng, lam), rng.randrange(n)
        if length == 0:
            inserts.add(start)
        for j in range(start, min(n, start + length)):
            masked[j] = True
        spent += max(1, length)
    src, prev_masked = [], False
    for i, tok in enumerate(ids):
        if i in inserts and not prev_masked and not masked[i]:
            src.append(mask_id)
        if masked[i]:
            if not prev_masked:
                src.append(mask_id)
        else:
            src.append(tok)
        prev_masked = masked[i]
    return [bos_id] + src + [eos_id], [bos_id] + ids + [eos_id]


def make_denoiser(tokenizer, arch: str) -> Callable[[list[int], random.Random], tuple[list[int], list[int]]]:
    """The arch's denoising objective as ``f(ids, rng) -> (encoder ids, label ids)``."""
    if arch == "t5":
        sentinels = tokenizer.convert_tokens_to_ids([f"<extra_id_{i}>" for i in range(NUM_EXTRA_IDS)])
        return lambda ids, rng: span_corrupt(ids, rng, sentinels, tokenizer.eos_token_id)
    return lambda ids, rng: text_infill(ids, rng, tokenizer.mask_token_id, tokenizer.bos_token_id,
                                        tokenizer.eos_token_id)


def _window(ids: list[int], max_len: int, rng: random.Random) -> list[int]:
    """A random window of at most ``max_len`` tokens (long subtitle texts)."""
    if len(ids) <= max_len:
        return ids
    start = rng.randrange(len(ids) - max_len + 1)
    return ids[start:start + max_len]


def _pad(seqs: list[list[int]], value: int):
    width = max(len(s) for s in seqs)
    return torch.tensor([s + [value] * (width - len(s)) for s in seqs], dtype=torch.long)


def collate(pairs: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, Any]:
    """Encoder ids, attention mask and labels (padding ignored as -100) of (source, target) pairs."""
    input_ids = _pad([p[0] for p in pairs], pad_id)
    return {"input_ids": input_ids, "attention_mask": (input_ids != pad_id).long(),
            "labels": _pad([p[1] for p in pairs], -100)}


# --------------------------------------------------------------------------- pre-training objectives

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
        return collate([self.denoise(_window(self.ids[r], self.max_len - 2, rng), rng) for r in rows],
                       self.pad_id)

    def loss(self, batch: dict[str, Any]):
        out = self.module(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                          labels=batch["labels"])
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
            raise ValueError(f"{features}: given for {group} captions, but the data has no {group} pre-training captions")
        reader = FeatureReader(features)
        self.feats = {key: self._fit(reader.get(key), group) for key in sorted({c["key"] for c in self.rows})}
        reader.close()
        self.module = VLModel(backbone, feat_dim=next(iter(self.feats.values())).shape[-1])
        self.prompt = tokenizer(TASKS["caption"].prompt)["input_ids"]
        self.targets = tokenizer([c["caption"] for c in self.rows], truncation=True,
                                 max_length=TASKS["caption"].max_target_len)["input_ids"]
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
        out = self.module(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                          vis_feats=batch["vis_feats"], task=self.name, labels=batch["labels"])
        return sequence_loss(out.logits, batch["labels"])


class QAObjective(CaptionObjective):
    """Visual QA on the pre-training images (``annotations/pretrain/image_qa.jsonl``), as VL-T5/VL-BART
    pre-train with QA: encoder text ``"vqa: " + question`` before the visual tokens, target the answer.
    It shares the image captioning objective's ``VLModel`` (one image projection, saved once).

    Measured on the demo world (version 2): without it, full fine-tuning answered "is there a red
    object?" at chance after 1900 steps although a linear probe reads each colour's presence from the
    features with 99-100 % accuracy: the tiny backbone had never matched a word of the question to
    the picture, only generated words from it.
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
        self.sources = tokenizer([spec.prompt + r["question"] for r in self.rows], truncation=True,
                                 max_length=spec.max_input_len)["input_ids"]
        self.targets = tokenizer([r["answer"] for r in self.rows], truncation=True,
                                 max_length=spec.max_target_len)["input_ids"]

    def batch(self, rng: random.Random, rows: list[int]) -> dict[str, Any]:
        out = collate([(self.sources[r], self.targets[r]) for r in rows], self.pad_id)
        out["vis_feats"] = torch.stack([self.feats[self.rows[r]["key"]] for r in rows]).unsqueeze(1)
        return out


# --------------------------------------------------------------------------- pre-training

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
    eval_batches = [[o.batch(eval_rng, list(range(i, min(i + s.batch_size, EVAL_EXAMPLES, len(o)))))
                     for i in range(0, min(EVAL_EXAMPLES, len(o)), s.batch_size)] for o in objectives]
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


# --------------------------------------------------------------------------- the step

def _move_aside(out: Path) -> Path:
    """Move an existing ``out`` aside so that ``atomic_path`` can rename the new directory onto it."""
    aside = out.with_name(f".{out.name}.old")
    shutil.rmtree(aside, ignore_errors=True)
    if out.exists():
        os.replace(out, aside)
    return aside


def build_demo_backbone(data_dir: str | os.PathLike, out: str | os.PathLike, settings: PretrainSettings,
                        features_image: str | os.PathLike | None = None,
                        features_video: str | os.PathLike | None = None) -> dict[str, Any]:
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
    objectives = [DenoisingObjective(backbone, tokenizer, s.arch, corpus.texts, s.max_len)]
    for group, path in features.items():
        if path is not None:
            objectives.append(CaptionObjective(backbone, tokenizer, group, corpus.captions, path))
            if group == "image" and corpus.qa:
                objectives.append(QAObjective(objectives[-1], tokenizer, corpus.qa))
    trained = nn.ModuleDict({o.name: o.module for o in objectives})  # the backbone counted once
    log, losses = pretrain(trained, objectives, s)
    inputs = {**corpus.files, **{f"features/{g}": sha256_file(p) for g, p in features.items() if p is not None}}
    summary = {"settings": asdict(s), "inputs": inputs, "objectives": [o.name for o in objectives],
               "examples": {o.name: len(o) for o in objectives}, "eval_loss": losses,
               "tokenizer_size": len(tokenizer), "backbone_parameters": sum(p.numel() for p in backbone.parameters())}
    out = Path(out)
    with atomic_path(out) as tmp:
        backbone.save_pretrained(tmp)
        projections = {o.group: o.module.visual_embedding for o in objectives
                       if isinstance(o, CaptionObjective) and not isinstance(o, QAObjective)}
        if projections:
            save_visual_embeddings(projections, tmp)
        tokenizer.save_pretrained(tmp)
        write_jsonl(tmp / "pretrain_log.jsonl", log)
        write_json(tmp / "pretrain.json", summary)
        aside = _move_aside(out)
    shutil.rmtree(aside, ignore_errors=True)
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = PretrainSettings(arch="t5")
    parser.add_argument("--data", required=True, help="demo world directory data/<ds>")
    parser.add_argument("--arch", required=True, choices=ARCHS)
    parser.add_argument("--out", required=True, help="output directory models/<ds>/<arch>")
    parser.add_argument("--features-image", help="image feature cache (HDF5) for caption pre-training")
    parser.add_argument("--features-video", help="video feature cache (HDF5) for caption pre-training")
    for name, help_ in [("vocab_size", "learnt tokenizer entries (before the added vocabulary)"),
                        ("d_model", "hidden size"), ("layers", "encoder and decoder layers"),
                        ("heads", "attention heads"), ("d_ff", "feed-forward size"),
                        ("max_len", "max encoder tokens per denoising example"), ("steps", "optimizer steps"),
                        ("batch_size", "examples per step"), ("seed", "random seed"),
                        ("threads", "torch CPU threads; results are reproducible for a given count")]:
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(d, name),
                            help=f"{help_} (default {getattr(d, name)})")
    parser.add_argument("--lr", type=float, default=d.lr, help=f"peak learning rate (default {d.lr})")


def run(args: argparse.Namespace) -> int:
    fields = ("vocab_size", "d_model", "layers", "heads", "d_ff", "max_len", "steps", "batch_size", "lr", "seed",
              "threads")
    settings = PretrainSettings(arch=args.arch, **{k: getattr(args, k) for k in fields})
    summary = build_demo_backbone(args.data, args.out, settings, args.features_image, args.features_video)
    for name in summary["objectives"]:
        print(f"{args.out}: {name} loss {summary['eval_loss']['before'][name]:.3f} -> "
              f"{summary['eval_loss']['after'][name]:.3f}")
    return 0
