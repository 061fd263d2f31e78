import json
import shutil

import numpy as np
import pytest

from vlpeft.cli import main
from vlpeft.io import sha256_file
from vlpeft.video import FrameReader, SamplingSpec, extract_frames, load_video, probe_video

from video_media import frame_index, red_corner, rotate_tag


def test_probe(video_dir):
    info = probe_video(video_dir / "a.mp4")
    assert (info.width, info.height, info.num_frames, info.rotation) == (64, 48, 32, 0)
    assert info.fps == pytest.approx(8.0) and info.duration == pytest.approx(4.0)


@pytest.mark.parametrize("backend", ["decord", "pyav"])
def test_frames_count_order_and_attrs(video_dir, tmp_path, backend):
    out = tmp_path / "frames" / "frames.h5"
    summary = extract_frames(video_dir, out, SamplingSpec(num_frames=8, backend=backend), progress=False)
    assert summary == {"videos": 3, "frames": 24, "rejected": []}
    assert json.loads((out.parent / "rejected.json").read_text()) == []
    with FrameReader(out) as r:
        assert r.keys() == ["a", "b", "c"]  # sorted ids
        assert r.attrs["backend"] == backend and r.attrs["num_frames"] == 8
        frames = r.get("a")
        assert frames.dtype == np.uint8 and frames.shape == (8, 48, 64, 3)
        assert [frame_index(f) for f in frames] == [2, 6, 10, 14, 18, 22, 26, 30]
        attrs = r.item_attrs("a")
        assert attrs["source"] == "a.mp4" and attrs["fps"] == pytest.approx(8)
        assert attrs["duration"] == pytest.approx(4)
        np.testing.assert_allclose(attrs["timestamps"], np.array([2, 6, 10, 14, 18, 22, 26, 30]) / 8)
        # the 20-frame video: segment centres of 20 frames
        assert [frame_index(f) for f in r.get("c")] == [1, 3, 6, 8, 11, 13, 16, 18]


def test_fps_mode_and_resize(video_dir, tmp_path):
    out = tmp_path / "frames.h5"
    extract_frames(video_dir, out, SamplingSpec(sample_fps=1.0, size=24), progress=False)
    with FrameReader(out) as r:
        frames = r.get("a")
        assert frames.shape == (4, 24, 32, 3)  # 4 s at 1 fps; shorter side 48 -> 24
        assert [frame_index(f) for f in frames] == [0, 8, 16, 24]
        np.testing.assert_allclose(r.item_attrs("a")["timestamps"], [0, 1, 2, 3])
        assert r.attrs["sample_fps"] == 1.0 and r.attrs["size"] == 24


def test_backends_agree(video_dir):
    a, _ = load_video(video_dir / "a.mp4", SamplingSpec(num_frames=8, backend="decord"))
    b, _ = load_video(video_dir / "a.mp4", SamplingSpec(num_frames=8, backend="pyav"))
    assert a.shape == b.shape
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 2


@pytest.mark.parametrize("degrees,corner", [(90, (1, 0)), (180, (1, 1)), (270, (0, 1))])
@pytest.mark.parametrize("backend", ["decord", "pyav"])
def test_rotation_applied(video_dir, tmp_path, degrees, corner, backend):
    # ffmpeg's legacy `rotate` tag: the upright picture is turned counter-clockwise by it here
    # (ffmpeg 5 stores a display matrix; checked against `ffmpeg -i` autorotated output)
    path = tmp_path / "rot.mp4"
    rotate_tag(video_dir / "a.mp4", path, degrees)
    info = probe_video(path)
    frames, attrs = load_video(path, SamplingSpec(num_frames=2, backend=backend))
    assert frames.shape[1:3] == info.display_size
    assert frames.shape[1:3] == ((64, 48) if degrees in (90, 270) else (48, 64))
    assert red_corner(frames[0]) == corner


def test_corrupt_video_fails_naming_file(video_dir, tmp_path):
    videos = tmp_path / "videos"
    shutil.copytree(video_dir, videos)
    data = (videos / "b.mp4").read_bytes()
    (videos / "b.mp4").write_bytes(data[: len(data) // 2])  # moov atom lost
    out = tmp_path / "frames.h5"
    with pytest.raises(ValueError, match=r"b\.mp4"):
        extract_frames(videos, out, SamplingSpec(num_frames=4), progress=False)
    assert not out.exists() and list(tmp_path.glob(".frames.h5*")) == []


def test_empty_video_and_cli_error(video_dir, tmp_path, capsys):
    videos = tmp_path / "videos"
    shutil.copytree(video_dir, videos)
    (videos / "e.mp4").write_bytes(b"")
    rc = main(["frames", "--videos", str(videos), "--out", str(tmp_path / "f.h5")])
    assert rc == 1 and "e.mp4" in capsys.readouterr().err
    assert not (tmp_path / "f.h5").exists()


def test_skip_mode_records_rejected(video_dir, tmp_path):
    videos = tmp_path / "videos"
    shutil.copytree(video_dir, videos)
    (videos / "d.mp4").write_bytes(b"not a video at all" * 10)
    (videos / "e.mp4").write_bytes(b"")
    out = tmp_path / "frames" / "frames.h5"
    rc = main(["frames", "--videos", str(videos), "--out", str(out), "--num-frames", "4", "--on-error", "skip"])
    assert rc == 0
    rejected = json.loads((out.parent / "rejected.json").read_text())
    assert [r["video_id"] for r in rejected] == ["d", "e"]
    assert [r["file"] for r in rejected] == ["d.mp4", "e.mp4"]
    assert all(r["reason"] and str(tmp_path) not in r["reason"] for r in rejected)
    with FrameReader(out) as r:
        assert r.keys() == ["a", "b", "c"]


def test_deterministic_bytes(video_dir, tmp_path):
    spec = SamplingSpec(num_frames=4)
    extract_frames(video_dir, tmp_path / "1.h5", spec, progress=False)
    extract_frames(video_dir, tmp_path / "2.h5", spec, progress=False, workers=1)
    assert sha256_file(tmp_path / "1.h5") == sha256_file(tmp_path / "2.h5")


def test_missing_folder_and_unknown_key(tmp_path, video_dir):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        extract_frames(tmp_path / "nowhere", tmp_path / "f.h5", SamplingSpec(num_frames=2))
    out = tmp_path / "f.h5"
    extract_frames(video_dir, out, SamplingSpec(num_frames=2), progress=False)
    with FrameReader(out) as r, pytest.raises(KeyError, match=r"'zz'.*f\.h5|f\.h5.*'zz'"):
        r.get("zz")
