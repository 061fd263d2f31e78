"""Rasterise objects with PIL (no anti-aliasing: every object pixel has its exact palette colour)."""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np
from PIL import Image, ImageDraw

from vlpeft.io import atomic_path

from .scene import BACKGROUND, COLORS


def draw_object(draw: ImageDraw.ImageDraw, color: str, shape: str, x: int, y: int, r: int) -> None:
    """Draw one filled shape inscribed in the box ``[x-r, x+r] x [y-r, y+r]`` (bounds inclusive)."""
    fill = COLORS[color]
    box = (x - r, y - r, x + r, y + r)
    if shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "square":
        draw.rectangle(box, fill=fill)
    elif shape == "triangle":
        draw.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=fill)
    else:
        raise ValueError(f"unknown shape {shape!r}")


def render(size: int, objects: Iterable[tuple[str, str, int, int, int]]) -> Image.Image:
    """An RGB image of ``(color, shape, x, y, r)`` objects on the background."""
    img = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(img)
    for obj in objects:
        draw_object(draw, *obj)
    return img


def render_array(size: int, objects: Iterable[tuple[str, str, int, int, int]]) -> np.ndarray:
    return np.asarray(render(size, objects), dtype=np.uint8)


def save_png(img: Image.Image, path: str | os.PathLike) -> None:
    """Write a PNG atomically with no metadata chunks (PIL writes no time or text unless asked)."""
    with atomic_path(path, suffix=".png") as tmp:
        img.save(tmp, format="PNG", optimize=False, compress_level=6)
