"""`vlpeft determinism`: build the pipeline twice from clean with `dvc repro` and compare the hashes
of every DVC-tracked output (data, frames, features, demo models, adapters, tables, metrics, plots).

Each build is a scratch project: a copy of the repository's workflow/, config/, src/ and dvc.yaml,
with a params.yaml that picks the chosen config (DVC's stages read it), its own git and DVC.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

COPIED = ("workflow", "config", "src")


def run_command(cmd: list[str], cwd: Path, timeout: int = 3600) -> str:
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed in {cwd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc.stdout + proc.stderr


def make_project(repo: str | Path, work: str | Path, config: str | Path) -> Path:
    """A scratch copy of the repository whose params.yaml picks ``config``, with git and DVC."""
    repo, work = Path(repo), Path(work)
    work.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.copytree(repo / name, work / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(repo / "dvc.yaml", work / "dvc.yaml")
    from vlpeft.workflow_config import DEFAULT_CONFIG, validated

    merged = validated([repo / DEFAULT_CONFIG] + ([repo / config] if str(config) != DEFAULT_CONFIG else []), root=repo)
    params = {"configfile": str(config), "dataset": merged["dataset"], "name": merged.get("name", merged["dataset"])}
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    dvc = str(Path(sys.executable).parent / "dvc")
    run_command(["git", "init", "-q"], work)
    run_command([dvc, "init", "-q"], work)
    run_command([dvc, "config", "core.analytics", "false"], work)
    return work


def repro(project: Path) -> str:
    return run_command([str(Path(sys.executable).parent / "dvc"), "repro"], project)


def tracked_hashes(project: str | Path) -> dict[str, str]:
    """sha256 of every file under every output, metric and plot of dvc.yaml (``path -> digest``)."""
    project = Path(project)
    stages = yaml.safe_load((project / "dvc.lock").read_text())["stages"]
    hashes = {}
    for stage in stages.values():
        for out in stage.get("outs", []):
            root = project / out["path"]
            files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
            for f in files:
                if f.name == ".snakemake_timestamp":  # Snakemake's marker of directory outputs
                    continue
                hashes[str(f.relative_to(project))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return hashes


def compare(a: dict[str, str], b: dict[str, str]) -> list[str]:
    """Paths that differ between two builds (missing on one side, or other bytes)."""
    return sorted(p for p in set(a) | set(b) if a.get(p) != b.get(p))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default="config/test.yaml", help="config to build (default config/test.yaml)")
    parser.add_argument("--repo", default=".", help="repository root (default .)")
    parser.add_argument("--work", help="scratch folder (default: a temporary folder, removed afterwards)")


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="vlpeft-determinism-", dir=args.work) as tmp:
        builds = []
        for i in (1, 2):
            project = make_project(args.repo, Path(tmp) / f"build{i}", args.config)
            print(f"build {i}: dvc repro in {project}", flush=True)
            repro(project)
            builds.append(tracked_hashes(project))
        differ = compare(*builds)
    print(f"{len(builds[0])} tracked files compared; {len(differ)} differ")
    for path in differ:
        print(f"  differs: {path}")
    return 1 if differ else 0
