"""Image readers: VQAv2 Karpathy, GQA, NLVR2 (VL-T5 and official), COCO Karpathy captions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from readers_data import COCO, GQA, MANIFEST_DIR, VQA, assert_usable, by_id, dump

from vlpeft.data.readers import ReadResult, load_manifest, read_dataset
from vlpeft.data.readers.schema import validate_rows
from vlpeft.tasks import TASKS, target_texts


def read(name: str, root: Path) -> ReadResult:
    return read_dataset(load_manifest(MANIFEST_DIR / f"{name}.yaml"), root)


def test_vqa_karpathy_splits_soft_labels_and_raw_answers(vlt5_root: Path) -> None:
    result = read("vqa", vlt5_root)
    assert_usable("vqa", result)
    rows = result.rows["vqa"]
    # natural order; "3" (empty label) stays: the original trains on it with weight 0
    assert [r["id"] for r in rows["train"]] == ["2", "3", "11"]
    assert result.dropped == {} and by_id(rows["train"])["3"]["label"] == {}
    assert [r["id"] for r in rows["val"]] == ["21", "22"] and [r["id"] for r in rows["test"]] == ["31"]
    q11 = by_id(rows["train"])["11"]
    assert q11["label"] == {"net": 1.0, "mesh": 0.6}  # VL-T5's soft scores, as published
    assert q11["answers"] == [a["answer"] for a in VQA["train"][0]["answers"]] and len(q11["answers"]) == 10
    assert q11["image_id"] == "COCO_train2014_000000000011" and q11["question"] == "What is thing 11?"
    assert q11["answer_type"] == "other" and q11["question_type"] == "what is"
    assert target_texts(TASKS["vqa"], q11) == [("net", 1.0), ("mesh", 0.6)]
    assert by_id(rows["val"])["21"]["answers"] == ["yes"] * 10  # from v2_mscoco_val2014_annotations.json
    assert by_id(rows["val"])["22"]["label"] == {}  # kept outside train: scored on the raw answers
    assert by_id(rows["test"])["31"]["label"] == {"red": 0.3, "blue": 1.0}


def test_vqa_without_answers_anywhere_names_the_record(vlt5_root: Path) -> None:
    (vlt5_root / "vqa" / "v2_mscoco_val2014_annotations.json").unlink()
    with pytest.raises(ValueError, match=r"karpathy_val\.json: record 0 \(question_id 21\).*answers"):
        read("vqa", vlt5_root)


def test_gqa_testdev_is_val_and_test(vlt5_root: Path) -> None:
    result = read("gqa", vlt5_root)
    assert_usable("gqa", result)
    rows = result.rows["gqa"]
    assert [r["id"] for r in rows["train"]] == ["07333408", "07333409"]  # train + valid
    assert rows["val"] == rows["test"] and [r["id"] for r in rows["val"]] == ["20968379", "20968380"]
    assert result.split_sources["gqa"] == {"train": ["train", "valid"], "val": ["testdev"], "test": ["testdev"]}
    row = by_id(rows["val"])["20968379"]
    assert row == {
        "id": "20968379",
        "image_id": "n161313",
        "question": "Who wears the hat?",
        "answers": ["man"],
        "label": {"man": 1.0},
    }
    assert GQA["testdev"][0]["label"] == row["label"]


def test_nlvr_vlt5_labels_are_booleans(vlt5_root: Path) -> None:
    result = read("nlvr", vlt5_root)
    assert_usable("nlvr", result)
    train = by_id(result.rows["nlvr"]["train"])
    assert train["train-10171-0-0"]["label"] is False and train["train-10171-0-1"]["label"] is True
    assert train["train-10171-0-0"]["image_ids"] == ["train-10171-0-img0", "train-10171-0-img1"]
    assert [r["id"] for r in result.rows["nlvr"]["val"]] == ["dev-5-1-0"]
    assert result.rows["nlvr"]["test"][0]["label"] is False


def test_nlvr_official_release(nlvr_official_root: Path) -> None:
    result = read("nlvr2_official", nlvr_official_root)
    assert_usable("nlvr", result)
    rows = result.rows["nlvr"]
    assert rows["train"] == [
        {"id": "train-3-0-0", "image_ids": ["train-3-0-img0", "train-3-0-img1"], "sentence": "One dog.", "label": True}
    ]
    assert rows["val"][0]["id"] == "dev-850-0-0" and rows["val"][0]["label"] is False  # dev -> val
    assert rows["test"][0]["image_ids"] == ["test1-1-1-img0", "test1-1-1-img1"]  # test1 (test-P) -> test


def test_coco_restval_goes_to_train_with_all_references(vlt5_root: Path) -> None:
    result = read("caption", vlt5_root)
    assert_usable("caption", result)
    rows = result.rows["caption"]
    assert [r["id"] for r in rows["train"]] == ["COCO_train2014_000000318219", "COCO_val2014_000000522418"]
    assert [r["id"] for r in rows["val"]] == ["COCO_val2014_000000184613"]
    assert [r["id"] for r in rows["test"]] == ["COCO_val2014_000000391895"]
    restval = by_id(rows["train"])["COCO_val2014_000000522418"]
    assert restval["image_id"] == restval["id"] and restval["cocoid"] == 522418
    assert restval["captions"] == [f"A caption {k} of image 522418." for k in range(5)]
    assert sum(len(v) for v in rows.values()) == len(COCO["images"])


def test_malformed_record_names_file_index_and_key(vlt5_root: Path) -> None:
    recs = json.loads((vlt5_root / "vqa" / "karpathy_test.json").read_text())
    recs.append({"img_id": "x", "question_id": 99, "label": {}})  # no "sent"
    dump(vlt5_root / "vqa" / "karpathy_test.json", recs)
    with pytest.raises(ValueError, match=r"karpathy_test\.json: record 1: missing key one of 'sent', 'question'"):
        read("vqa", vlt5_root)


def test_bad_values_are_errors(vlt5_root: Path) -> None:
    recs = json.loads((vlt5_root / "nlvr" / "valid.json").read_text())
    recs[0]["label"] = "maybe"
    dump(vlt5_root / "nlvr" / "valid.json", recs)
    with pytest.raises(ValueError, match=r"valid\.json: record 0: bad label 'maybe'"):
        read("nlvr", vlt5_root)
    coco = json.loads((vlt5_root / "COCO" / "dataset_coco.json").read_text())
    coco["images"][2]["split"] = "minival"
    dump(vlt5_root / "COCO" / "dataset_coco.json", coco)
    with pytest.raises(ValueError, match=r"dataset_coco\.json: record 2: unknown split 'minival'"):
        read("caption", vlt5_root)


def test_duplicate_ids_and_missing_files(vlt5_root: Path) -> None:
    dump(vlt5_root / "GQA" / "valid.json", GQA["train"])  # the same question in train and valid
    with pytest.raises(ValueError, match="id '07333408' appears more than once"):
        read("gqa", vlt5_root)
    dump(vlt5_root / "GQA" / "valid.json", GQA["valid"])
    (vlt5_root / "GQA" / "testdev.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"testdev\.json: missing \(gqa testdev\); get it from: https://"):
        read("gqa", vlt5_root)


def test_schema_check_names_the_row() -> None:
    good = {"id": "a", "image_ids": ["x", "y"], "sentence": "s", "label": True}
    validate_rows("nlvr", [good, good], "w")
    with pytest.raises(ValueError, match=r"w: row 1 \(id 'b'\): image_ids: \['x'\] is too short"):
        validate_rows("nlvr", [good, {**good, "id": "b", "image_ids": ["x"]}], "w")
