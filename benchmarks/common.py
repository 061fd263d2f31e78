"""Shared helpers of the benchmarks: the run context, the machine description, interleaved paired
timing with medians, and the result records (see benchmarks/README.md for the conventions)."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Context:
    """What every benchmark receives: a scratch folder, the size and repeat settings, the device."""

    workdir: Path  # scratch inputs and outputs (videos, images, HDF5 files, checkpoints)
    quick: bool = False  # tiny sizes, for the smoke test
    full: bool = False  # also the long measurements (the whole demo pipeline)
    repeats: int = 3  # paired repetitions; medians are reported
    device: str = "cpu"
    progress: bool = True

    def scratch(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def detect_device() -> str:
    """``cuda`` when torch sees a GPU, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or what platform knows elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(device: str) -> dict[str, Any]:
    """The machine a measurement ran on: cores usable by this process, CPU model, GPU (or None),
    and the 1-minute load average when the benchmark started (the machine may be shared)."""
    gpu = None
    if device.startswith("cuda"):
        import torch

        gpu = torch.cuda.get_device_name(torch.device(device))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cores": cores, "cpu": cpu_model(), "gpu": gpu, "load_avg_1min": load}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(wall seconds, result) of ``fn()``."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def interleaved_runs(
    fns: dict[str, Callable[[], Any]], repeats: int, label: str = ""
) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Wall seconds of ``repeats`` runs of each function, interleaved and rotating which goes first,
    so that all see the same (shared, noisy) machine; returns (seconds per function name, the last
    value each function returned)."""
    names = list(fns)
    seconds: dict[str, list[float]] = {n: [] for n in names}
    results: dict[str, Any] = {}
    for r in range(repeats):
        for n in names[r % len(names) :] + names[: r % len(names)]:
            s, results[n] = timed(fns[n])
            seconds[n].append(s)
        if label:
            print(
                f"  {label} repeat {r + 1}/{repeats}: " + ", ".join(f"{n} {seconds[n][-1]:.2f} s" for n in names),
                flush=True,
            )
    return seconds, results


def paired_ratio(ours_s: list[float], base_s: list[float], ours_items: float = 1, base_items: float = 1) -> float:
    """Median over repeats of our rate / the baseline's rate (each pair ran back to back); with
    equal item counts this is baseline time / our time."""
    return statistics.median((ours_items / o) / (base_items / b) for o, b in zip(ours_s, base_s))


def measurement(
    name: str,
    ours: float | None,
    baseline: float | None,
    unit: str,
    ratio: float | None,
    goal: float | None,
    machine: dict[str, Any],
    **details: Any,
) -> dict[str, Any]:
    """One result record: ``ratio`` is higher-is-better for us, ``goal`` the ratio aimed at (or None);
    ``details`` (what was compared, sizes, per-repeat samples) are kept under their own keys."""

    def rnd(x: float | None) -> float | None:
        return None if x is None else float(f"{x:.4g}")

    return {
        "name": name,
        "ours": rnd(ours),
        "baseline": rnd(baseline),
        "unit": unit,
        "ratio": rnd(ratio),
        "goal": rnd(goal),
        "machine": machine,
        **details,
    }


def rate_measurement(
    name: str,
    items: tuple[int, int],
    ours_s: list[float],
    base_s: list[float],
    unit: str,
    goal: float | None,
    machine: dict[str, Any],
    **details: Any,
) -> dict[str, Any]:
    """A throughput record from paired wall times: ``items`` = (our item count, the baseline's)
    per run; ``ours``/``baseline`` are items per median second, ``ratio`` the median paired ratio."""
    n_ours, n_base = items
    return measurement(
        name,
        n_ours / statistics.median(ours_s),
        n_base / statistics.median(base_s),
        unit,
        paired_ratio(ours_s, base_s, n_ours, n_base),
        goal,
        machine,
        repeats=len(ours_s),
        ours_seconds=[round(s, 3) for s in ours_s],
        baseline_seconds=[round(s, 3) for s in base_s],
        **details,
    )


def run_quiet(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    """Run ``cmd``; on failure raise RuntimeError with the tail of its output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{tail}")
    return proc
