"""Drawing examples evenly over question types and over a pool of images or videos."""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

Item = TypeVar("Item")
Maker = TypeVar("Maker")


def draw_balanced(
    n: int, pool: Sequence[Item], makers: Sequence[Maker], rng: random.Random, make: Callable[[Maker, Item], Any]
) -> list[Any]:
    """Up to ``n`` results: the i-th uses ``makers[i % len(makers)]`` on the next pool item (the pool
    shuffled, visited round-robin) for which ``make`` returns a result (not None); a maker that fails on every
    item (three tries each) is dropped."""
    order = rng.sample(list(pool), len(pool))
    makers, cursor = list(makers), 0
    out: list[Any] = []
    while len(out) < n and makers and order:
        maker = makers[len(out) % len(makers)]
        for step in range(3 * len(order)):
            result = make(maker, order[(cursor + step) % len(order)])
            if result is not None:
                out.append(result)
                cursor += step + 1
                break
        else:
            makers.remove(maker)
    return out


def check_count(task: str, split: str, rows: list[dict], n: int) -> list[dict]:
    """Warn when fewer rows than asked could be made (too few distinct questions in the pool)."""
    if len(rows) < n:
        warnings.warn(
            f"demo {task}/{split}: only {len(rows)} of {n} examples could be made "
            "(raise the image or video counts of this split)",
            stacklevel=2,
        )
    return rows
