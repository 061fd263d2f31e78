"""Readers of the published data sets: they turn the released annotation layouts into the
project's task schemas (``vlpeft.tasks``), driven by the data manifests in ``config/data/``.

    from vlpeft.data.readers import prepare, load_manifest, check_manifest, convert_features
    prepare(["vqa", "gqa", "nlvr", "caption"], root="datasets", out="data/vlt5")

``READERS`` maps a manifest's ``reader`` to the tasks it writes and the file roles it needs.
"""

from __future__ import annotations

from .base import ReaderSpec, ReadResult
from .image import read_caption, read_gqa, read_nlvr, read_vqa
from .manifest import DataManifest, DatasetFiles, FileEntry, Finding, check_manifest, load_manifest
from .video import video_caption_reader, video_qa_reader

_QA_ROLES = ("train", "val", "subtitles")
READERS: dict[str, ReaderSpec] = {
    "vqa": ReaderSpec(
        "vqa", ("vqa",), ("train", "val", "test"), read_vqa, optional_roles=("official_train", "official_val")
    ),
    "gqa": ReaderSpec("gqa", ("gqa",), ("train", "valid", "testdev"), read_gqa),
    "nlvr": ReaderSpec("nlvr", ("nlvr",), ("train", "val", "test"), read_nlvr),
    "caption": ReaderSpec("caption", ("caption",), ("karpathy",), read_caption),
    "tvqa": ReaderSpec("tvqa", ("tvqa",), _QA_ROLES, video_qa_reader("tvqa", 5)),
    "how2qa": ReaderSpec("how2qa", ("how2qa",), _QA_ROLES, video_qa_reader("how2qa", 4)),
    "tvc": ReaderSpec("tvc", ("tvc",), _QA_ROLES, video_caption_reader("tvc"), options=("video_captions",)),
    "yc2c": ReaderSpec("yc2c", ("yc2c",), _QA_ROLES, video_caption_reader("yc2c"), options=("video_captions",)),
}

from .build import prepare, read_dataset  # noqa: E402  (build reads READERS)
from .features import FORMATS, convert_features  # noqa: E402

__all__ = [
    "READERS",
    "ReaderSpec",
    "ReadResult",
    "DataManifest",
    "DatasetFiles",
    "FileEntry",
    "Finding",
    "load_manifest",
    "check_manifest",
    "prepare",
    "read_dataset",
    "convert_features",
    "FORMATS",
]
