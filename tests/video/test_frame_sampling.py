import numpy as np
import pytest

from vlpeft.video.sampling import sample_indices


def test_segment_centres():
    # 32 frames, 8 segments of 4 frames: centres at 2, 6, ..., 30
    assert sample_indices(32, 8.0, num_frames=8).tolist() == [2, 6, 10, 14, 18, 22, 26, 30]
    assert sample_indices(10, 5.0, num_frames=1).tolist() == [5]


def test_more_frames_than_video_repeats_in_order():
    idx = sample_indices(3, 8.0, num_frames=8)
    assert len(idx) == 8 and idx.min() == 0 and idx.max() == 2
    assert (np.diff(idx) >= 0).all()


def test_fps_mode_every_period():
    # 4 s at 8 fps, one frame every 0.5 s from t=0
    assert sample_indices(32, 8.0, sample_fps=2).tolist() == [0, 4, 8, 12, 16, 20, 24, 28]
    # sampling faster than the source repeats frames; never past the end
    idx = sample_indices(5, 5.0, sample_fps=10)
    assert len(idx) == 10 and idx.max() == 4


@pytest.mark.parametrize("kw", [{}, {"num_frames": 4, "sample_fps": 2.0}, {"num_frames": 0}, {"sample_fps": -1}])
def test_bad_modes(kw):
    with pytest.raises(ValueError):
        sample_indices(10, 5.0, **kw)
