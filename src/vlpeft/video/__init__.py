"""Video decoding and frame sampling in presentation time (the `vlpeft frames` step)."""

from .decode import BACKENDS, Decoded, check_batch, decode_frames
from .frames import FrameReader, SamplingSpec, extract_frames, list_videos, load_video
from .probe import VideoInfo, probe_video
from .sampling import sample_indices, target_times

# the `vlpeft` verbs that decode video: each takes --backend, which the workflow sets from
# config frames.backend (tests/video/test_backend_config.py checks both)
DECODING_VERBS = ("frames", "clip-demo", "predict")

__all__ = [
    "BACKENDS",
    "DECODING_VERBS",
    "Decoded",
    "FrameReader",
    "SamplingSpec",
    "VideoInfo",
    "check_batch",
    "decode_frames",
    "extract_frames",
    "list_videos",
    "load_video",
    "probe_video",
    "sample_indices",
    "target_times",
]
