"""The workflow on a real single-node SLURM cluster: profiles/slurm -> sbatch -> jobstep -> srun.

The cluster (munged, slurmctld, slurmd on loopback, no accounting) is started by start_slurm.sh in a
scratch folder and always stopped by PID file in the fixture's teardown. It needs root and the Debian
SLURM packages, which the test never installs (VLPEFT_SLURM=1 envs/setup.sh does, opt-in); without them
it skips with that reason. Set VLPEFT_SKIP_SLURM=1 to skip.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue")
TIMEOUT_S = int(os.environ.get("VLPEFT_SLURM_TIMEOUT", "1800"))  # whole workflow, then SIGINT
# what a CPU-only test cluster can satisfy; on the command line these replace the profile's keys
CPU_OVERRIDES = [
    "--default-resources",
    "slurm_partition=debug",
    "runtime=60",
    "mem_mb=1000",
    "--set-resources",
    "train:gpu=0",
    "evaluate:gpu=0",
    "--slurm-init-seconds-before-status-checks",
    "2",  # MinJobAge=300 >= 3 * 2
    "--slurm-keep-successful-logs",
]


def _skip_reason() -> str | None:
    """Why this machine cannot host the throw-away cluster, or None when it can."""
    if os.environ.get("VLPEFT_SKIP_SLURM") == "1":
        return "VLPEFT_SKIP_SLURM=1"
    if os.geteuid() != 0:
        return "starting munged/slurmctld/slurmd as SlurmUser=root needs root"
    missing = [b for b in BINARIES if not shutil.which(b)]
    if missing:
        return f"SLURM is not installed ({', '.join(missing)} missing): VLPEFT_SLURM=1 envs/setup.sh installs it"
    conf = Path("/etc/slurm/slurm.conf")
    if conf.exists() and not conf.is_symlink():
        return f"{conf} exists: a configured SLURM host, not a place for a throw-away cluster"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def slurm_env(tmp_path_factory):
    """Start the cluster; yield the environment its clients need; stop it by PID files."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("slurm")
    env = {**os.environ, "SLURM_BASE": str(base), "SLURMCTLD_PORT": str(_free_port()), "SLURMD_PORT": str(_free_port())}
    try:
        start = time.monotonic()
        run = subprocess.run(
            ["bash", str(HERE / "start_slurm.sh")], env=env, capture_output=True, text=True, timeout=600
        )
        assert run.returncode == 0, f"start_slurm.sh failed:\n{run.stdout}\n{run.stderr}"
        print(f"SLURM cluster up in {time.monotonic() - start:.1f} s")
        yield {**env, "SLURM_CONF": str(base / "etc" / "slurm.conf")}, base
    finally:
        subprocess.run(["bash", str(HERE / "stop_slurm.sh")], env=env, timeout=120)


def _slurmctld_jobs(log: str) -> dict[str, str]:
    """Job id -> exit status of every batch job slurmctld completed."""
    return dict(re.findall(r"_job_complete: JobId=(\d+) WEXITSTATUS (\d+)", log))


@pytest.mark.slow
def test_workflow_runs_through_sbatch(slurm_env, tmp_path):
    env, base = slurm_env
    # profiles/ too: profiles/default then loads on top of profiles/slurm, as in the repository root
    for name in ("workflow", "config", "profiles"):
        shutil.copytree(ROOT / name, tmp_path / name)
    cmd = [
        "timeout",
        "-s",
        "INT",
        "-k",
        "30",
        str(TIMEOUT_S),
        sys.executable,
        "-m",
        "snakemake",
        "--profile",
        "profiles/slurm",
        "--executor",
        "slurm",
        "--configfile",
        "config/test.yaml",
        *CPU_OVERRIDES,
    ]
    env = {**env, "HF_HUB_OFFLINE": "1", "PYTHONHASHSEED": "0"}
    start = time.monotonic()
    run = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT_S + 60)
    print(f"workflow through SLURM in {time.monotonic() - start:.1f} s")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]

    table = (tmp_path / "results/test/tables/image_bart.md").read_text()
    assert "adapter_single" in table and "vl_pet_large" in table
    submitted = dict(re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)", out))
    rules = {part for log in submitted.values() for part in Path(log).parts if part.startswith("rule_")}
    assert {"rule_demo_world", "rule_frames", "rule_train", "rule_evaluate", "rule_tables"} <= rules
    for log in submitted.values():  # each job's own SLURM log: the jobstep ran its rule under srun
        assert "Finished jobid" in Path(log).read_text(), log
    completed = _slurmctld_jobs((base / "log" / "slurmctld.log").read_text())
    assert {job: completed.get(job) for job in submitted} == {job: "0" for job in submitted}
