"""A video the frames step rejects (on_error: skip) is left out of features, training and
evaluation, with a count in their logs; nothing later fails with "video.h5: no entry"."""

import shutil

import numpy as np
import pytest
from clip_media import shape_scene

from vlpeft.features import extract
from vlpeft.features.cache import FeatureReader
from vlpeft.tasks import get_task
from vlpeft.train.build import feature_dim
from vlpeft.train.data import TaskData, TextOptions
from vlpeft.video import FrameReader, SamplingSpec, extract_frames


@pytest.fixture(scope="module")
def skipped(tmp_path_factory, clip_ckpts):
    from video_encode import write_video

    root = tmp_path_factory.mktemp("skip")
    videos = root / "videos"
    videos.mkdir()
    for i, colour in enumerate(("red", "blue")):
        write_video(videos / f"v{i}.mp4", np.stack([shape_scene(colour, "square", 0, 64)] * 8), fps=8)
    shutil.copy(videos / "v0.mp4", videos / "v9.mp4")
    data = (videos / "v9.mp4").read_bytes()
    (videos / "v9.mp4").write_bytes(data[: len(data) // 3])  # corrupt: rejected with on_error=skip
    frames = root / "frames.h5"
    summary = extract_frames(videos, frames, SamplingSpec(num_frames=2), on_error="skip", progress=False)
    assert [r["video_id"] for r in summary["rejected"]] == ["v9"]
    features = root / "video.h5"
    extract.extract_features("video", clip_ckpts["vit"], features, frames=frames, workers=0, progress=False)
    return frames, features


def rows():
    base = {
        "question": "what?",
        "choices": ["a", "b", "c", "d", "e"],
        "answer_idx": 1,
        "ts": [0.0, 2.0],
        "subtitles": "",
    }
    return [{"id": f"q{v}", "video_id": v, **base} for v in ("v9", "v0", "v1", "v9")]


def test_features_carry_the_rejected_ids(skipped, capsys):
    frames, features = skipped
    with FrameReader(frames) as f, FeatureReader(features) as r:
        assert f.rejected_ids() == ["v9"] and r.rejected_ids() == ["v9"]
        assert r.keys() == ["v0", "v1"]


def test_training_and_evaluation_leave_rejected_videos_out(skipped, capsys):
    _, features = skipped
    spec = get_task("tvqa")
    reader = FeatureReader(features)
    data = TaskData(spec, rows(), reader, TextOptions(use_task_prompt=True))
    assert [ex["id"] for ex in data.examples] == ["qv0", "qv1"]
    assert "tvqa: 2 of 4 examples left out" in capsys.readouterr().err
    assert all(data.item(i, epoch=0)["vis"].shape[0] == 1 for i in range(len(data)))
    assert feature_dim(reader, spec, rows()[0]) == reader.shape("v0")[-1]  # first row's video was rejected


def test_a_missing_video_that_was_not_rejected_still_fails(skipped):
    _, features = skipped
    data = TaskData(
        get_task("tvqa"), [{**rows()[1], "video_id": "v5"}], FeatureReader(features), TextOptions(use_task_prompt=True)
    )
    with pytest.raises(KeyError, match="v5"):
        data.item(0)
