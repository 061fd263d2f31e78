"""The world model of a video: shapes that appear, move and disappear, one event per step.

A video of ``seconds`` is cut into ``n`` equal steps (the spans used as ``ts``); each step holds one
event. An ``appear`` or ``disappear`` happens at the middle of its step; a ``move`` slides the
object linearly through the middle 70 % of its step. Every object in a video has its own colour, so
a colour names one object, and visible objects never touch. The subtitles are a character's remarks
(style ``tv``) or an instructor's narration (style ``howto``) plus a few facts said only in the
subtitles (who owns an object; what the instructor calls it), as in TVQA/How2QA.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import ffmpeg
import numpy as np

from vlpeft.io import atomic_path

from .render import render_array
from .scene import COLORS, NUMBER_WORDS, SHAPES, boxes_clear
from .text import DIRECTIONS, NAMES, ROLES, noun

STYLES = ("tv", "howto")
STEP_WEIGHTS = {"appear": 0.3, "move": 0.55, "disappear": 0.15}
MAX_VISIBLE = 3
DIR_VEC = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
# Fixed encoder settings: with one thread and bit-exact flags x264/ffmpeg give the same bytes every run.
X264 = {"vcodec": "libx264", "preset": "medium", "crf": 18, "g": 16, "bf": 2, "pix_fmt": "yuv420p"}


@dataclass(frozen=True)
class VObj:
    color: str
    shape: str
    r: int

    @property
    def name(self) -> str:
        return f"{self.color} {self.shape}"


@dataclass(frozen=True)
class Event:
    kind: str  # "appear" | "move" | "disappear"
    obj: int  # index into Video.objects
    start: float  # the step's span, seconds
    end: float
    direction: str | None = None  # move only
    src: tuple[int, int] | None = None  # position before (move) or at (appear)
    dst: tuple[int, int] | None = None  # position after a move

    @property
    def mid(self) -> float:
        return (self.start + self.end) / 2

    @property
    def motion(self) -> tuple[float, float]:
        """The time window of a move inside its step."""
        pad = 0.15 * (self.end - self.start)
        return self.start + pad, self.end - pad


@dataclass(frozen=True)
class Video:
    size: int
    fps: int
    seconds: float
    style: str
    objects: tuple[VObj, ...]
    events: tuple[Event, ...]
    subtitles: tuple[dict, ...] = ()
    facts: tuple[tuple[int, str, int], ...] = ()  # (object, name or role, subtitle index)

    @property
    def num_frames(self) -> int:
        return max(1, round(self.seconds * self.fps))

    def appear_time(self, i: int) -> float:
        return next(e.mid for e in self.events if e.obj == i and e.kind == "appear")

    def visible(self, t: float) -> list[tuple[str, str, int, int, int]]:
        """The ``(color, shape, x, y, r)`` of every object visible at time ``t``."""
        out = []
        for i, o in enumerate(self.objects):
            evs = [e for e in self.events if e.obj == i]
            gone = [e.mid for e in evs if e.kind == "disappear"]
            if t < self.appear_time(i) or (gone and t >= gone[0]):
                continue
            assert evs[0].src is not None, "an object's first event places it"
            x, y = evs[0].src
            for e in evs:
                if e.kind != "move" or t < e.motion[0]:
                    continue
                frac = min(1.0, (t - e.motion[0]) / (e.motion[1] - e.motion[0]))
                assert e.src is not None and e.dst is not None, "a move has both ends"
                x = round(e.src[0] + frac * (e.dst[0] - e.src[0]))
                y = round(e.src[1] + frac * (e.dst[1] - e.src[1]))
            out.append((o.color, o.shape, x, y, o.r))
        return out

    def frames(self) -> np.ndarray:
        """All frames, ``(T, H, W, 3)`` uint8; frame ``i`` shows time ``i / fps``."""
        return np.stack([render_array(self.size, self.visible(i / self.fps)) for i in range(self.num_frames)])

    def to_json(self) -> dict:
        return {
            "size": self.size,
            "fps": self.fps,
            "seconds": self.seconds,
            "style": self.style,
            "objects": [{"color": o.color, "shape": o.shape, "r": o.r} for o in self.objects],
            "events": [
                {
                    "kind": e.kind,
                    "obj": e.obj,
                    "start": e.start,
                    "end": e.end,
                    "direction": e.direction,
                    "src": e.src,
                    "dst": e.dst,
                }
                for e in self.events
            ],
        }


class _Builder:
    """Samples the events of one video step by step, keeping visible objects apart."""

    def __init__(self, rng: random.Random, size: int) -> None:
        self.rng, self.size = rng, size
        self.colors = rng.sample(sorted(COLORS), len(COLORS))  # colours still unused
        self.objects: list[VObj] = []
        self.pos: dict[int, tuple[int, int]] = {}  # visible object -> centre
        self.events: list[Event] = []

    def _clear(self, x: float, y: float, r: int, skip: int | None = None) -> bool:
        lo, hi = r + 2, self.size - r - 3
        return (
            lo <= x <= hi
            and lo <= y <= hi
            and all(boxes_clear((x, y, r), (*p, self.objects[j].r)) for j, p in self.pos.items() if j != skip)
        )

    def appear(self, start: float, end: float) -> Event | None:
        if len(self.pos) >= MAX_VISIBLE or not self.colors:
            return None
        r = self.rng.randint(max(4, round(self.size * 0.07)), max(5, round(self.size * 0.1)))
        for _ in range(100):
            x, y = self.rng.randint(r + 2, self.size - r - 3), self.rng.randint(r + 2, self.size - r - 3)
            if self._clear(x, y, r):
                self.objects.append(VObj(self.colors.pop(), self.rng.choice(SHAPES), r))
                i = len(self.objects) - 1
                self.pos[i] = (x, y)
                return Event("appear", i, start, end, src=(x, y))
        return None

    def move(self, start: float, end: float) -> Event | None:
        options = [(i, d) for i in sorted(self.pos) for d in DIRECTIONS]
        self.rng.shuffle(options)
        for i, d in options:
            (x, y), r = self.pos[i], self.objects[i].r
            dist = self.rng.randint(round(self.size * 0.25), round(self.size * 0.35))
            dx, dy = DIR_VEC[d]
            path = [(x + dx * s, y + dy * s) for s in range(0, dist + 1, 2)] + [(x + dx * dist, y + dy * dist)]
            if all(self._clear(px, py, r, skip=i) for px, py in path):
                self.pos[i] = path[-1]
                return Event("move", i, start, end, d, src=(x, y), dst=path[-1])
        return None

    def disappear(self, start: float, end: float) -> Event | None:
        if len(self.pos) < 2:
            return None
        i = self.rng.choice(sorted(self.pos))
        del self.pos[i]
        return Event("disappear", i, start, end)


def _sample_events(rng: random.Random, size: int, seconds: float, n_steps: int) -> _Builder | None:
    b = _Builder(rng, size)
    step = seconds / n_steps
    for k in range(n_steps):
        start, end = round(k * step, 2), round((k + 1) * step, 2)
        kinds = ["appear"] if k == 0 else rng.choices(list(STEP_WEIGHTS), list(STEP_WEIGHTS.values()))
        kinds += [kd for kd in STEP_WEIGHTS if kd not in kinds and k > 0]  # fall-backs
        event = next((ev for kd in kinds if (ev := getattr(b, kd)(start, end)) is not None), None)
        if event is None:
            return None
        b.events.append(event)
    kinds = [e.kind for e in b.events]
    return b if kinds.count("appear") >= 2 and "move" in kinds else None


def sample_video(
    rng: random.Random, style: str, size: int, fps: int, seconds: float, min_steps: int, max_steps: int
) -> Video:
    """A random video: at least two objects appear, at least one moves."""
    for _ in range(200):
        b = _sample_events(rng, size, seconds, rng.randint(min_steps, max_steps))
        if b is not None:
            subs, facts = _subtitles(rng, style, b.objects, b.events)
            return Video(size, fps, seconds, style, tuple(b.objects), tuple(b.events), subs, facts)
    raise ValueError(
        f"cannot sample a video of size {size} with {min_steps}-{max_steps} steps; "
        "raise video_size or lower the step counts"
    )


# Subtitle lines per event kind; {s} = the bare shape word (the colour is left to the eyes).
TV_LINES = {
    "appear": ("something new is here", "look a {s}", "what is that", "here it comes"),
    "move": ("it is moving", "look at the {s} go", "watch this", "there it goes"),
    "disappear": ("where did it go", "the {s} is gone", "did you see that", "it went away"),
}
HOWTO_LINES = {
    "appear": ("we add a {s}", "we put a {s} on the board"),
    "move": ("we move the {s}", "we slide the {s}"),
    "disappear": ("we remove the {s}", "we take the {s} away"),
}


def _line(start: float, end: float, text: str) -> dict:
    return {"start": round(start, 2), "end": round(end, 2), "text": text}


def _subtitles(
    rng: random.Random, style: str, objects: list[VObj], events: list[Event]
) -> tuple[tuple[dict, ...], tuple[tuple[int, str, int], ...]]:
    """One line per step (first half of the step) and up to two subtitle-only facts (second half)."""
    lines, facts = [], []
    speakers = rng.sample(NAMES, 3)
    for k, e in enumerate(events):
        shape = objects[e.obj].shape
        if style == "tv":
            text = f"{rng.choice(speakers)} : " + rng.choice(TV_LINES[e.kind]).format(s=shape)
        else:
            text = f"in step {NUMBER_WORDS[k + 1]} " + rng.choice(HOWTO_LINES[e.kind]).format(s=shape)
        lines.append(_line(e.start + 0.05, e.mid - 0.05, text))
    words = rng.sample(NAMES if style == "tv" else ROLES, 2)
    steps = rng.sample(range(len(events)), 2)
    for obj, word, k in zip(rng.sample(range(len(objects)), 2), words, steps):
        c, s = objects[obj].color, objects[obj].shape
        # tv: the owner says so; howto: the instructor names the object
        text = f"{word} : {noun(c, s)} is mine" if style == "tv" else f"we call {noun(c, s)} the {word}"
        e = events[k]
        lines.append(_line(e.mid + 0.05, e.end - 0.05, text))
        facts.append((obj, word, len(lines) - 1))
    order = sorted(range(len(lines)), key=lambda j: (lines[j]["start"], j))
    remap = {old: new for new, old in enumerate(order)}
    return tuple(lines[j] for j in order), tuple((o, w, remap[j]) for o, w, j in facts)


def encode_mp4(frames: np.ndarray, path: str | os.PathLike, fps: int) -> None:
    """Encode ``(T, H, W, 3)`` uint8 RGB frames as H.264 MP4, atomically and bit-exactly."""
    t, h, w, _ = frames.shape
    with atomic_path(path, suffix=".mp4") as tmp:
        stream = ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{w}x{h}", framerate=fps)
        stream = stream.output(
            str(tmp),
            format="mp4",
            threads=1,
            map_metadata=-1,
            r=fps,
            fflags="+bitexact",
            **{"flags:v": "+bitexact"},
            **X264,
        )
        try:
            stream.global_args("-nostdin", "-loglevel", "error").run(
                input=np.ascontiguousarray(frames, dtype=np.uint8).tobytes(), capture_stdout=True, capture_stderr=True
            )
        except ffmpeg.Error as e:
            raise RuntimeError(f"ffmpeg failed to encode {path}: {e.stderr.decode(errors='replace')}") from None
