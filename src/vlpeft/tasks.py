"""The task registry: the one place that knows the eight tasks, their input format, target, metric
and decoding (docs/methods.md sections C and D).

Annotation schemas (one per task family; the demo world and the real-data readers both write these,
one JSON object per line in ``<data_dir>/annotations/<task>/<split>.jsonl``):

- ``image_qa`` (vqa, gqa): ``{"id", "image_id", "question", "answers": [str], "label": {answer: score}}``.
  ``answers`` are the raw human answers (10 for VQA, 1 for GQA); ``label`` maps each distinct
  normalised answer to its soft score (VQA: min(1, count/3); GQA: 1.0).
- ``nlvr``: ``{"id", "image_ids": [left, right], "sentence", "label": bool}``.
- ``caption`` (caption): ``{"id", "image_id", "captions": [str, ...]}`` (one row per image, all references).
- ``video_qa`` (tvqa, how2qa): ``{"id", "video_id", "question", "choices": [str], "answer_idx": int,
  "ts": [start_s, end_s], "subtitles": [{"start": s, "end": s, "text": str}]}``.
- ``video_caption`` (tvc, yc2c): ``{"id", "video_id", "ts": [start_s, end_s], "subtitles": [...],
  "captions": [str, ...]}``.
- Video rows of the real readers also carry ``ts_text``, the published span verbatim (printed after
  ``[TS]``; docs/methods.md D.4).

Rows may carry extra keys, which readers ignore (the demo world adds ``question_type`` to
``image_qa`` and ``video_qa`` rows). Pre-training captions (demo world, see
``vlpeft/data/README.md``): ``annotations/pretrain/image_captions.jsonl`` with
``{"id", "image_id", "captions"}`` and ``annotations/pretrain/video_captions.jsonl`` with
``{"id", "video_id", "captions"}``.

Splits are ``train``, ``val`` and ``test`` for every task (a real reader maps e.g. GQA testdev to
``test`` and Karpathy splits to train/val/test).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IMAGE_TASKS = ("vqa", "gqa", "nlvr", "caption")
VIDEO_TASKS = ("tvqa", "how2qa", "tvc", "yc2c")
GROUPS = {"image": IMAGE_TASKS, "video": VIDEO_TASKS}
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class TaskSpec:
    name: str
    group: str  # "image" | "video"
    family: str  # "image_qa" | "nlvr" | "caption" | "video_qa" | "video_caption"
    paper_name: str  # column name in the papers' tables
    prompt: str  # text task prompt (docs/methods.md D); a prefix for image tasks, a suffix for video
    metric: str  # key of the headline metric in eval.metrics (0-100 scale)
    decoding: str  # "greedy" | "beam" | "true_false_logits"
    num_beams: int = 1
    max_input_len: int = 20
    max_target_len: int = 20
    batch_scale: float = 1.0  # per-task batch = floor(B * batch_scale) (image tasks, docs/methods.md C.3)
    num_images: int = 1  # NLVR2: 2
    num_choices: int = 0  # TVQA: 5, How2QA: 4
    # "sequence": token mean per sequence, then the batch mean; "token": token mean over the whole
    # batch (COCO captioning's reduce_loss=True, docs/methods.md C.9)
    loss_reduction: str = "sequence"
    # training examples: "row" (one per annotation row) or "reference" (one per reference sentence,
    # COCO captioning, docs/methods.md C.3)
    train_unit: str = "row"

    @property
    def is_video(self) -> bool:
        return self.group == "video"


TASKS: dict[str, TaskSpec] = {
    t.name: t
    for t in [
        TaskSpec(
            "vqa",
            "image",
            "image_qa",
            "VQAv2",
            "vqa: ",
            "vqa_score",
            "greedy",
            max_input_len=20,
            max_target_len=10,
            batch_scale=1.0,
        ),
        # Quirk F3: the official code's GQA prompt is "gpa: " (switch: fix_gqa_prefix).
        TaskSpec(
            "gqa",
            "image",
            "image_qa",
            "GQA",
            "gpa: ",
            "exact_match",
            "greedy",
            max_input_len=20,
            max_target_len=10,
            batch_scale=100 / 60,
        ),
        TaskSpec(
            "nlvr",
            "image",
            "nlvr",
            "NLVR2",
            "nlvr: ",
            "accuracy",
            "true_false_logits",
            max_input_len=20,
            max_target_len=3,
            batch_scale=20 / 60,
            num_images=2,
        ),
        TaskSpec(
            "caption",
            "image",
            "caption",
            "COCO Caption",
            "caption: ",
            "CIDEr",
            "beam",
            num_beams=5,
            max_input_len=40,
            max_target_len=40,
            batch_scale=50 / 60,
            loss_reduction="token",
            train_unit="reference",
        ),
        # Video QA decodes with the scripts' --num_beams 5 and max length 20 (docs/methods.md C.6)
        TaskSpec(
            "tvqa",
            "video",
            "video_qa",
            "TVQA",
            "tvqa: ",
            "accuracy",
            "beam",
            num_beams=5,
            max_input_len=600,
            max_target_len=20,
            num_choices=5,
        ),
        TaskSpec(
            "how2qa",
            "video",
            "video_qa",
            "How2QA",
            "how2qa: ",
            "accuracy",
            "beam",
            num_beams=5,
            max_input_len=600,
            max_target_len=20,
            num_choices=4,
        ),
        TaskSpec(
            "tvc",
            "video",
            "video_caption",
            "TVC",
            "tvc: ",
            "CIDEr",
            "beam",
            num_beams=5,
            max_input_len=600,
            max_target_len=20,
        ),
        TaskSpec(
            "yc2c",
            "video",
            "video_caption",
            "YC2C",
            "yc2c: ",
            "CIDEr",
            "beam",
            num_beams=5,
            max_input_len=600,
            max_target_len=20,
        ),
    ]
}

FIXED_GQA_PROMPT = "gqa: "


def get_task(name: str) -> TaskSpec:
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None


def task_prompt(spec: TaskSpec, fix_gqa_prefix: bool = False) -> str:
    if spec.name == "gqa" and fix_gqa_prefix:
        return FIXED_GQA_PROMPT
    return spec.prompt


def _subtitle_text(ex: dict) -> str:
    return " ".join(s["text"] for s in ex.get("subtitles", []))


def _fmt_ts(ex: dict) -> str:
    """The ``[TS]`` text: the release's value verbatim (``ts_text``: "0-10.01", "NaN-NaN", TVC's
    "[16.48, 33.87]"), as the original prints ``datum['ts']`` (docs/methods.md D); rows without it
    (the demo world) print their span as "start-end"."""
    if ex.get("ts_text") is not None:
        return str(ex["ts_text"])
    ts = ex["ts"]
    return f"{float(ts[0]):.2f}-{float(ts[1]):.2f}"


def source_text(spec: TaskSpec, ex: dict[str, Any], use_task_prompt: bool, fix_gqa_prefix: bool = False) -> str:
    """The encoder text of one example, exactly as docs/methods.md section D writes it."""
    prompt = task_prompt(spec, fix_gqa_prefix) if use_task_prompt else ""
    fam = spec.family
    if fam == "image_qa":
        return prompt + ex["question"]
    if fam == "nlvr":
        return prompt + ex["sentence"]
    if fam == "caption":
        return prompt  # "caption: " alone (empty text without task prompts)
    subs = f"[Subs] {_subtitle_text(ex)}"
    if fam == "video_qa":
        choices = " ".join(f"a{i}: {c}." for i, c in enumerate(ex["choices"]))
        body = f"{subs} [Q] {ex['question']} [TS] ({_fmt_ts(ex)}) [Choices] {choices}"
    elif spec.name == "tvc":
        body = f"{subs} [TS] ({_fmt_ts(ex)})"
    else:  # yc2c
        body = subs
    return f"{body} {prompt}" if prompt else body


def target_texts(spec: TaskSpec, ex: dict[str, Any]) -> list[tuple[str, float]]:
    """Candidate training targets with their weights (VQA: soft scores; others weight 1)."""
    fam = spec.family
    if fam == "image_qa":
        return sorted(ex["label"].items(), key=lambda kv: (-kv[1], kv[0]))
    if fam == "nlvr":
        return [("true" if ex["label"] else "false", 1.0)]
    if fam in ("caption", "video_caption"):
        return [(c, 1.0) for c in ex["captions"]]
    if fam == "video_qa":
        return [(f"a{int(ex['answer_idx'])}", 1.0)]
    raise ValueError(f"unknown task family {fam!r}")


def visual_ids(spec: TaskSpec, ex: dict[str, Any]) -> list[str]:
    """The feature keys an example reads: one image, two images (NLVR2) or one video."""
    if spec.family == "nlvr":
        return list(ex["image_ids"])
    if spec.is_video:
        return [ex["video_id"]]
    return [ex["image_id"]]
