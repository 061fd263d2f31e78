import numpy as np
import pytest

from vlpeft.cli import main
from vlpeft.features import extract
from vlpeft.features.cache import FeatureReader
from vlpeft.features.demo_clip import CONFIGS
from vlpeft.io import sha256_file


def test_image_features(clip_ckpts, image_dir, tmp_path):
    out = tmp_path / "features" / "clip_rn.h5"
    summary = extract.extract_features(
        "image", clip_ckpts["rn"], out, images=image_dir, batch_size=2, workers=0, progress=False
    )
    assert summary["items"] == 5
    with FeatureReader(out) as r:
        assert r.keys() == [f"img{i}" for i in range(5)]
        assert r.attrs["encoder"] == "clip_rn.pt" and r.attrs["kind"] == "image"
        assert r.attrs["checkpoint_sha256"] == sha256_file(clip_ckpts["rn"])
        width = CONFIGS["rn"]["vision_width"] * 32
        assert r.file["img0"].dtype == np.float16 and r.shape("img0") == (49, width)
        feats = {k: r.get(k) for k in r.keys()}
    assert feats["img0"].dtype == np.float32 and np.isfinite(feats["img0"]).all()
    # two renders of the same scene are closer than scenes of different colours
    dist = lambda a, b: np.linalg.norm(feats[a] - feats[b])  # noqa: E731
    assert dist("img0", "img4") < min(dist("img0", k) for k in ("img1", "img2", "img3"))


def test_video_features_via_cli_with_workers(clip_ckpts, frames_file, tmp_path):
    out = tmp_path / "clip_vit.h5"
    rc = main(
        [
            "features",
            "--kind",
            "video",
            "--clip",
            str(clip_ckpts["vit"]),
            "--frames",
            str(frames_file),
            "--out",
            str(out),
            "--batch-size",
            "4",
            "--workers",
            "1",
        ]
    )
    assert rc == 0
    with FeatureReader(out) as r:
        assert r.keys() == ["v0", "v1", "v2"]
        assert r.attrs["kind"] == "video" and r.attrs["encoder"] == "clip_vit.pt"
        dim = CONFIGS["vit"]["embed_dim"]
        assert [r.shape(k) for k in r.keys()] == [(4, dim), (4, dim), (2, dim)]
        assert r.file["v1"].dtype == np.float16
        np.testing.assert_allclose(r.item_attrs("v2")["timestamps"], [0.0, 0.5])
        with pytest.raises(KeyError, match=r"'v9'.*clip_vit\.h5|clip_vit\.h5.*'v9'"):
            r.get("v9")


def test_deterministic_bytes(clip_ckpts, image_dir, tmp_path):
    for name in ("a.h5", "b.h5"):
        extract.extract_features(
            "image", clip_ckpts["rn"], tmp_path / name, images=image_dir, batch_size=2, workers=0, progress=False
        )
    assert sha256_file(tmp_path / "a.h5") == sha256_file(tmp_path / "b.h5")


def test_crash_mid_write_leaves_nothing_and_rerun_succeeds(clip_ckpts, image_dir, tmp_path, monkeypatch):
    out = tmp_path / "feat.h5"
    real = extract.image_grid_features
    calls = []

    def crash_on_second_batch(model, pixels):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("injected failure")
        return real(model, pixels)

    monkeypatch.setattr(extract, "image_grid_features", crash_on_second_batch)
    with pytest.raises(RuntimeError, match="injected"):
        extract.extract_features(
            "image", clip_ckpts["rn"], out, images=image_dir, batch_size=2, workers=0, progress=False
        )
    assert len(calls) == 2 and list(tmp_path.iterdir()) == []  # no file, no temporary left
    monkeypatch.setattr(extract, "image_grid_features", real)
    extract.extract_features("image", clip_ckpts["rn"], out, images=image_dir, batch_size=2, workers=0, progress=False)
    assert len(FeatureReader(out).keys()) == 5


def test_bad_inputs(clip_ckpts, image_dir, tmp_path, capsys):
    with pytest.raises(ValueError, match="ResNet"):
        extract.extract_features("image", clip_ckpts["vit"], tmp_path / "x.h5", images=image_dir, workers=0)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        extract.extract_features("image", clip_ckpts["rn"], tmp_path / "x.h5", images=tmp_path / "nowhere")
    broken = tmp_path / "imgs"
    broken.mkdir()
    (broken / "bad.png").write_bytes(b"not a png")
    rc = main(
        [
            "features",
            "--kind",
            "image",
            "--clip",
            str(clip_ckpts["rn"]),
            "--images",
            str(broken),
            "--out",
            str(tmp_path / "x.h5"),
            "--workers",
            "0",
        ]
    )
    assert rc == 1 and "bad.png" in capsys.readouterr().err
    assert not (tmp_path / "x.h5").exists()
    with pytest.raises(FileNotFoundError):
        FeatureReader(tmp_path / "missing.h5")


def test_small_caches_are_read_once_and_kept_in_memory(tmp_path, monkeypatch):
    from vlpeft.features.cache import H5Reader, add_dataset, h5_writer

    path = tmp_path / "image.h5"
    grids = {f"img{i}": np.random.default_rng(i).standard_normal((49, 8)).astype(np.float16) for i in range(3)}
    with h5_writer(path, {"encoder": "test", "kind": "image"}) as f:
        for key, grid in grids.items():
            add_dataset(f, key, grid)
    reads = []
    real_get = H5Reader.get
    monkeypatch.setattr(H5Reader, "get", lambda self, key: reads.append(key) or real_get(self, key))

    kept = FeatureReader(path, memory_limit=path.stat().st_size)
    for _ in range(3):
        for key, grid in grids.items():
            got = kept.get(key)
            assert got.dtype == np.float32 and np.array_equal(got, grid.astype(np.float32))
            got += 1  # the caller's copy: a later read is unchanged
    assert reads == list(grids)  # each entry read from the file once
    with pytest.raises(KeyError, match="img9"):
        kept.get("img9")

    reads.clear()
    too_big = FeatureReader(path, memory_limit=path.stat().st_size - 1)
    for _ in range(2):
        too_big.get("img0")
    assert reads == ["img0", "img0"]  # larger than the limit: read from disk every time
