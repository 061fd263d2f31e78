"""The world model of a still image: a few coloured shapes on a plain background.

An object is an axis-aligned box of half-size ``r`` centred at integer pixel ``(x, y)``: a filled
circle, square or triangle inscribed in that box. Objects never touch (a gap of ``GAP`` pixels
between boxes), so each one is a separate blob of one exact colour in the rendered PNG. The
``(colour, shape)`` pair of every object is unique within a scene, so "the red circle" always
names one object. Spatial words are defined on box centres with a margin (``rel_margin``): a
relation closer than the margin is ambiguous and no question is asked about it.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import asdict, dataclass

# The palette (RGB) and the vocabulary of the demo world; keep it small: a tokenizer is trained on it.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 90, 230),
    "yellow": (240, 210, 40),
    "purple": (150, 60, 190),
    "white": (245, 245, 245),
}
BACKGROUND = (70, 70, 70)  # "gray"
SHAPES = ("circle", "square", "triangle")
PLURAL = {"circle": "circles", "square": "squares", "triangle": "triangles"}
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight")
GAP = 4  # pixels between two object boxes


def sub_rng(seed: int, *names: object) -> random.Random:
    """A random stream named by ``(seed, *names)``: independent of every other stream and of counts."""
    key = "/".join(str(n) for n in (seed, *names)).encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


@dataclass(frozen=True)
class Obj:
    color: str
    shape: str
    x: int
    y: int
    r: int

    @property
    def name(self) -> str:
        return f"{self.color} {self.shape}"

    def to_json(self) -> dict:
        return asdict(self)


def boxes_clear(a: tuple[float, float, int], b: tuple[float, float, int], gap: int = GAP) -> bool:
    """True if two boxes ``(x, y, r)`` are at least ``gap`` pixels apart along some axis."""
    reach = a[2] + b[2] + gap
    return abs(a[0] - b[0]) > reach or abs(a[1] - b[1]) > reach


@dataclass(frozen=True)
class Scene:
    size: int
    objects: tuple[Obj, ...]

    @property
    def rel_margin(self) -> float:
        return self.size * 0.08

    def find(self, color: str | None = None, shape: str | None = None) -> list[Obj]:
        return [o for o in self.objects if (color is None or o.color == color) and (shape is None or o.shape == shape)]

    def side(self, o: Obj) -> str | None:
        """``left``/``right``/``top``/``bottom`` when the object is clearly off-centre along one axis."""
        dx, dy = o.x - self.size / 2, o.y - self.size / 2
        m = self.size * 0.15
        if abs(dx) > m and abs(dx) > abs(dy) + self.rel_margin:
            return "left" if dx < 0 else "right"
        if abs(dy) > m and abs(dy) > abs(dx) + self.rel_margin:
            return "top" if dy < 0 else "bottom"
        return None

    def to_json(self) -> dict:
        return {"size": self.size, "objects": [o.to_json() for o in self.objects]}


# Relations between two objects: the phrase used in questions and the test on centres.
RELATIONS = ("to the left of", "to the right of", "above", "below")


def relation(a: Obj, b: Obj, rel: str, margin: float) -> bool | None:
    """Is ``a`` <rel> ``b``? True/False when clear by ``margin`` pixels, None when ambiguous."""
    axis_delta = {"to the left of": b.x - a.x, "to the right of": a.x - b.x, "above": b.y - a.y, "below": a.y - b.y}[
        rel
    ]
    if axis_delta > margin:
        return True
    if axis_delta < -margin:
        return False
    return None


def sample_scene(rng: random.Random, size: int, min_objects: int, max_objects: int) -> Scene:
    """Place ``min..max`` non-touching objects with unique (colour, shape) at random."""
    n = rng.randint(min_objects, max_objects)
    lo_r, hi_r = max(4, round(size * 0.08)), max(5, round(size * 0.14))  # v2: larger (v1: 0.06-0.11)
    kinds = [(c, s) for c in COLORS for s in SHAPES]
    objs: list[Obj] = []
    for color, shape in rng.sample(kinds, n):
        for _ in range(200):  # rejection sampling of a free spot
            r = rng.randint(lo_r, hi_r)
            x, y = rng.randint(r + 2, size - r - 3), rng.randint(r + 2, size - r - 3)
            if all(boxes_clear((x, y, r), (o.x, o.y, o.r)) for o in objs):
                objs.append(Obj(color, shape, x, y, r))
                break
    if len(objs) < min_objects:
        raise ValueError(f"image_size {size} is too small to place {min_objects} objects")
    return Scene(size, tuple(objs))
