"""Helpers of the demo-world tests (a module of its own so that test files can import it)."""

from __future__ import annotations

import json
from pathlib import Path

from vlpeft.io import read_jsonl
from vlpeft.tasks import IMAGE_TASKS, SPLITS, VIDEO_TASKS

# A world smaller still than the "tiny" preset, for tests that generate several times.
MICRO = {
    "images_train": 3,
    "images_val": 2,
    "images_test": 2,
    "pretrain_images": 1,
    "videos_train": 1,
    "videos_val": 1,
    "videos_test": 1,
    "pretrain_videos": 1,
    **{f"{t}_{s}": 2 for t in IMAGE_TASKS + VIDEO_TASKS for s in SPLITS},
}


def rows(world: Path, task: str, split: str) -> list[dict]:
    return read_jsonl(world / "annotations" / task / f"{split}.jsonl")


def manifest(world: Path) -> dict:
    return json.loads((world / "manifest.json").read_text())
