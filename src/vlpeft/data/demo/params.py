"""Parameters of the demo world: defaults, size presets and validation.

Every parameter is flat (``vqa_train``, ``images_val``...) so that the CLI can expose each one as
a flag (``--vqa-train``) and Snakemake can pass it through unchanged.
"""

from __future__ import annotations

from typing import Any

from vlpeft.tasks import IMAGE_TASKS, SPLITS, VIDEO_TASKS

GENERATOR_VERSION = "3"  # 3: NLVR2 statements drawn apart from their labels (image_tasks.nlvr_rows)

# Version 2: more questions and statements, fewer caption images (each caption row trains on all its
# references: 600 images made 56 % of the training steps), 200 NLVR2 test pairs (+-3.5 points of noise),
# half the video training rows (a video step costs ~3x an image step: ~170 tokens a row).
_TASK_COUNTS = {
    "vqa": (1200, 100, 100),
    "gqa": (1200, 100, 100),
    "nlvr": (800, 100, 200),
    "caption": (150, 100, 100),
    "tvqa": (150, 60, 60),
    "how2qa": (150, 60, 60),
    "tvc": (150, 60, 60),
    "yc2c": (100, 40, 40),
}

# name -> (default, help)
PARAMS: dict[str, tuple[Any, str]] = {
    "image_size": (128, "side of the square images, pixels"),
    "video_size": (96, "side of the square videos, pixels (even)"),
    "fps": (8, "frames per second of the videos"),
    "video_seconds": (6.0, "duration of every video, seconds"),
    "min_objects": (2, "fewest objects in an image"),
    "max_objects": (3, "most objects in an image"),
    "min_steps": (4, "fewest steps (events) in a video"),
    "max_steps": (6, "most steps (events) in a video"),
    **{
        f"images_{s}": (n, f"images of the {s} split (shared by the image tasks)")
        for s, n in zip(SPLITS, (600, 100, 100))
    },
    "pretrain_images": (400, "images of the pretrain split (image_captions.jsonl, image_qa.jsonl)"),
    "pretrain_qa": (
        0,
        "questions on the pretrain images (image_qa.jsonl, written when > 0; the demo backbone's "
        "QA pre-training: off, 1600 of them made fine-tuning worse)",
    ),
    **{
        f"videos_{s}": (n, f"videos of the {s} split, per video style (tv: tvqa/tvc; howto: how2qa/yc2c)")
        for s, n in zip(SPLITS, (50, 10, 10))
    },
    "pretrain_videos": (80, "videos of the pretrain split (video_captions.jsonl), both styles"),
    **{
        f"{t}_{s}": (n, f"{t} examples in the {s} split")
        for t, counts in _TASK_COUNTS.items()
        for s, n in zip(SPLITS, counts)
    },
    "vqa_answers": (10, "human answers per VQA question"),
    "vqa_noise": (0.1, "probability that one VQA annotator answers wrongly"),
    "caption_refs": (5, "reference captions per image (caption task and pretrain)"),
    "video_caption_refs": (4, "reference captions per moment/step (tvc, yc2c; at most 5)"),
    "pretrain_video_refs": (5, "reference captions per pretrain video"),
}
DEFAULTS: dict[str, Any] = {k: v for k, (v, _) in PARAMS.items()}


def _scaled(
    images: tuple[int, int, int],
    pretrain_images: int,
    videos: tuple[int, int, int],
    pretrain_videos: int,
    image_task: tuple[int, int, int],
    video_task: tuple[int, int, int],
    yc2c: tuple[int, int, int],
) -> dict[str, Any]:
    out: dict[str, Any] = {"pretrain_images": pretrain_images, "pretrain_videos": pretrain_videos}
    for i, s in enumerate(SPLITS):
        out[f"images_{s}"], out[f"videos_{s}"] = images[i], videos[i]
        out.update({f"{t}_{s}": image_task[i] for t in IMAGE_TASKS})
        out.update({f"{t}_{s}": video_task[i] for t in VIDEO_TASKS})
        out[f"yc2c_{s}"] = yc2c[i]
    return out


PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    # about a third of the default: a quick end-to-end run
    "small": _scaled((200, 40, 40), 120, (20, 5, 5), 24, (200, 40, 40), (100, 25, 25), (70, 20, 20)),
    # the test world: a few seconds to generate
    "tiny": {
        **_scaled((12, 6, 6), 6, (3, 2, 2), 4, (12, 6, 6), (10, 5, 5), (10, 6, 6)),
        "image_size": 64,
        "video_seconds": 4.0,
        "max_steps": 5,
        "pretrain_qa": 24,
    },
}


def resolve(size: str = "default", **overrides: Any) -> dict[str, Any]:
    """Defaults, then the ``size`` preset, then ``overrides``; validated. Raises ValueError."""
    if size not in PRESETS:
        raise ValueError(f"unknown demo size {size!r}; choose one of {', '.join(PRESETS)}")
    unknown = sorted(set(overrides) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown demo parameter(s) {', '.join(map(repr, unknown))}; known: {', '.join(DEFAULTS)}")
    params = {**DEFAULTS, **PRESETS[size], **overrides}
    for key, value in params.items():
        _check_type(key, value)
    _check_ranges(params)
    return params


def _check_type(key: str, value: Any) -> None:
    want = type(DEFAULTS[key])
    ok = isinstance(value, (int, float)) if want is float else isinstance(value, int)
    if isinstance(value, bool) or not ok:
        raise ValueError(f"demo parameter {key!r} must be {want.__name__}, got {value!r}")


def _require(cond: bool, key: str, what: str, params: dict[str, Any]) -> None:
    if not cond:
        raise ValueError(f"demo parameter {key!r} = {params[key]!r}: {what}")


def _check_ranges(p: dict[str, Any]) -> None:
    for key, value in p.items():
        _require(value >= 0, key, "must not be negative", p)
    _require(p["image_size"] >= 32, "image_size", "must be at least 32", p)
    _require(p["video_size"] >= 32 and p["video_size"] % 2 == 0, "video_size", "must be even and >= 32", p)
    _require(p["fps"] >= 1, "fps", "must be at least 1", p)
    _require(
        p["video_seconds"] * p["fps"] >= 2 * p["max_steps"],
        "video_seconds",
        "too short: each step needs at least two frames (raise fps or video_seconds)",
        p,
    )
    _require(2 <= p["min_objects"] <= p["max_objects"], "min_objects", "must be >= 2 and <= max_objects", p)
    _require(p["max_objects"] <= 8, "max_objects", "must be at most 8", p)
    _require(3 <= p["min_steps"] <= p["max_steps"], "min_steps", "must be >= 3 and <= max_steps", p)
    _require(p["vqa_answers"] >= 1, "vqa_answers", "must be at least 1", p)
    _require(p["vqa_noise"] < 0.5, "vqa_noise", "must be below 0.5", p)
    for key in ("caption_refs", "video_caption_refs", "pretrain_video_refs"):
        _require(1 <= p[key] <= 5, key, "must be between 1 and 5", p)
    for s in SPLITS:
        _require(
            p[f"caption_{s}"] <= p[f"images_{s}"],
            f"caption_{s}",
            f"one caption row per image: at most images_{s} = {p[f'images_{s}']}",
            p,
        )
        if any(p[f"{t}_{s}"] for t in IMAGE_TASKS):
            _require(p[f"images_{s}"] >= 2, f"images_{s}", "image tasks need at least 2 images", p)
        if any(p[f"{t}_{s}"] for t in VIDEO_TASKS):
            _require(p[f"videos_{s}"] >= 1, f"videos_{s}", "video tasks need at least 1 video", p)
