"""An independent reader of the demo world's PIXELS, used to check the generated answers.

It knows only the palette: it finds blobs of each colour in a PNG or in decoded MP4 frames,
tells circles, squares and triangles apart by how much of their bounding box they fill, and
answers the question templates from what it sees. It shares no code with the generator's logic.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image

from vlpeft.data.demo.scene import BACKGROUND, COLORS

NUMBERS = {w: i for i, w in enumerate(("zero", "one", "two", "three", "four", "five", "six", "seven"))}
SHAPES = ("circle", "square", "triangle")
REL = r"(to the left of|to the right of|above|below)"


@dataclass
class Blob:
    color: str
    shape: str
    x: float  # bounding-box centre
    y: float
    area: int

    @property
    def name(self) -> str:
        return f"{self.color} {self.shape}"


def components(mask: np.ndarray) -> list[np.ndarray]:
    """Pixel coordinates ``(N, 2)`` (y, x) of each 4-connected component of a boolean mask."""
    seen = np.zeros_like(mask, dtype=bool)
    out = []
    for y0, x0 in zip(*np.nonzero(mask)):
        if seen[y0, x0]:
            continue
        seen[y0, x0] = True
        queue, pix = deque([(y0, x0)]), []
        while queue:
            y, x = queue.popleft()
            pix.append((y, x))
            for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    queue.append((ny, nx))
        out.append(np.array(pix))
    return out


def blob_of(color: str, pix: np.ndarray) -> Blob:
    (y0, x0), (y1, x1) = pix.min(0), pix.max(0)
    fill = len(pix) / ((x1 - x0 + 1) * (y1 - y0 + 1))
    shape = "square" if fill > 0.93 else "circle" if fill > 0.66 else "triangle"
    return Blob(color, shape, (x0 + x1) / 2, (y0 + y1) / 2, len(pix))


def color_labels(img: np.ndarray, tolerance: float) -> np.ndarray:
    """Index of the nearest palette colour per pixel (-1: background or too far from any colour)."""
    pal = np.array([BACKGROUND, *COLORS.values()], dtype=float)
    dist = ((img[:, :, None, :].astype(float) - pal[None, None]) ** 2).sum(-1)
    lab = dist.argmin(-1) - 1
    lab[dist.min(-1) > tolerance**2] = -1
    return lab


def image_blobs(path: Path) -> list[Blob]:
    """Every object of a PNG: exact palette colours, one blob per connected component."""
    img = np.asarray(Image.open(path).convert("RGB"))
    lab = color_labels(img, tolerance=0)
    return [blob_of(c, pix) for k, c in enumerate(COLORS) for pix in components(lab == k)]


# ----- image questions ---------------------------------------------------------------------------


def _delta(a: Blob, b: Blob, rel: str) -> float:
    """How far ``a`` is <rel> ``b`` (positive: it is)."""
    return {"to the left of": b.x - a.x, "to the right of": a.x - b.x, "above": b.y - a.y, "below": a.y - b.y}[rel]


def _one(blobs: list[Blob], **attrs) -> Blob:
    hits = [b for b in blobs if all(getattr(b, k) == v for k, v in attrs.items())]
    assert len(hits) == 1, f"expected one {attrs} in the picture, saw {len(hits)}"
    return hits[0]


def _related(blobs: list[Blob], anchor: Blob, rel: str, margin: float, shape: str | None = None) -> list[Blob]:
    return [
        b for b in blobs if b is not anchor and (shape is None or b.shape == shape) and _delta(b, anchor, rel) > margin
    ]


def answer_image_question(q: str, blobs: list[Blob], size: int) -> str:
    """Answer a VQA/GQA template question from the blobs of a picture."""
    m = size * 0.04  # half the generator's relation margin: robust to a pixel of rounding
    if g := re.fullmatch(r"what color is the (\w+)\?", q):
        return _one(blobs, shape=g[1]).color
    if g := re.fullmatch(r"what shape is the (\w+) object\?", q):
        return _one(blobs, color=g[1]).shape
    if q == "how many shapes are there?":
        return str(len(blobs))
    if g := re.fullmatch(r"how many (\w+) objects are there\?", q):
        return str(sum(b.color == g[1] for b in blobs))
    if g := re.fullmatch(r"how many (\w+)s are there\?", q):
        return str(sum(b.shape == g[1] for b in blobs))
    if g := re.fullmatch(r"is there a (\w+) object\?", q):
        return "yes" if any(b.color == g[1] for b in blobs) else "no"
    if g := re.fullmatch(r"is there a (\w+)\?", q):
        return "yes" if any(b.shape == g[1] for b in blobs) else "no"
    if g := re.fullmatch(r"is there a (\w+) (\w+)\?", q):
        return "yes" if any(b.name == f"{g[1]} {g[2]}" for b in blobs) else "no"
    if g := re.fullmatch(r"where is the (\w+) (\w+)\?", q):
        b = _one(blobs, color=g[1], shape=g[2])
        dx, dy = b.x - size / 2, b.y - size / 2
        return ("left" if dx < 0 else "right") if abs(dx) > abs(dy) else ("top" if dy < 0 else "bottom")
    if g := re.fullmatch(rf"what color is the shape {REL} the (\w+) (\w+)\?", q):
        hits = _related(blobs, _one(blobs, color=g[2], shape=g[3]), g[1], m)
        assert len(hits) == 1, q
        return hits[0].color
    if g := re.fullmatch(rf"what shape is {REL} the (\w+) (\w+)\?", q):
        hits = _related(blobs, _one(blobs, color=g[2], shape=g[3]), g[1], m)
        assert len(hits) == 1, q
        return hits[0].shape
    if g := re.fullmatch(rf"what color is the (\w+) {REL} the (\w+) (\w+)\?", q):
        hits = _related(blobs, _one(blobs, color=g[3], shape=g[4]), g[2], m, shape=g[1])
        assert len(hits) == 1, q
        return hits[0].color
    if g := re.fullmatch(rf"is the (\w+) (\w+) {REL} the (\w+) (\w+)\?", q):
        a, b = _one(blobs, color=g[1], shape=g[2]), _one(blobs, color=g[4], shape=g[5])
        return "yes" if _delta(a, b, g[3]) > 0 else "no"
    if g := re.fullmatch(rf"is there a (\w+) {REL} the (\w+) (\w+)\?", q):
        return "yes" if _related(blobs, _one(blobs, color=g[3], shape=g[4]), g[2], m, shape=g[1]) else "no"
    if g := re.fullmatch(r"on which side is the (\w+) (\w+)\?", q):
        return "left" if _one(blobs, color=g[1], shape=g[2]).x < size / 2 else "right"
    raise AssertionError(f"no oracle for question {q!r}")


def _count(blobs: list[Blob], what: str) -> int:
    """``circles``/``circle`` count shapes; ``red`` counts colours."""
    what = what.rstrip("s") if what.rstrip("s") in SHAPES else what
    return sum(b.shape == what for b in blobs) if what in SHAPES else sum(b.color == what for b in blobs)


def judge_statement(s: str, left: list[Blob], right: list[Blob]) -> bool:
    """Truth of an NLVR template statement about two pictures."""
    side = {"left": left, "right": right}
    has_attr = lambda blobs, w: any(w in (b.color, b.shape) for b in blobs)  # noqa: E731
    if g := re.fullmatch(r"the (left|right) image contains an? (?:(\w+) object|(\w+))", s):
        return has_attr(side[g[1]], g[2] or g[3])
    if g := re.fullmatch(r"both images contain an? (?:(\w+) object|(\w+))", s):
        return has_attr(left, g[1] or g[2]) and has_attr(right, g[1] or g[2])
    raise AssertionError(f"no oracle for statement {s!r}")


def mentioned_objects(caption: str) -> list[str]:
    """The ``colour shape`` pairs a caption names."""
    return [f"{c} {s}" for c, s in re.findall(rf"\b({'|'.join(COLORS)}) ({'|'.join(SHAPES)})\b", caption)]


# ----- videos ---------------------------------------------------------------------------------------


class VideoPixels:
    """Decoded frames of one MP4 and what each colour does over time."""

    def __init__(self, path: Path) -> None:
        with av.open(str(path)) as container:
            frames = [(float(f.time), f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
        self.times = np.array([t for t, _ in frames])
        self.labels = [color_labels(img, tolerance=60) for _, img in frames]
        self.size = frames[0][1].shape[0]
        self._blobs: dict[tuple[int, str], Blob | None] = {}

    def blob(self, i: int, color: str) -> Blob | None:
        """The largest blob of ``color`` in frame ``i`` (None if the colour is absent)."""
        if (i, color) not in self._blobs:
            comps = [c for c in components(self.labels[i] == list(COLORS).index(color)) if len(c) >= 12]
            self._blobs[i, color] = blob_of(color, max(comps, key=len)) if comps else None
        return self._blobs[i, color]

    def frames_in(self, t0: float, t1: float) -> list[int]:
        return [i for i, t in enumerate(self.times) if t0 <= t <= t1]

    def present(self, i: int) -> set[str]:
        return {c for c in COLORS if self.blob(i, c) is not None}

    def shape_of(self, color: str) -> str:
        """The shape of a colour, from the frame where its blob is largest."""
        blobs = [b for i in range(len(self.times)) if (b := self.blob(i, color))]
        return max(blobs, key=lambda b: b.area).shape

    def motion(self, color: str, t0: float, t1: float) -> str:
        """``left/right/up/down`` or ``still`` for a colour between two times."""
        seen = [b for i in self.frames_in(t0, t1) if (b := self.blob(i, color))]
        dx, dy = seen[-1].x - seen[0].x, seen[-1].y - seen[0].y
        if max(abs(dx), abs(dy)) < 3:
            return "still"
        return ("left" if dx < 0 else "right") if abs(dx) > abs(dy) else ("up" if dy < 0 else "down")

    def first_seen(self, color: str) -> float:
        return min(self.times[i] for i in range(len(self.times)) if self.blob(i, color))

    def event(self, t0: float, t1: float) -> tuple[str, str, str | None]:
        """The one event in a span: ``(kind, colour, direction)``."""
        ins = self.frames_in(t0, t1)
        before, after = self.present(ins[0]), self.present(ins[-1])
        if after - before:
            return "appear", (after - before).pop(), None
        if before - after:
            return "disappear", (before - after).pop(), None
        moving = [(c, d) for c in sorted(before) if (d := self.motion(c, t0, t1)) != "still"]
        assert len(moving) == 1, f"expected one moving colour in [{t0}, {t1}], saw {moving}"
        return "move", *moving[0]

    def describe(self, t0: float, t1: float) -> str:
        """The canonical phrase of the event in a span."""
        kind, color, direction = self.event(t0, t1)
        name = f"{color} {self.shape_of(color)}"
        if kind == "move":
            return f"the {name} moves {'to the ' + direction if direction in ('left', 'right') else direction}"
        return f"a {name} appears" if kind == "appear" else f"the {name} disappears"
