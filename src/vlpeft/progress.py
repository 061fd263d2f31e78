"""Progress that reads well both on a terminal and in a log file.

``progress_bar`` takes the tqdm arguments the pipeline uses (an iterable or ``total``, ``desc``,
``unit``, ``initial``, ``disable``) and returns

- a tqdm bar when the stream is a terminal (carriage-return updates, as usual);
- otherwise a ``LogProgress``: one plain line every ``every`` seconds (default 30, or the
  ``VLPEFT_PROGRESS_EVERY`` environment variable) with step, rate and ETA, and one final line, so a
  log file holds a few short lines instead of thousands of carriage-return updates.

``train_summary`` is the headline a finished ``vlpeft train`` prints (issue 14).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol, Self, TextIO

DEFAULT_EVERY = 30.0
EVERY_ENV = "VLPEFT_PROGRESS_EVERY"


def format_duration(seconds: float) -> str:
    """``3725`` -> ``1:02:05``; ``65`` -> ``1:05``."""
    seconds = max(0, round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _every_from_env() -> float:
    raw = os.environ.get(EVERY_ENV)
    if raw is None:
        return DEFAULT_EVERY
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{EVERY_ENV}: expected seconds (a number), got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{EVERY_ENV}: expected seconds >= 0, got {raw!r}")
    return value


class LogProgress:
    """tqdm's small interface (``update``, ``set_postfix``, ``close``, iteration, ``with``) writing a
    line such as ``train lora_single: 120/240 step (50%), 3.1 step/s, ETA 0:39, loss=0.81``
    at most every ``every`` seconds, and a last line when closed."""

    def __init__(
        self,
        iterable: Iterable[Any] | None = None,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
        initial: int = 0,
        every: float | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.n = self.initial = int(initial)
        self.every = _every_from_env() if every is None else float(every)
        self.stream, self.clock = stream, clock
        self.postfix: dict[str, Any] = {}
        self.start = self.last = clock()
        self.closed = False

    # -- tqdm's interface ----------------------------------------------------------------------
    def update(self, n: int = 1) -> None:
        self.n += n
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            self._write(self.line(now))

    def set_postfix(self, ordered_dict: dict[str, Any] | None = None, refresh: bool = True, **kwargs: Any) -> None:
        self.postfix = {**(ordered_dict or {}), **kwargs}

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        now = self.clock()
        self._write(self.line(now, final=True))

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("LogProgress: nothing to iterate (no iterable given)")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the line ------------------------------------------------------------------------------
    def line(self, now: float, final: bool = False) -> str:
        elapsed = now - self.start
        done = self.n - self.initial
        rate = done / elapsed if elapsed > 0 else 0.0
        head = f"{self.desc}: " if self.desc else ""
        count = f"{self.n}/{self.total}" if self.total is not None else f"{self.n}"
        parts = [f"{head}{count} {self.unit}"]
        if self.total:
            parts[0] += f" ({100.0 * self.n / self.total:.0f}%)"
        parts.append(f"{rate:.3g} {self.unit}/s")
        if final:
            parts.append(f"done in {format_duration(elapsed)}")
        elif self.total is not None and rate > 0:
            parts.append(f"ETA {format_duration((self.total - self.n) / rate)}")
        if self.postfix:
            parts.append(", ".join(f"{k}={v}" for k, v in self.postfix.items()))
        return ", ".join(parts)

    def _write(self, text: str) -> None:
        stream = self.stream if self.stream is not None else sys.stderr
        stream.write(text + "\n")
        stream.flush()


class _Silent:
    """A disabled bar: iterates, counts, prints nothing."""

    def __init__(self, iterable: Iterable[Any] | None = None, initial: int = 0):
        self.iterable, self.n = iterable, initial

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        return iter(self.iterable if self.iterable is not None else ())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class ProgressBar(Protocol):
    """What every bar ``progress_bar`` returns offers (tqdm's, ``LogProgress``, the silent one)."""

    def update(self, n: int = 1) -> object: ...


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def progress_bar(
    iterable: Iterable[Any] | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    initial: int = 0,
    disable: bool = False,
    every: float | None = None,
    stream: TextIO | None = None,
    **tqdm_kwargs: Any,
) -> Any:
    """A tqdm bar on a terminal, a ``LogProgress`` elsewhere, a silent counter when ``disable``.

    A drop-in for the ``tqdm(...)`` calls of the pipeline (``from vlpeft.progress import
    progress_bar as tqdm``); extra tqdm arguments (``dynamic_ncols``, ...) go to tqdm only."""
    if disable:
        return _Silent(iterable, initial)
    stream = stream if stream is not None else sys.stderr
    if is_terminal(stream):
        from tqdm import tqdm

        return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial, file=stream, **tqdm_kwargs)
    return LogProgress(iterable, total=total, desc=desc, unit=unit, initial=initial, every=every, stream=stream)


def quiet_library_bars(stream: TextIO | None = None) -> None:
    """Off a terminal, turn off the Hugging Face libraries' own tqdm bars (``Loading weights``, ...),
    which would write carriage-return updates into the log."""
    if is_terminal(stream if stream is not None else sys.stderr):
        return
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"  # read when huggingface_hub is first imported
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()


def train_summary(run_dir: str | Path, log_name: str = "train_log.jsonl") -> str:
    """The headline of a finished training run, from its ``train_log.jsonl``: steps, epochs, the mean
    training loss of the last epoch per task, and the last validation loss per task (if any)."""
    path = Path(run_dir) / log_name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: training log not found")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    train = [r for r in rows if "step" in r]
    if not train:
        return f"{path.parent}: no training step logged"
    last_epoch = max(r["epoch"] for r in train)
    losses: dict[str, list[float]] = {}
    for r in train:
        if r["epoch"] == last_epoch:
            losses.setdefault(r["task"], []).append(float(r["loss"]))
    val = {r["task"]: float(r["loss"]) for r in rows if r.get("split") == "val"}
    steps = max(r["step"] for r in train)
    parts = [
        f"{steps} steps, {last_epoch + 1} epoch(s)",
        "train loss (last epoch) " + " ".join(f"{t} {sum(v) / len(v):.4f}" for t, v in sorted(losses.items())),
    ]
    if val:
        parts.append("val loss " + " ".join(f"{t} {v:.4f}" for t, v in sorted(val.items())))
    return "; ".join(parts)
