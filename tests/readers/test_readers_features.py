"""`data-features`: VALUE clip-vit .npz and VL-Adapter RN101 .h5 -> the project's feature cache."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from readers_data import MANIFEST_DIR, TV_SUBS, npz_array, run_verb, write_npz_features

from vlpeft.data.readers import convert, convert_features, prepare
from vlpeft.features.cache import FeatureReader
from vlpeft.io import sha256_file

TV_IDS = sorted(s["vid_name"] for s in TV_SUBS)


def test_value_npz_to_feature_cache(value_root: Path, tmp_path: Path) -> None:
    src = value_root / "vis_features" / "tv" / "clip-vit"
    out = tmp_path / "features" / "tv" / "clip_vit.h5"
    summary = convert_features("value-npz", src, out, progress=False)
    assert summary["items"] == 2 and summary["dim"] == 512
    with FeatureReader(out) as reader:
        assert reader.attrs == {
            "encoder": "ViT-B/32",
            "checkpoint_sha256": "value-release",
            "kind": "video",
            "dim": 512,
        }
        assert reader.keys() == TV_IDS
        for vid in TV_IDS:
            assert reader.file[vid].dtype == np.float16
            np.testing.assert_array_equal(reader.get(vid), npz_array(vid).astype(np.float16).astype(np.float32))
    again = tmp_path / "again.h5"
    convert_features("value-npz", src, again, progress=False)
    assert again.read_bytes() == out.read_bytes()  # deterministic bytes


def test_ids_from_a_prepared_manifest_and_the_archive_digest(
    value_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = tmp_path / "data" / "value"
    prepare(["tvqa", "how2qa"], value_root, data, manifest_dir=MANIFEST_DIR, progress=False)
    src, how2 = value_root / "vis_features" / "tv" / "clip-vit", value_root / "vis_features" / "how2" / "clip-vit"
    write_npz_features(how2, ["how2_vid_a"])
    np.savez(src / "not_in_any_split.npz", features=np.zeros((2, 512), np.float32))
    archive = tmp_path / "clip-vit.tar"
    archive.write_bytes(b"pretend archive")
    out = tmp_path / "value.h5"
    argv = [
        "--format",
        "value-npz",
        "--src",
        str(src),
        str(how2),
        "--out",
        str(out),
        "--ids-from",
        str(data / "manifest.json"),
        "--archive",
        str(archive),
        "--no-progress",
    ]
    assert run_verb(convert, argv) == 0
    assert "3 videos, dim 512, encoder ViT-B/32" in capsys.readouterr().out
    with FeatureReader(out) as reader:
        assert reader.keys() == sorted(TV_IDS + ["how2_vid_a"])
        assert reader.attrs["checkpoint_sha256"] == sha256_file(archive)
    (how2 / f"{TV_IDS[0]}.npz").write_bytes((src / f"{TV_IDS[0]}.npz").read_bytes())  # the same file twice: fine
    assert convert_features("value-npz", [src, how2], tmp_path / "dup.h5", progress=False)["items"] == 4
    np.savez(how2 / f"{TV_IDS[0]}.npz", features=np.zeros((2, 512), np.float32))
    with pytest.raises(ValueError, match=f"'{TV_IDS[0]}' has different features in .*tv.* and .*how2"):
        convert_features("value-npz", [src, how2], tmp_path / "other.h5", progress=False)

    (src / f"{TV_IDS[0]}.npz").unlink()
    with pytest.raises(FileNotFoundError, match=rf"1 of 2 ids have no \.npz file \(first: {TV_IDS[0]}\)"):
        convert_features("value-npz", src, tmp_path / "other.h5", ids=TV_IDS, progress=False)


def test_bad_sources_leave_nothing(tmp_path: Path) -> None:
    src = tmp_path / "clip-vit"
    src.mkdir()
    np.savez(src / "a.npz", features=np.ones((4, 512), np.float32))
    np.savez(src / "b.npz", feats=np.ones((4, 512), np.float32))
    out = tmp_path / "out.h5"
    with pytest.raises(ValueError, match=r"b\.npz: no array 'features' \(arrays: feats\)"):
        convert_features("value-npz", src, out, progress=False)
    assert not out.exists() and list(tmp_path.glob(".out.h5*")) == []
    np.savez(src / "b.npz", features=np.ones((4, 256), np.float32))
    with pytest.raises(ValueError, match=r"b\.npz: feature dim 256 differs from the first file's 512"):
        convert_features("value-npz", src, out, progress=False)
    with pytest.raises(ValueError, match="unknown feature format 'npz'"):
        convert_features("npz", src, out, progress=False)
    with pytest.raises(FileNotFoundError, match="feature folder not found"):
        convert_features("value-npz", tmp_path / "nowhere", out, progress=False)


def test_vladapter_h5_image_grids(tmp_path: Path) -> None:
    src = tmp_path / "data_clip_RN101_att"
    src.mkdir()
    grids = {i: np.arange(49 * 8, dtype=np.float16).reshape(49, 8) + k for k, i in enumerate(["img-b", "img-a"])}
    for img, grid in grids.items():
        with h5py.File(src / f"{img}.h5", "w") as f:
            f.create_group(img).create_dataset("features", data=grid)
    out = tmp_path / "coco.h5"
    convert_features("vladapter-h5", src, out, progress=False)
    with FeatureReader(out) as reader:
        assert reader.attrs["kind"] == "image" and reader.attrs["encoder"] == "RN101" and reader.attrs["dim"] == 8
        assert reader.keys() == ["img-a", "img-b"]
        np.testing.assert_array_equal(reader.get("img-b"), grids["img-b"].astype(np.float32))
    with h5py.File(src / "img-c.h5", "w") as f:
        f.create_group("img-c").create_dataset("features", data=np.zeros((36, 8), np.float16))
    with pytest.raises(ValueError, match=r"img-c\.h5: expected an image grid of 49 cells, got shape \(36, 8\)"):
        convert_features("vladapter-h5", src, out, progress=False)


def test_release_roots_are_expanded(value_root: Path, tmp_path: Path) -> None:
    """``data.video_features: <root>/vis_features`` works as documented: the <ds>/clip-vit folders of
    the VALUE layout under it are read; VL-Adapter's datasets/ root likewise for the RN101 .h5 grids
    (<ds>/clip_features/data_clip_RN101_att/<img>.h5; docs/methods.md G)."""
    write_npz_features(value_root / "vis_features" / "how2" / "clip-vit", ["how2_vid_a"])
    out = tmp_path / "video.h5"
    assert convert_features("value-npz", value_root / "vis_features", out, progress=False)["items"] == 3
    with FeatureReader(out) as reader:
        assert reader.keys() == sorted(TV_IDS + ["how2_vid_a"])
    root = tmp_path / "datasets"
    for ds, img in (("COCO", "COCO_val2014_000000000042"), ("GQA", "n161313")):
        folder = root / ds / "clip_features" / "data_clip_RN101_att"
        folder.mkdir(parents=True)
        with h5py.File(folder / f"{img}.h5", "w") as f:
            f.create_group(img).create_dataset("features", data=np.ones((49, 8), np.float16))
    summary = convert_features("vladapter-h5", root, tmp_path / "image.h5", progress=False)
    assert summary["items"] == 2 and summary["kind"] == "image"
    with pytest.raises(ValueError, match=r"no \*\.npz feature files, and no \*/clip-vit/ folders"):
        convert_features("value-npz", root, tmp_path / "x.h5", progress=False)
