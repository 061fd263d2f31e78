"""Video decoding and uniform frame sampling (the `vlpeft frames` step)."""

from .decode import BACKENDS, decode_frames
from .frames import FrameReader, SamplingSpec, extract_frames, list_videos, load_video
from .probe import VideoInfo, probe_video
from .sampling import sample_indices

__all__ = ["BACKENDS", "FrameReader", "SamplingSpec", "VideoInfo", "decode_frames", "extract_frames",
           "list_videos", "load_video", "probe_video", "sample_indices"]
