import random
from collections import Counter

import pytest

from vlpeft.features.cache import FeatureReader
from vlpeft.models import load_tokenizer
from vlpeft.tasks import TASKS
from vlpeft.train.data import Collator, TaskData, TextOptions, load_examples, sample_target

VQA = {"id": "q", "image_id": "i", "question": "what?", "answers": [], "label": {"red": 1.0, "blue": 0.3}}


def test_vqa_target_sampled_by_soft_score_and_weighted():
    rng = random.Random(0)
    draws = Counter(sample_target(TASKS["vqa"], VQA, rng) for _ in range(4000))
    assert set(draws) == {("red", 1.0), ("blue", 0.3)}  # the weight is the sampled answer's score
    assert draws[("blue", 0.3)] / 4000 == pytest.approx(0.3 / 1.3, abs=0.03)
    assert sample_target(TASKS["vqa"], {**VQA, "label": {}}, rng) == ("", 0.0)


def test_other_targets():
    rng = random.Random(0)
    assert sample_target(TASKS["nlvr"], {"label": False}, rng) == ("false", 1.0)
    assert sample_target(TASKS["tvqa"], {"answer_idx": 3}, rng) == ("a3", 1.0)
    caps = {c for c, _ in (sample_target(TASKS["caption"], {"captions": ["x", "y"]}, rng) for _ in range(50))}
    assert caps == {"x", "y"}


def _data(world, task, text=None):
    spec = TASKS[task]
    feats = FeatureReader(world["video" if spec.is_video else "image"])
    text = TextOptions(use_task_prompt=True) if text is None else text
    return TaskData(spec, load_examples(world["data"], spec, "train"), feats, text, seed=5)


def test_items_are_deterministic_per_epoch(world):
    data = _data(world, "caption")
    a = [data.item(i, epoch=0)["target"] for i in range(len(data))]
    assert a == [data.item(i, epoch=0)["target"] for i in range(len(data))]
    assert any(a != [data.item(i, epoch=e)["target"] for i in range(len(data))] for e in range(1, 6))
    assert data.item(0)["target"] is None  # evaluation items carry no target


def test_visual_shapes(world):
    assert _data(world, "vqa").item(0)["vis"].shape == (1, 49, 8)
    assert _data(world, "nlvr").item(0)["vis"].shape == (2, 49, 8)
    for i in range(3):  # 40..80 frames: padded or pooled to 64
        assert _data(world, "tvqa").item(i)["vis"].shape == (1, 64, 8)


def test_collate_tokenises_with_prompts_and_masks_label_padding(world):
    tok = load_tokenizer(world["t5"])
    data = _data(world, "vqa")
    items = [data.item(i, epoch=0) for i in range(3)]
    batch = Collator(tok, {"vqa": TASKS["vqa"]})(items)
    assert batch["task"] == "vqa" and batch["vis_feats"].shape == (3, 1, 49, 8)
    assert tok.decode(batch["input_ids"][0], skip_special_tokens=True).startswith("vqa")
    assert batch["weights"].tolist() == pytest.approx([it["weight"] for it in items])
    lab = batch["labels"]
    for row, it in zip(lab, items):
        ids = row[row != -100].tolist()
        assert ids == tok(it["target"])["input_ids"]
    no_prompt = _data(world, "vqa", TextOptions(use_task_prompt=False)).item(0)
    assert not no_prompt["source"].startswith("vqa")
    with pytest.raises(ValueError, match="single task"):
        Collator(tok, TASKS)([items[0], _data(world, "gqa").item(0, epoch=0)])


def test_video_source_truncated_to_600(world):
    tok = load_tokenizer(world["t5"])
    data = _data(world, "tvqa")
    item = data.item(0, epoch=0)
    item["source"] = " ".join(["red cube"] * 700)
    batch = Collator(tok, {"tvqa": TASKS["tvqa"]})([item])
    assert batch["input_ids"].shape[1] == 600


def test_missing_keys_and_files_are_named(world, tmp_path):
    with pytest.raises(FileNotFoundError, match="gqa/train.jsonl"):
        load_examples(tmp_path, TASKS["gqa"], "train")
    bad = tmp_path / "annotations" / "gqa" / "train.jsonl"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"id": "x", "image_id": "i", "label": {}}\n')
    with pytest.raises(KeyError, match="question"):
        load_examples(tmp_path, TASKS["gqa"], "train")
    data = _data(world, "vqa")
    data.examples = [{**data.examples[0], "image_id": "nope"}]
    with pytest.raises(KeyError, match="nope"):
        data.item(0)
