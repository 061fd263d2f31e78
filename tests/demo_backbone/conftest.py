"""A tiny synthetic demo world (annotation files only) in the schemas of vlpeft/tasks.py."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from vlpeft.io import write_jsonl

COLORS = ["red", "blue", "green", "yellow"]
SHAPES = ["cube", "ball", "cone"]
SUBS = [
    {"start": 0.0, "end": 2.0, "text": "look at the red cube"},
    {"start": 2.0, "end": 4.0, "text": "now the blue ball rolls"},
]


def _objects() -> list[tuple[str, str]]:
    return list(itertools.product(COLORS, SHAPES))


def _task_rows(task: str) -> list[dict]:
    rows = []
    for i, (c, s) in enumerate(_objects()):
        base = {"id": f"{task}-{i}"}
        if task in ("vqa", "gqa"):
            rows.append(
                {
                    **base,
                    "image_id": f"img{i}",
                    "question": f"what color is the {s}?",
                    "answers": [c] * 3,
                    "label": {c: 1.0},
                }
            )
        elif task == "nlvr":
            rows.append(
                {
                    **base,
                    "image_ids": [f"img{i}", f"img{i + 1}"],
                    "sentence": f"there is a {c} {s} in the left image",
                    "label": i % 2 == 0,
                }
            )
        elif task == "caption":
            rows.append({**base, "image_id": f"img{i}", "captions": [f"a {c} {s} on a table"]})
        elif task in ("tvqa", "how2qa"):
            rows.append(
                {
                    **base,
                    "video_id": f"vid{i}",
                    "question": f"which {s} moves?",
                    "choices": [f"the {x} {s}" for x in COLORS],
                    "answer_idx": i % 4,
                    "ts": [0.0, 4.0],
                    "subtitles": SUBS,
                }
            )
        else:  # tvc, yc2c
            rows.append(
                {
                    **base,
                    "video_id": f"vid{i}",
                    "ts": [0.0, 4.0],
                    "subtitles": SUBS,
                    "captions": [f"the {c} {s} rolls away"],
                }
            )
    return rows


def write_world(
    root: Path, tasks: tuple[str, ...] = ("vqa", "gqa", "nlvr", "caption", "tvqa", "how2qa", "tvc", "yc2c")
) -> Path:
    """Write train (and a poisoned test) split per task plus the two pre-training caption files."""
    ann = root / "annotations"
    for task in tasks:
        write_jsonl(ann / task / "train.jsonl", _task_rows(task))
        # never read: a word that must not reach the tokenizer
        write_jsonl(ann / task / "test.jsonl", [{"id": "x", "question": "zyzzyva"}])
    objs = _objects()
    write_jsonl(
        ann / "pretrain" / "image_captions.jsonl",
        [
            {"id": f"p{i}", "image_id": f"pimg{i}", "captions": [f"a {c} {s}", f"one {s} that is {c}"]}
            for i, (c, s) in enumerate(objs)
        ],
    )
    write_jsonl(
        ann / "pretrain" / "image_qa.jsonl",
        [
            {"id": f"r{i}", "image_id": f"pimg{i}", "question": f"what shape is the {c} object?", "answer": s}
            for i, (c, s) in enumerate(objs)
        ],
    )
    write_jsonl(
        ann / "pretrain" / "video_captions.jsonl",
        [
            {"id": f"q{i}", "video_id": f"pvid{i}", "captions": [f"someone moves the {c} {s}"]}
            for i, (c, s) in enumerate(objs)
        ],
    )
    return root


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    return write_world(tmp_path_factory.mktemp("world") / "demo")
