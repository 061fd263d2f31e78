"""The paper configs expand to the full DAG: every method x seed trains, over the real-data rules."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vlpeft.workflow_config import DEFAULT_CONFIG, validated

ROOT = Path(__file__).resolve().parents[2]


def job_counts(configfile):
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--configfile", configfile],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    return {line.split()[0]: int(line.split()[1]) for line in out.splitlines()
            if len(line.split()) == 2 and line.split()[1].isdigit()}


@pytest.mark.parametrize("name", ["image_bart", "image_t5", "video_bart"])
def test_paper_config_lists_every_method_and_seed(name):
    path = f"config/paper/{name}.yaml"
    cfg = validated([ROOT / DEFAULT_CONFIG, ROOT / path], root=ROOT)  # an override file merged over the default
    runs = sum(len(g["methods"]) * len(g["backbones"]) for g in cfg["groups"].values()) * len(cfg["seeds"])
    counts = job_counts(path)
    assert counts["train"] == runs and counts["evaluate"] == runs
    assert counts["prepare_real"] == 1 and counts["tables"] == 1
    assert "demo_world" not in counts and "backbone_demo" not in counts and "clip_demo" not in counts
