"""profiles/slurm and profiles/default as Snakemake itself reads them (no cluster needed)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from snakemake.cli import get_argument_parser, parse_args

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ("profiles/slurm/config.yaml", "profiles/default/config.yaml")
# keys that would silently override the SLURM profile when profiles/default loads on top of it
CLUSTER_KEYS = {"executor", "jobs", "latency-wait", "default-resources", "set-resources"}


def _keys(profile: str) -> set[str]:
    """Top-level keys of a profile file (plain `key:` lines, as Snakemake profiles are written)."""
    text = (ROOT / profile).read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, flags=re.MULTILINE))


@pytest.fixture
def parsed(tmp_path, monkeypatch):
    """Parse a snakemake command line from a scratch copy of the repository's root."""
    for name in ("workflow", "config", "profiles"):
        shutil.copytree(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return lambda *argv: parse_args(list(argv))[1]


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_key_is_a_snakemake_or_plugin_option(profile):
    options = set(get_argument_parser()._option_string_actions)
    unknown = {key for key in _keys(profile) if f"--{key}" not in options}
    assert not unknown, f"{profile}: unknown options {sorted(unknown)}"


def test_default_profile_leaves_cluster_keys_to_the_slurm_profile():
    assert not _keys("profiles/default/config.yaml") & CLUSTER_KEYS


def test_set_resources_name_existing_rules():
    smk = "\n".join(p.read_text() for p in sorted((ROOT / "workflow/rules").glob("*.smk")))
    rules = set(re.findall(r"^\s*rule (\w+):", smk, flags=re.MULTILINE))  # also inside if/else
    text = (ROOT / "profiles/slurm/config.yaml").read_text()
    block = text.split("set-resources:", 1)[1].split("\n\n", 1)[0]
    named = set(re.findall(r"^  (\w+):", block, flags=re.MULTILINE))
    assert named and named <= rules, sorted(named - rules)


def test_slurm_profile_as_snakemake_reads_it(parsed):
    args = parsed("--profile", "profiles/slurm")
    assert args.executor == "slurm" and args.jobs >= 1 and args.latency_wait > 0
    assert args.slurm_status_command == "squeue"
    assert 3 * args.slurm_init_seconds_before_status_checks <= 300  # SLURM's default MinJobAge
    assert {"slurm_partition", "slurm_account", "runtime", "mem_mb"} <= set(args.default_resources)
    assert args.set_resources["evaluate"]["gpu"] == 1
    assert "gpu" not in args.set_resources["train"]  # the rule asks for train.gpus GPUs itself
    # profiles/default is loaded on top, as Snakemake's workflow profile
    assert args.rerun_incomplete and args.printshellcmds and not args.keep_going


def test_command_line_replaces_a_whole_profile_key(parsed):
    """What the SLURM test relies on: CPU overrides drop the placeholders and the GPU requests."""
    args = parsed(
        "--profile", "profiles/slurm", "--default-resources", "slurm_partition=debug", "--set-resources", "train:gpu=0"
    )
    assert "slurm_account" not in args.default_resources
    assert args.set_resources == {"train": {"gpu": 0}}
    assert args.slurm_status_command == "squeue"


def test_train_gpus_asks_slurm_for_that_many_gpus_and_runs_torchrun(parsed, tmp_path):
    """train.gpus: 2 on cuda -> the train jobs request gpu=2 under the SLURM profile (the plugin's
    --gpus=2) and run `vlpeft train` under torchrun with 2 processes; evaluate keeps one GPU."""
    (tmp_path / "config" / "gpus.yaml").write_text("train: {device: cuda, gpus: 2}\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "-p",
            "--profile",
            "profiles/slurm",
            "--configfile",
            "config/test.yaml",
            "config/gpus.yaml",
            "--workflow-profile",
            "none",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    jobs = out.split("\nrule ")[1:]
    train = [j for j in jobs if j.startswith("train:")]
    evaluate = [j for j in jobs if j.startswith("evaluate:")]
    assert len(train) == 5 and len(evaluate) == 5
    for job in train:
        assert re.search(r"resources: .*\bgpu=2\b", job), job
        assert '"$VLPEFT_PYTHON" -m torch.distributed.run --standalone --nproc-per-node 2 --no-python ' in job
        assert " -m vlpeft train " in job
    for job in evaluate:
        assert re.search(r"resources: .*\bgpu=1\b", job) and "torch.distributed" not in job, job
