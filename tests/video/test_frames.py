import json
import logging
import shutil

import numpy as np
import pytest
from video_media import frame_index, red_corner, rotate_tag, write_vfr

from vlpeft.cli import main
from vlpeft.io import sha256_file
from vlpeft.video import BACKENDS, FrameReader, SamplingSpec, decode, extract_frames, load_video, probe_video
from vlpeft.video.sampling import frames_shown_at, target_times


@pytest.mark.parametrize("prober", ["torchcodec", "pyav"])
def test_probe_in_process(video_dir, prober):
    info = probe_video(video_dir / "a.mp4", prober)
    assert info.prober == prober
    assert (info.width, info.height, info.num_frames, info.rotation) == (64, 48, 32, 0)
    assert info.fps == pytest.approx(8.0) and info.duration == pytest.approx(4.0) and info.start == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_frames_count_order_and_attrs(video_dir, tmp_path, backend):
    out = tmp_path / "frames" / "frames.h5"
    summary = extract_frames(video_dir, out, SamplingSpec(num_frames=8, backend=backend), progress=False)
    assert summary == {"videos": 3, "frames": 24, "rejected": [], "fallbacks": []}
    assert json.loads((out.parent / "rejected.json").read_text()) == []
    with FrameReader(out) as r:
        assert r.keys() == ["a", "b", "c"]  # sorted ids
        assert r.attrs["backend"] == backend and r.attrs["num_frames"] == 8
        assert r.item_attrs("a")["decoder"] == backend and r.rejected_ids() == []
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
    ref, ref_attrs = load_video(video_dir / "a.mp4", SamplingSpec(num_frames=8, backend="pyav"))
    for backend in ("torchcodec", "decord"):
        a, attrs = load_video(video_dir / "a.mp4", SamplingSpec(num_frames=8, backend=backend))
        assert a.shape == ref.shape and np.abs(a.astype(int) - ref.astype(int)).max() <= 2
        np.testing.assert_allclose(attrs["timestamps"], ref_attrs["timestamps"], atol=1e-6)


@pytest.mark.parametrize("degrees,corner", [(90, (1, 0)), (180, (1, 1)), (270, (0, 1))])
@pytest.mark.parametrize("backend", BACKENDS)
def test_rotation_applied(video_dir, tmp_path, degrees, corner, backend):
    # ffmpeg's legacy `rotate` tag: the upright picture is turned counter-clockwise by it here
    # (ffmpeg 5 stores a display matrix; checked against `ffmpeg -i` autorotated output)
    path = tmp_path / "rot.mp4"
    rotate_tag(video_dir / "a.mp4", path, degrees)
    info = probe_video(path)
    assert info.rotation == degrees
    frames, attrs = load_video(path, SamplingSpec(num_frames=2, backend=backend))
    # decord2 3.4 fails on 90/270 degree rotations (DECORDArrayCopyFromTo size mismatch): PyAV takes over
    assert attrs["decoder"] == ("torchcodec" if backend == "decord" and degrees != 180 else backend)
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
        assert r.rejected_ids() == ["d", "e"]  # carried on to the features step (skip means skip)


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


# -- real timestamps (variable frame rate) ---------------------------------------------------------


@pytest.fixture(scope="module")
def vfr_clip(tmp_path_factory):
    """20 frames at 20 fps (0 - 0.95 s), then 10 at 5 fps (1.0 - 2.8 s)."""
    path = tmp_path_factory.mktemp("vfr") / "vfr.mp4"
    return path, write_vfr(path)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", [{"num_frames": 6}, {"sample_fps": 2.0}])
def test_vfr_sampling_in_presentation_time(vfr_clip, backend, mode):
    path, true_pts = vfr_clip
    frames, attrs = load_video(path, SamplingSpec(backend=backend, **mode))
    assert attrs["decoder"] == backend
    shown = [frame_index(f) for f in frames]
    # the stored time of each frame is its own pts
    np.testing.assert_allclose(attrs["timestamps"], true_pts[shown], atol=1e-6)
    # and each is the frame shown at its target time on the clock (not at index * average fps)
    end = attrs["duration"]
    assert end == pytest.approx(2.85)  # last pts 2.8 + the muxer's packet duration 0.05
    targets = target_times(0.0, end, **({"num_frames": 6} if "num_frames" in mode else {"sample_fps": 2.0}))
    assert shown == frames_shown_at(true_pts, targets).tolist()
    if "num_frames" in mode:  # segment centres 0.2375, 0.7125, ... s: 2 of 6 in the fast first second
        assert shown == [4, 14, 20, 23, 25, 28]
    else:  # 0, 0.5, 1.0, 1.5, 2.0, 2.5 s
        np.testing.assert_allclose(attrs["timestamps"], [0, 0.5, 1.0, 1.4, 2.0, 2.4], atol=1e-6)


# -- no backend is trusted blindly ---------------------------------------------------------------


def _four_channels(info, times):
    """What decord2 3.4.0 returns on some AVX-512 CPUs for 32/48/96/144 px wide frames."""
    return np.zeros((len(times), *info.display_size, 4), np.uint8), np.asarray(times)


