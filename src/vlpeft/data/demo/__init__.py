"""The demo world: a seeded generator of rendered images, H.264 videos and annotations for the
eight tasks (vqa, gqa, nlvr, caption, tvqa, how2qa, tvc, yc2c) plus pre-training captions.

``generate(out_dir, seed=0, size="default", **params)`` writes the layout of docs/interfaces.md;
the same arguments give byte-identical files.
"""

from .params import DEFAULTS, GENERATOR_VERSION, PARAMS, PRESETS, resolve
from .writer import generate

__all__ = ["DEFAULTS", "GENERATOR_VERSION", "PARAMS", "PRESETS", "generate", "resolve"]
