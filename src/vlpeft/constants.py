"""Constants several layers share, defined once here (torch-free, so the workflow's config checks and
the data readers use them without importing torch).

- ``ARCHS``: the backbone architectures (and the keys of the demo backbones, ``models/<ds>/<arch>``);
- ``IMAGE_GRID``: cells of an image feature grid, CLIP RN101 layer4's 7x7 map (docs/methods.md D);
- ``VIDEO_TOKENS``: video features are padded / max-pooled along time to 64 tokens (docs/methods.md D);
- ``DEFAULT_SEED``: the original scripts' default seed (runs, and the demo backbones' pre-training).
"""

from __future__ import annotations

ARCHS: tuple[str, ...] = ("t5", "bart")
IMAGE_GRID = 49
VIDEO_TOKENS = 64
DEFAULT_SEED = 9595
