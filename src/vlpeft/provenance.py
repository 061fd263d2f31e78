"""What a trained run remembers about its inputs, so that `vlpeft predict` and `vlpeft export` can
find (and check) the CLIP and the frame sampling the run was trained with.

`vlpeft train` stores ``features_identity`` of its feature cache in the adapter header
(``meta.features``): the CLIP ``encoder`` (a model name, or a checkpoint's file name), its
``checkpoint_sha256``, the ``kind``, the feature ``dim`` and, for video features computed by
`vlpeft features` from a frames file, the sampling of `vlpeft frames` (``frames_num_frames``,
``frames_sample_fps``, ``frames_size``, ``frames_backend``). No paths, no times.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def plain_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-able scalar attributes (str, bool, int, float), sorted by key."""
    out: dict[str, Any] = {}
    for key in sorted(attrs):
        value = attrs[key]
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, (str, bool, int, float)):
            out[str(key)] = value
    return out


SAMPLING_KEYS = ("backend", "num_frames", "sample_fps", "size")  # vlpeft.video.SamplingSpec.file_attrs


def frames_attrs(frames_file_attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The sampling attributes of a frames file, prefixed ``frames_`` (for the features file)."""
    return {f"frames_{k}": v for k, v in plain_attrs(frames_file_attrs).items() if k in SAMPLING_KEYS}


def features_identity(reader: Any) -> dict[str, Any]:
    """``plain_attrs`` of a feature cache (a ``FeatureReader`` or anything with ``.attrs``)."""
    return plain_attrs(reader.attrs)
