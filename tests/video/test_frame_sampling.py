import numpy as np
import pytest

from vlpeft.video.sampling import cfr_pts, frames_shown_at, sample_indices, target_times


def test_segment_centres_cfr():
    # 32 frames at 8 fps, 8 segments of 0.5 s: centres at 0.25, 0.75, ... -> frames 2, 6, ..., 30
    pts, end = cfr_pts(32, 8.0)
    assert sample_indices(pts, end, num_frames=8).tolist() == [2, 6, 10, 14, 18, 22, 26, 30]
    pts, end = cfr_pts(10, 5.0)
    assert sample_indices(pts, end, num_frames=1).tolist() == [5]
    pts, end = cfr_pts(20, 8.0)  # 2.5 s: centres 0.156, 0.469, ... s
    assert sample_indices(pts, end, num_frames=8).tolist() == [1, 3, 6, 8, 11, 13, 16, 18]


def test_more_frames_than_video_repeats_in_order():
    idx = sample_indices(*cfr_pts(3, 8.0), num_frames=8)
    assert len(idx) == 8 and idx.min() == 0 and idx.max() == 2
    assert (np.diff(idx) >= 0).all()


def test_fps_mode_every_period():
    # 4 s at 8 fps, one frame every 0.5 s from t=0
    assert sample_indices(*cfr_pts(32, 8.0), sample_fps=2).tolist() == [0, 4, 8, 12, 16, 20, 24, 28]
    # sampling faster than the source repeats frames; never past the end
    idx = sample_indices(*cfr_pts(5, 5.0), sample_fps=10)
    assert len(idx) == 10 and idx.max() == 4


def test_variable_frame_rate_picks_by_time_not_by_index():
    # 2 s at 20 fps, then 2 s at 5 fps: 40 + 10 frames over 4 s
    pts = np.concatenate([np.arange(40) / 20, 2 + np.arange(10) / 5])
    idx = sample_indices(pts, 4.0, num_frames=4)  # targets 0.5, 1.5, 2.5, 3.5 s
    np.testing.assert_allclose(pts[idx], [0.5, 1.5, 2.4, 3.4])
    # index-based sampling (the old way) would put 3 of 4 frames in the first 2 s
    idx = sample_indices(pts, 4.0, sample_fps=1)
    np.testing.assert_allclose(pts[idx], [0, 1, 2, 3])


def test_non_zero_start_and_frame_shown_at():
    pts = np.array([1.0, 1.5, 3.0])
    assert target_times(1.0, 4.0, sample_fps=1).tolist() == [1.0, 2.0, 3.0]
    assert frames_shown_at(pts, [0.2, 1.0, 1.49, 2.99, 3.0, 9.0]).tolist() == [0, 0, 0, 1, 2, 2]


@pytest.mark.parametrize("kw", [{}, {"num_frames": 4, "sample_fps": 2.0}, {"num_frames": 0}, {"sample_fps": -1}])
def test_bad_modes(kw):
    with pytest.raises(ValueError):
        sample_indices(*cfr_pts(10, 5.0), **kw)


def test_bad_timestamps():
    with pytest.raises(ValueError, match="increasing"):
        sample_indices(np.array([0.0, 0.5, 0.5]), 1.0, num_frames=2)
    with pytest.raises(ValueError, match="without frames"):
        sample_indices(np.array([]), 1.0, num_frames=2)
