"""Training / evaluation data: one ``TaskData`` per (task, split) over
``<data>/annotations/<task>/<split>.jsonl`` and the cached visual features, and a collator that
tokenises a single-task batch (docs/methods.md C and D).

Targets are drawn per (seed, epoch, task, example) from their own ``random.Random``, so the data
never touches the global RNGs and a resumed run sees the same targets as an uninterrupted one:
VQA/GQA answers are sampled proportionally to their soft score (the loss is then weighted by that
score; a row with an empty label stays, with an empty target of weight 0), COCO captions train on
one example per reference (``training_examples``), other caption rows sample one reference, NLVR2
targets are "true"/"false", video QA targets "aN".
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vlpeft.constants import VIDEO_TOKENS
from vlpeft.features.cache import FeatureReader
from vlpeft.io import read_jsonl
from vlpeft.tasks import TaskSpec, source_text, target_texts, visual_ids

# keys every annotation row of a family must carry (schemas in vlpeft/tasks.py)
REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "image_qa": ("id", "image_id", "question", "label"),
    "nlvr": ("id", "image_ids", "sentence", "label"),
    "caption": ("id", "image_id", "captions"),
    "video_qa": ("id", "video_id", "question", "choices", "answer_idx", "ts", "subtitles"),
    "video_caption": ("id", "video_id", "ts", "subtitles", "captions"),
}


def annotation_path(data_dir: str | Path, task: str, split: str) -> Path:
    return Path(data_dir) / "annotations" / task / f"{split}.jsonl"


def load_examples(data_dir: str | Path, spec: TaskSpec, split: str) -> list[dict[str, Any]]:
    """The annotation rows of (task, split), checked for the keys the task reads."""
    path = annotation_path(data_dir, spec.name, split)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: annotation file not found (task {spec.name}, split {split})")
    rows = read_jsonl(path)
    required = REQUIRED_KEYS[spec.family]
    for lineno, row in enumerate(rows, 1):
        missing = [k for k in required if k not in row]
        if missing:
            raise KeyError(f"{path}:{lineno}: missing key(s) {', '.join(missing)} for task {spec.name}")
    return rows


def drop_rejected(rows: list[dict[str, Any]], spec: TaskSpec, features: FeatureReader) -> list[dict[str, Any]]:
    """``rows`` without those that read a video the frames step rejected (``on_error: skip``: the
    feature cache's ``rejected_ids``), with one line on stderr counting them: skip means skip."""
    rejected = set(features.rejected_ids())
    if not rejected:
        return rows
    kept = [r for r in rows if not any(str(k) in rejected for k in visual_ids(spec, r))]
    if len(kept) < len(rows):
        print(
            f"{spec.name}: {len(rows) - len(kept)} of {len(rows)} examples left out, their video was "
            f"rejected by the frames step ({len(rejected)} rejected, listed in {features.path.name})",
            file=sys.stderr,
        )
    return kept


def training_examples(spec: TaskSpec, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The training examples of a task: its rows, or for ``train_unit == "reference"`` (COCO
    captioning) one example per reference sentence, stripped, as the official loader builds them
    (docs/methods.md C.3). Evaluation keeps the rows with all their references."""
    if spec.train_unit == "row":
        return rows
    if spec.train_unit != "reference":
        raise ValueError(f"task {spec.name}: unknown train_unit {spec.train_unit!r}")
    return [
        {**row, "id": f"{row['id']}#{k}", "captions": [caption.strip()]}
        for row in rows
        for k, caption in enumerate(row["captions"])
    ]


@dataclass(frozen=True)
class TextOptions:
    """Run-level switches of the encoder text (docs/methods.md D, quirk F3/F4)."""

    use_task_prompt: bool
    fix_gqa_prefix: bool = False


def sample_target(spec: TaskSpec, ex: dict[str, Any], rng: random.Random) -> tuple[str, float]:
    """One training target and its loss weight (the VQA soft score; 1 elsewhere)."""
    cands = target_texts(spec, ex)
    if spec.family == "image_qa":
        answers, scores = [a for a, _ in cands], [float(s) for _, s in cands]
        if sum(scores) <= 0:  # no answer in the vocabulary: an empty target that weighs nothing
            return "", 0.0
        i = rng.choices(range(len(answers)), weights=scores)[0]
        return answers[i], scores[i]
    if not cands:
        raise ValueError(f"task {spec.name}, example {ex.get('id')!r}: no target text")
    return rng.choice(cands)[0], 1.0


class TaskData:
    """Examples of one (task, split) with their visual features.

    ``item(i, epoch=e)`` gives ``{"task", "id", "source", "vis", "target", "weight"}`` where ``vis``
    is a float32 tensor ``(n_images, T, D)``: one or two (NLVR2) ``(49, C)`` image grids, or one
    video fitted to 64 tokens. ``epoch=None`` (evaluation) gives no target.
    """

    def __init__(
        self, spec: TaskSpec, examples: list[dict[str, Any]], features: FeatureReader, text: TextOptions, seed: int = 0
    ):
        self.spec, self.features, self.text, self.seed = spec, features, text, seed
        self.examples = drop_rejected(examples, spec, features)

    def __len__(self) -> int:
        return len(self.examples)

    def visual(self, ex: dict[str, Any]) -> torch.Tensor:
        arrays = []
        for key in visual_ids(self.spec, ex):
            try:
                feats = self.features.get(str(key))
            except KeyError:
                raise KeyError(
                    f"{self.features.path}: no features for {key!r} (task {self.spec.name}, example {ex['id']!r})"
                ) from None
            if self.spec.is_video:
                from vlpeft.models.visual import fit_video_features

                feats, _ = fit_video_features(feats, n=VIDEO_TOKENS)  # all-ones mask (docs/methods.md D)
            arrays.append(torch.as_tensor(np.asarray(feats, dtype=np.float32)))
        return torch.stack(arrays)

    def item(self, i: int, epoch: int | None = None) -> dict[str, Any]:
        ex = self.examples[i]
        out = {
            "task": self.spec.name,
            "id": str(ex["id"]),
            "vis": self.visual(ex),
            "source": source_text(self.spec, ex, self.text.use_task_prompt, self.text.fix_gqa_prefix),
            "target": None,
            "weight": 1.0,
        }
        if epoch is not None:
            rng = random.Random(f"{self.seed}:{epoch}:{self.spec.name}:{i}")
            out["target"], out["weight"] = sample_target(self.spec, ex, rng)
        return out


class MultiTaskDataset(torch.utils.data.Dataset):
    """Indexed by ``(task, index, epoch)`` triples, as the batch sampler hands them out."""

    def __init__(self, tasks: dict[str, TaskData]):
        self.tasks = tasks

    def __len__(self) -> int:
        return sum(len(t) for t in self.tasks.values())

    def __getitem__(self, key: tuple[str, int, int | None]) -> dict[str, Any]:
        task, i, epoch = key
        return self.tasks[task].item(i, epoch)


class Collator:
    """Tokenise a single-task list of items into model inputs.

    Sources are truncated to ``spec.max_input_len`` (600 for video), targets to
    ``spec.max_target_len``; label padding is -100.
    """

    def __init__(self, tokenizer: Any, specs: dict[str, TaskSpec]):
        self.tokenizer, self.specs = tokenizer, specs

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        tasks = {it["task"] for it in items}
        if len(tasks) != 1:
            raise ValueError(f"a batch must hold a single task, got {sorted(tasks)}")
        spec = self.specs[tasks.pop()]
        enc = self.tokenizer(
            [it["source"] for it in items],
            max_length=spec.max_input_len,
            truncation=True,
            padding=True,
            return_tensors="pt",
        )
        batch = {
            "task": spec.name,
            "ids": [it["id"] for it in items],
            "input_ids": enc["input_ids"],
            "attention_mask": enc["attention_mask"],
            "vis_feats": torch.stack([it["vis"] for it in items]),
        }
        if items[0]["target"] is not None:
            tgt = self.tokenizer(
                [it["target"] for it in items],
                max_length=spec.max_target_len,
                truncation=True,
                padding=True,
                return_tensors="pt",
            )
            batch["labels"] = tgt["input_ids"].masked_fill(tgt["attention_mask"] == 0, -100)
            batch["weights"] = torch.tensor([it["weight"] for it in items], dtype=torch.float32)
        return batch


def move_batch(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
