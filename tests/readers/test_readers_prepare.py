"""`data-prepare`: annotations and manifest.json written deterministically and atomically; data
sets prepared one after the other share one folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from readers_data import MANIFEST_DIR, NLVR_VLT5, dump, run_verb

from vlpeft.data import prepare as prepare_verb
from vlpeft.data.readers import prepare
from vlpeft.io import read_jsonl, sha256_file, write_json
from vlpeft.tasks import SPLITS

IMAGE = ["vqa", "gqa", "nlvr", "caption"]
VIDEO = ["tvqa", "how2qa", "tvc", "yc2c"]


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_prepare_image_datasets(vlt5_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "data" / "vlt5"
    manifest = prepare(IMAGE, vlt5_root, out, manifest_dir=MANIFEST_DIR, progress=False)
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == manifest and manifest["generator"] == "vlpeft.data.readers"
    for task in IMAGE:
        for split in SPLITS:
            rows = read_jsonl(out / "annotations" / task / f"{split}.jsonl")
            assert manifest["examples"][task][split] == len(rows) > 0
            assert manifest["sha256"][f"annotations/{task}/{split}.jsonl"]
    assert manifest["examples"]["vqa"] == {"train": 3, "val": 2, "test": 1}  # the empty-label row stays
    assert not manifest["tasks"]["vqa"].get("dropped")
    assert manifest["tasks"]["gqa"]["split_sources"] == {
        "train": ["GQA/train.json", "GQA/valid.json"],
        "val": ["GQA/testdev.json"],
        "test": ["GQA/testdev.json"],
    }
    assert manifest["images"]["n161313"] == ["val", "test"]  # GQA test-dev serves both
    assert manifest["images"]["COCO_val2014_000000522418"] == ["train"]  # restval
    assert manifest["images"]["train-10171-0-img1"] == ["train"]
    assert manifest["videos"] == {}
    # the file's own digest beside the manifest's pin (none pinned here)
    assert manifest["datasets"]["vqa"]["files"]["train"] == {
        "path": "vqa/karpathy_train.json",
        "sha256": sha256_file(vlt5_root / "vqa" / "karpathy_train.json"),
        "pinned": None,
    }
    assert str(tmp_path) not in (out / "manifest.json").read_text()  # no absolute path in an artifact

    again = tmp_path / "again"
    prepare(IMAGE, vlt5_root, again, manifest_dir=MANIFEST_DIR, progress=False)
    assert tree(again) == tree(out)


def test_prepare_merges_datasets_into_one_folder(
    vlt5_root: Path, value_root: Path, nlvr_official_root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "data" / "real"
    prepare(IMAGE, vlt5_root, out, manifest_dir=MANIFEST_DIR, progress=False)
    vqa_bytes = (out / "annotations" / "vqa" / "train.jsonl").read_bytes()
    manifest = prepare(VIDEO, value_root, out, manifest_dir=MANIFEST_DIR, progress=False, video_captions="per_clip")
    assert sorted(manifest["tasks"]) == sorted(IMAGE + VIDEO) and sorted(manifest["datasets"]) == sorted(IMAGE + VIDEO)
    assert (out / "annotations" / "vqa" / "train.jsonl").read_bytes() == vqa_bytes
    assert manifest["videos"]["s03e02_seg02_clip_10"] == ["train"]
    assert manifest["videos"]["friends_s01e01_seg02_clip_00"] == ["val", "test"]
    assert manifest["datasets"]["tvc"]["options"] == {"video_captions": "per_clip"}
    assert manifest["datasets"]["tvqa"]["options"] == {}
    assert manifest["tasks"]["tvqa"]["split_sources"]["test"] == ["ann/tvqa/tvqa_val.jsonl"]
    assert manifest["examples"]["tvc"] == {"train": 1, "val": 1, "test": 1}
    assert "n161313" in manifest["images"]

    # another release of a task replaces that task only (here from another root)
    manifest = prepare([MANIFEST_DIR / "nlvr2_official.yaml"], nlvr_official_root, out, progress=False)
    assert (
        sorted(manifest["tasks"]) == sorted(IMAGE + VIDEO) and manifest["tasks"]["nlvr"]["dataset"] == "nlvr2_official"
    )
    assert "nlvr" not in manifest["datasets"] and "train-10171-0-img0" not in manifest["images"]
    assert manifest["images"]["train-3-0-img0"] == ["train"]


def test_nothing_is_written_when_a_dataset_is_broken(vlt5_root: Path, tmp_path: Path) -> None:
    dump(vlt5_root / "nlvr" / "test.json", [{**NLVR_VLT5["test"][0], "label": 7}])
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"nlvr/test\.json: record 0: bad label 7"):
        prepare(IMAGE, vlt5_root, out, manifest_dir=MANIFEST_DIR, progress=False)
    assert not out.exists()


def test_prepare_refuses_a_demo_world_and_unknown_names(vlt5_root: Path, tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    write_json(demo / "manifest.json", {"generator": "vlpeft.data.demo"})
    with pytest.raises(ValueError, match="holds data from 'vlpeft.data.demo'"):
        prepare(["gqa"], vlt5_root, demo, manifest_dir=MANIFEST_DIR, progress=False)
    with pytest.raises(FileNotFoundError, match=r"no data manifest for 'coco'.*known in .*caption, gqa"):
        prepare(["coco"], vlt5_root, tmp_path / "x", manifest_dir=MANIFEST_DIR, progress=False)
    with pytest.raises(ValueError, match="task 'nlvr' comes from both"):
        prepare(["nlvr", "nlvr2_official"], vlt5_root, tmp_path / "x", manifest_dir=MANIFEST_DIR, progress=False)


def test_prepare_verb(vlt5_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "data" / "gqa"
    argv = [
        "--datasets",
        "gqa",
        "caption",
        "--root",
        str(vlt5_root),
        "--out",
        str(out),
        "--manifest-dir",
        str(MANIFEST_DIR),
        "--no-progress",
    ]
    assert run_verb(prepare_verb, argv) == 0
    printed = capsys.readouterr().out
    assert "gqa: train 2, val 2, test 2" in printed and "caption: train 2, val 1, test 1" in printed
    assert (out / "annotations" / "caption" / "train.jsonl").is_file()


def test_pinned_sha256_is_checked_before_anything_is_written(vlt5_root: Path, tmp_path: Path) -> None:
    """A pinned digest that the user's file does not match stops data-prepare with one line naming
    the file; a matching pin is recorded beside the file's own digest (docs/methods.md G)."""
    import yaml

    manifest = yaml.safe_load((MANIFEST_DIR / "nlvr.yaml").read_text())
    pinned_dir = tmp_path / "manifests"
    pinned_dir.mkdir()
    real = sha256_file(vlt5_root / manifest["files"]["train"]["path"])
    manifest["files"]["train"]["sha256"] = real
    (pinned_dir / "nlvr.yaml").write_text(yaml.safe_dump(manifest))
    out = tmp_path / "ok"
    doc = prepare(["nlvr"], vlt5_root, out, manifest_dir=pinned_dir, progress=False)
    assert (
        doc["datasets"]["nlvr"]["files"]["train"]["sha256"]
        == doc["datasets"]["nlvr"]["files"]["train"]["pinned"]
        == real
    )
    manifest["files"]["train"]["sha256"] = "0" * 64
    (pinned_dir / "nlvr.yaml").write_text(yaml.safe_dump(manifest))
    bad = tmp_path / "bad"
    with pytest.raises(
        ValueError, match=r"train\.json: sha256 [0-9a-f]{64} differs from the one pinned in .*nlvr\.yaml"
    ):
        prepare(["nlvr"], vlt5_root, bad, manifest_dir=pinned_dir, progress=False)
    assert not bad.exists() or not any(bad.rglob("*"))
