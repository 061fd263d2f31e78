"""The language of the demo world: noun phrases, event phrases and their paraphrases, captions.

All text is lower case with a small, fixed vocabulary (a tokenizer is trained on it later).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

from .scene import NUMBER_WORDS, PLURAL, RELATIONS, Scene, relation

DIRECTIONS = ("left", "right", "up", "down")
DIR_PHRASE = {"left": "to the left", "right": "to the right", "up": "up", "down": "down"}
NAMES = ("ann", "bob", "joe", "kim", "sam", "tom")  # tv characters
ROLES = ("lid", "base", "handle", "wheel", "door")  # what the instructor calls an object


def noun(color: str, shape: str, article: str = "the") -> str:
    return f"{article} {color} {shape}"


def count_noun(n: int, shape: str) -> str:
    """``one circle``, ``three squares``."""
    return f"{NUMBER_WORDS[n]} {shape if n == 1 else PLURAL[shape]}"


def join_list(items: Sequence[str]) -> str:
    """``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# Event phrases. The first template of each kind is the canonical phrase used in multiple-choice
# answers; the others are paraphrases for caption references. {n}=the noun, {a}=with article "a",
# {d}=direction phrase ("to the left", "up"), {w}=bare direction word ("left", "up").
EVENT_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "tv": {
        "appear": ("{a} appears", "{a} shows up", "a new {cs} appears", "{a} comes in", "we see {a} appear"),
        "move": ("{n} moves {d}", "{n} slides {w}", "{n} goes {d}", "{n} is moving {w}", "we see {n} move {w}"),
        "disappear": ("{n} disappears", "{n} vanishes", "{n} goes away", "{n} is gone", "we see {n} disappear"),
    },
    "howto": {
        "appear": ("add {a}", "put {a} on the board", "{a} is added", "place {a} on the board", "we add {a}"),
        "move": ("move {n} {d}", "slide {n} {w}", "{n} is moved {d}", "push {n} {w}", "we move {n} {d}"),
        "disappear": ("remove {n}", "take {n} away", "{n} is removed", "take away {n}", "we remove {n}"),
    },
}


def event_text(
    kind: str, color: str, shape: str, direction: str | None = None, style: str = "tv", template: int = 0
) -> str:
    """One phrase for an event; ``template=0`` is the canonical one."""
    fmt = EVENT_TEMPLATES[style][kind][template]
    return fmt.format(
        n=noun(color, shape),
        a=noun(color, shape, "a"),
        cs=f"{color} {shape}",
        d=DIR_PHRASE.get(direction or "", ""),
        w=direction or "",
    )


def event_paraphrases(
    kind: str, color: str, shape: str, direction: str | None, style: str, n: int, rng: random.Random
) -> list[str]:
    """``n`` distinct phrases of one event (canonical one first, then random paraphrases)."""
    count = len(EVENT_TEMPLATES[style][kind])
    picks = [0] + rng.sample(range(1, count), min(n, count) - 1)
    return [event_text(kind, color, shape, direction, style, t) for t in picks]


def sequence_captions(
    events: Sequence[tuple[str, str, str, str | None]], style: str, n: int, rng: random.Random
) -> list[str]:
    """Up to ``n`` distinct descriptions of a sequence of ``(kind, color, shape, direction)`` events:
    first the canonical phrases joined by ", then", then mixes of paraphrases and joiners."""
    out = [", then ".join(event_text(*e, style=style) for e in events)]
    for _ in range(20 * n):
        if len(out) >= n:
            break
        phrases = [
            event_text(*e, style=style, template=rng.randrange(len(EVENT_TEMPLATES[style][e[0]]))) for e in events
        ]
        text = rng.choice((", then ", " and then ", " then ")).join(phrases)
        if len(events) > 1 and rng.random() < 0.3:
            text = "first " + text
        if text not in out:
            out.append(text)
    return out


JOINERS = (" and ", " with ", " plus ")


def image_captions(scene: Scene, n: int, rng: random.Random) -> list[str]:
    """``n`` distinct COCO-like captions that name every drawn object (or a clear relation).

    Version 2: no filler ("a picture of", "on a gray background", "two shapes on ..."): with a
    vocabulary this small, shared filler let one constant caption score CIDEr 117 on every image."""
    objs = list(scene.objects)

    names = [noun(o.color, o.shape, "a") for o in objs]
    cands = [
        ", ".join(order[:-1]) + joiner + order[-1] if len(order) > 1 else order[0]
        for order in itertools.permutations(names)
        for joiner in JOINERS
    ]
    cands = rng.sample(cands, len(cands))
    for a in objs:  # relational captions, for pairs whose relation is clear
        for b in objs:
            rel = rng.choice(RELATIONS)
            if a is not b and relation(a, b, rel, scene.rel_margin):
                rest = len(objs) - 2
                tail = f" and {NUMBER_WORDS[rest]} other {'shape' if rest == 1 else 'shapes'}" if rest else ""
                cands.append(f"{noun(a.color, a.shape, 'a')} {rel} {noun(b.color, b.shape, 'a')}{tail}")
    cands = list(dict.fromkeys(cands))  # distinct, in a deterministic order
    listings = [c for c in cands if all(o.name in c for o in objs)]
    # Mostly full listings; at most a third of the references are relational.
    others = [c for c in cands if c not in listings]
    k_other = min(n // 3, len(others))
    picked = rng.sample(others, k_other) + rng.sample(listings, min(n - k_other, len(listings)))
    if len(picked) < n:
        raise ValueError(f"cannot write {n} distinct captions for a scene of {len(objs)} objects")
    rng.shuffle(picked)
    return picked
