"""Pipeline overhead: wall time of building a scratch copy of workflow/ + config/ with Snakemake
(config/test.yaml by default; the embedded demo default too with --full), and of the no-op rerun
that follows (goal: a few seconds, taken as 5 s; ratio = 5 s / our seconds).

If the whole chain fails (the workflow is still being finished), the build falls back to the
prefix that works, up to the feature files, and the record says so in ``scope``.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from common import ROOT, Context, machine_info, measurement, timed

NAME = "pipeline"
NOOP_BUDGET_S = 5.0  # "a few seconds"
PREFIX = ["data/{ds}/manifest.json", "features/{ds}/image.h5", "features/{ds}/video.h5"]


def scratch_copy(ctx: Context, name: str) -> Path:
    """A fresh folder holding copies of workflow/ and config/ (as tests/workflow/test_e2e.py does)."""
    work = ctx.workdir / "pipeline" / name
    shutil.rmtree(work, ignore_errors=True)
    for folder in ("workflow", "config"):
        shutil.copytree(ROOT / folder, work / folder)
    return work


def snakemake(work: Path, configfile: str | None, targets: list[str]) -> subprocess.CompletedProcess:
    # targets before the options: --configfile takes several values
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        *targets,
        "--cores",
        "all",
        *(["--configfile", configfile] if configfile else []),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONHASHSEED": "0", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)


def job_count(output: str) -> int | None:
    """Jobs Snakemake ran, from its "Job stats" table (the ``total`` row)."""
    found = re.findall(r"^total\s+(\d+)", output, flags=re.MULTILINE)
    return int(found[-1]) if found else None


def build(
    ctx: Context, name: str, configfile: str | None, dataset: str, targets: list[str] | None = None
) -> tuple[Path, float, list[str], str]:
    """Build from scratch; on failure of the whole chain, the prefix up to the features instead.
    Returns (folder, seconds, targets built, scope)."""
    targets = targets if targets is not None else []
    work = scratch_copy(ctx, name)
    print(f"  pipeline {name}: snakemake {' '.join(targets) or '(all)'} ...", flush=True)
    seconds, proc = timed(lambda: snakemake(work, configfile, targets))
    scope = "whole workflow" if not targets else "prefix: " + ", ".join(targets)
    if proc.returncode != 0 and not targets:
        reason = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        print(f"  the whole workflow failed ({' | '.join(reason)}); timing the prefix up to the features", flush=True)
        return build(ctx, name, configfile, dataset, [t.format(ds=dataset) for t in PREFIX])
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake failed in {work}:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return work, seconds, targets, f"{scope} ({job_count(proc.stdout + proc.stderr)} jobs)"


def noop_reruns(work: Path, configfile: str | None, targets: list[str], repeats: int) -> list[float]:
    """Seconds of ``repeats`` reruns that must find nothing to do."""
    seconds = []
    for _ in range(repeats):
        s, proc = timed(lambda: snakemake(work, configfile, targets))
        out = proc.stdout + proc.stderr
        if proc.returncode != 0 or "Nothing to be done" not in out:
            raise RuntimeError(f"the rerun in {work} was not a no-op:\n{out[-3000:]}")
        seconds.append(s)
    return seconds


def run(ctx: Context) -> list[dict]:
    """Build time (absolute, ratio None) and no-op rerun time (vs the 5 s budget) per configuration."""
    machine = machine_info("cpu")
    configs = [("test", "config/test.yaml", "test", ["data/test/manifest.json"] if ctx.quick else None)]
    if ctx.full:
        configs.append(("demo", None, "demo", None))
    records = []
    for name, configfile, dataset, targets in configs:
        work, build_s, targets, scope = build(ctx, name, configfile, dataset, targets)
        noop = noop_reruns(work, configfile, targets, ctx.repeats)
        label = configfile or "embedded default (config/config.yaml)"
        records.append(
            measurement(
                f"pipeline_{name}_build",
                build_s,
                None,
                "s",
                None,
                None,
                machine,
                scope=scope,
                what=f"snakemake --cores all on {label} from scratch (absolute time: no baseline)",
            )
        )
        records.append(
            measurement(
                f"pipeline_{name}_noop_rerun",
                statistics.median(noop),
                NOOP_BUDGET_S,
                "s",
                NOOP_BUDGET_S / statistics.median(noop),
                1.0,
                machine,
                scope=scope,
                repeats=len(noop),
                ours_seconds=[round(s, 3) for s in noop],
                what=f"snakemake --cores all rerun on {label} with nothing to do; baseline = the 5 s budget "
                f"('a few seconds'), ratio = 5 s / ours",
            )
        )
        shutil.rmtree(work, ignore_errors=True)
    return records