@pytest.mark.parametrize(
    "fault",
    [
        _four_channels,
        lambda info, times: (
            np.zeros((len(times), info.display_size[0], info.display_size[1] + 2, 3), np.uint8),
            np.asarray(times),
        ),
        lambda info, times: (np.zeros((len(times) - 1, *info.display_size, 3), np.uint8), np.asarray(times)[1:]),
        lambda info, times: (np.zeros((len(times), *info.display_size, 3), np.float32), np.asarray(times)),
        lambda info, times: (np.zeros((len(times), *info.display_size, 3), np.uint8), np.asarray(times) + 1.0),
    ],
    ids=["channels", "size", "count", "dtype", "late-pts"],
)
def test_bad_batch_falls_back_with_one_warning(video_dir, tmp_path, monkeypatch, caplog, fault):
    ref = tmp_path / "ref.h5"
    extract_frames(video_dir, ref, SamplingSpec(num_frames=4, backend="pyav"), progress=False)
    monkeypatch.setitem(decode.DECODERS, "torchcodec", fault)
    out = tmp_path / "frames.h5"
    with caplog.at_level(logging.WARNING, logger="vlpeft.video.decode"):
        summary = extract_frames(
            video_dir, out, SamplingSpec(num_frames=4, backend="torchcodec"), progress=False, workers=1
        )
    assert summary["fallbacks"] == ["a", "b", "c"] and summary["rejected"] == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3  # one line per video, naming the file and the backend
    for vid, line in zip("abc", warnings):
        assert f"{vid}.mp4" in line and "torchcodec returned a bad batch" in line and "pyav" in line
        assert "\n" not in line
    with FrameReader(out) as r, FrameReader(ref) as e:
        assert r.attrs["fallbacks"] == 3
        for vid in "abc":
            assert r.item_attrs(vid)["decoder"] == "pyav"
            np.testing.assert_array_equal(r.get(vid), e.get(vid))  # never a wrong frame


def test_no_good_backend_is_one_clear_error(video_dir, tmp_path, monkeypatch, capsys):
    for name in BACKENDS:
        monkeypatch.setitem(decode.DECODERS, name, _four_channels)
    rc = main(["frames", "--videos", str(video_dir), "--out", str(tmp_path / "f.h5"), "--backend", "pyav"])
    err = capsys.readouterr().err
    assert rc == 1 and "a.mp4" in err and all(f"{b} returned a bad batch (4 channels" in err for b in BACKENDS)
    assert not (tmp_path / "f.h5").exists()


def test_cli_reports_fallbacks(video_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(decode.DECODERS, "torchcodec", _four_channels)
    rc = main(["frames", "--videos", str(video_dir), "--out", str(tmp_path / "f.h5"), "--num-frames", "2"])
    assert rc == 0 and "3 decoded by a fallback backend (not torchcodec)" in capsys.readouterr().out


def test_unknown_backend(video_dir):
    with pytest.raises(ValueError, match="unknown video backend 'nope'"):
        load_video(video_dir / "a.mp4", SamplingSpec(num_frames=2, backend="nope"))


def test_torchcodec_pixels_do_not_depend_on_decoding_threads(video_dir, vfr_clip):
    import dataclasses

    from vlpeft.video.probe import open_torchcodec

    for path in (video_dir / "a.mp4", vfr_clip[0]):
        info = probe_video(path)
        times = target_times(info.start, info.end, num_frames=5)
        auto = decode.DECODERS["torchcodec"](info, times)
        one = decode.DECODERS["torchcodec"](dataclasses.replace(info, handle=open_torchcodec(path, threads=1)), times)
        np.testing.assert_array_equal(auto[0], one[0])
        np.testing.assert_array_equal(auto[1], one[1])


def test_torchcodec_that_does_not_load_falls_back_to_pyav(video_dir, tmp_path, monkeypatch, caplog):
    from vlpeft.video import probe

    def broken(*args, **kwargs):
        raise RuntimeError("Could not load libtorchcodec. Likely causes: FFmpeg is not properly installed")

    monkeypatch.setattr(probe, "_probe_torchcodec", broken)
    monkeypatch.setattr(decode, "open_torchcodec", broken)
    with caplog.at_level(logging.WARNING):
        summary = extract_frames(video_dir, tmp_path / "f.h5", SamplingSpec(num_frames=4), progress=False, workers=1)
    assert summary["rejected"] == [] and summary["fallbacks"] == ["a", "b", "c"]
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 3  # one line per video
    assert all(
        "torchcodec could not probe it (RuntimeError: Could not load" in m and "decoded with pyav" in m
        for m in messages
    )


@pytest.mark.parametrize("container", ["offset.mkv", "stream.ts"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_streams_not_starting_at_zero(tmp_path_factory, container, backend):
    """A stream whose first pts is not 0 (an MKV written with an offset, MPEG-TS's 1.4 s start):
    every backend gives PyAV's frames and pts, or refuses and falls back (decord counts and times
    such streams its own way) -- never the wrong frames."""
    import subprocess

    path = tmp_path_factory.getbasetemp() / container
    if not path.exists():
        codec = ["-c:v", "libx264", "-output_ts_offset", "5"] if container.endswith("mkv") else ["-c:v", "mpeg2video"]
        subprocess.run(
            [
                "ffmpeg",
                "-y",
                "-loglevel",
                "error",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=64x48:rate=10",
                "-t",
                "2",
                *codec,
                "-pix_fmt",
                "yuv420p",
                str(path),
            ],
            check=True,
        )
    ref, ref_attrs = load_video(path, SamplingSpec(num_frames=4, backend="pyav"))
    assert ref_attrs["timestamps"][0] > 1  # really not starting at 0
    frames, attrs = load_video(path, SamplingSpec(num_frames=4, backend=backend))
    np.testing.assert_array_equal(frames, ref)
    np.testing.assert_allclose(attrs["timestamps"], ref_attrs["timestamps"], atol=1e-6)
