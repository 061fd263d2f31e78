"""The annotations follow the schemas of vlpeft.tasks, splits are disjoint, answers are balanced."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import jsonschema
import pytest
from demo_world import manifest, rows

from vlpeft.data.readers.schema import ROW_SCHEMAS
from vlpeft.tasks import SPLITS, TASKS, source_text, target_texts, visual_ids

# The schemas of the tasks.py docstring, as the real-data readers check them (extra keys such as
# question_type are allowed); the demo world also has at least one scored answer per question.
SCHEMAS = {
    **ROW_SCHEMAS,
    "image_qa": {
        **ROW_SCHEMAS["image_qa"],
        "properties": {
            **ROW_SCHEMAS["image_qa"]["properties"],
            "label": {**ROW_SCHEMAS["image_qa"]["properties"]["label"], "minProperties": 1},
        },
    },
}


@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("split", SPLITS)
def test_rows_follow_the_task_schema(tiny_world: Path, task: str, split: str) -> None:
    spec, params = TASKS[task], manifest(tiny_world)["params"]
    examples = rows(tiny_world, task, split)
    assert len(examples) == params[f"{task}_{split}"]
    assert len({ex["id"] for ex in examples}) == len(examples)
    for ex in examples:
        jsonschema.validate(ex, {"type": "object", **SCHEMAS[spec.family]})
        assert source_text(spec, ex, use_task_prompt=True) and target_texts(spec, ex)
        folder, ext = ("videos", "mp4") if spec.is_video else ("images", "png")
        for key in visual_ids(spec, ex):
            assert (tiny_world / folder / f"{key}.{ext}").exists()
        if spec.family == "image_qa":
            n = params["vqa_answers"] if task == "vqa" else 1
            assert len(ex["answers"]) == n
            assert ex["label"] == {
                a: min(1.0, ex["answers"].count(a) / 3) if task == "vqa" else 1.0 for a in set(ex["answers"])
            }
            assert all(1 <= len(a.split()) <= 3 for a in ex["answers"])
        if spec.is_video:
            assert 0 <= ex["ts"][0] < ex["ts"][1] <= params["video_seconds"]
            starts = [s["start"] for s in ex["subtitles"]]
            assert starts == sorted(starts) and all(s["start"] < s["end"] for s in ex["subtitles"])
        if spec.family == "video_qa":
            assert len(ex["choices"]) == spec.num_choices == len(set(ex["choices"]))
            assert ex["answer_idx"] < spec.num_choices
        if spec.family == "video_caption":
            assert len(ex["captions"]) == params["video_caption_refs"] == len(set(ex["captions"]))
        if task == "caption":
            assert len(ex["captions"]) == params["caption_refs"] == len(set(ex["captions"]))


def test_pretrain_captions(tiny_world: Path) -> None:
    m = manifest(tiny_world)
    images = rows(tiny_world, "pretrain", "image_captions")
    videos = rows(tiny_world, "pretrain", "video_captions")
    assert sorted(ex["image_id"] for ex in images) == sorted(i for i, s in m["images"].items() if s == "pretrain")
    assert sorted(ex["video_id"] for ex in videos) == sorted(v for v, s in m["videos"].items() if s == "pretrain")
    for ex in images + videos:
        assert set(ex) == {"id", "captions", "image_id" if "image_id" in ex else "video_id"}
        assert ex["captions"] and len(set(ex["captions"])) == len(ex["captions"])


def test_splits_use_disjoint_images_and_videos(tiny_world: Path) -> None:
    m = manifest(tiny_world)
    for task, spec in TASKS.items():
        for split in SPLITS:
            for ex in rows(tiny_world, task, split):
                for key in visual_ids(spec, ex):
                    assert (m["videos"] if spec.is_video else m["images"])[key] == split, (task, ex["id"])
    assert set(m["images"].values()) == set(m["videos"].values()) == {"train", "val", "test", "pretrain"}


@pytest.mark.parametrize("task", ["tvqa", "how2qa"])
@pytest.mark.parametrize("split", SPLITS)
def test_correct_choice_positions_are_balanced(tiny_world: Path, task: str, split: str) -> None:
    counts = Counter(ex["answer_idx"] for ex in rows(tiny_world, task, split))
    per_position = [counts.get(i, 0) for i in range(TASKS[task].num_choices)]
    assert max(per_position) - min(per_position) <= 1, per_position


@pytest.mark.parametrize("split", SPLITS)
def test_binary_answers_are_balanced(tiny_world: Path, split: str) -> None:
    labels = Counter(ex["label"] for ex in rows(tiny_world, "nlvr", split))
    assert abs(labels[True] - labels[False]) <= 1
    for task in ("vqa", "gqa"):
        yes_no: dict[str, Counter] = {}
        for ex in rows(tiny_world, task, split):
            for a, s in ex["label"].items():
                if s == 1.0 and a in ("yes", "no"):
                    yes_no.setdefault(ex["question_type"], Counter())[a] += 1
        # within each question type: the question alone does not tell the answer
        assert yes_no and all(abs(c["yes"] - c["no"]) <= 1 for c in yes_no.values()), (task, yes_no)


def test_question_types_are_mixed(tiny_world: Path) -> None:
    for task, least in (("vqa", 4), ("gqa", 6), ("tvqa", 6), ("how2qa", 6)):
        types = Counter(ex["question_type"] for ex in rows(tiny_world, task, "train"))
        assert len(types) >= least, (task, types)


def test_nlvr_sentences_alone_do_not_tell_the_label() -> None:
    """A reader of the statements without the images (the majority label of each sentence on one
    half of the rows) scores chance on the other half: the statement is drawn apart from its label."""
    import random

    from vlpeft.data.demo.image_tasks import nlvr_rows
    from vlpeft.data.demo.scene import sample_scene

    rng = random.Random(0)
    images = [(f"img{i}", sample_scene(rng, 128, 2, 3)) for i in range(300)]
    examples = nlvr_rows("train", images, 1200, random.Random(1))
    fit, held = examples[:600], examples[600:]
    votes: dict[str, Counter] = {}
    for ex in fit:
        votes.setdefault(ex["sentence"], Counter())[ex["label"]] += 1
    guess = [votes[ex["sentence"]].most_common(1)[0][0] if ex["sentence"] in votes else True for ex in held]
    accuracy = sum(g == ex["label"] for g, ex in zip(guess, held)) / len(held)
    assert 0.42 < accuracy < 0.58, accuracy
    assert Counter(ex["label"] for ex in examples) == {True: 600, False: 600}
