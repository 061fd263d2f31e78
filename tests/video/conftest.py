"""Session fixture: a folder of tiny ramp videos (see video_media.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from video_encode import write_video
from video_media import ramp_frames


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three 4 s, 8 fps ramp videos (32 frames): a.mp4, b.mp4 (48 x 64) and c.mp4 (20 frames)."""
    d = tmp_path_factory.mktemp("videos")
    write_video(d / "b.mp4", ramp_frames(), fps=8)
    write_video(d / "a.mp4", ramp_frames(), fps=8)
    write_video(d / "c.mp4", ramp_frames(20), fps=8)
    return d
