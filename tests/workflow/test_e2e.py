"""The whole chain on the test config, as a user runs it: `dvc repro` in a scratch project, which runs
the Snakemake workflow stage by stage (data -> frames -> features -> train -> evaluate -> tables).

One full build is shared by the module's tests: the outputs, the no-op rerun of both tools, the
DVC cache-checkout trap (treeverse/dvc#8602), a second clean build with identical bytes, a push/pull
round trip and a one-method config change.
"""

import hashlib
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from vlpeft.repro import compare, make_project, repro, tracked_hashes
from vlpeft.repro import run_command as run

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# The same Snakemake flags as dvc.yaml's stages: file times are not a rerun trigger.
SNAKE = [str(BIN / "snakemake"), "--cores", "2", "--rerun-triggers", "code", "input", "params", "software-env"]

pytestmark = pytest.mark.slow


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    work = make_project(ROOT, tmp_path_factory.mktemp("build1"), "config/test.yaml")
    repro(work)
    return work


def test_repro_builds_tables_and_logs(project):
    table = (project / "results/tables/image_bart.md").read_text()
    assert "adapter_single" in table and "vl_pet_large" in table
    for ext in ("md", "tex", "csv"):
        assert (project / f"results/tables/video_bart.{ext}").stat().st_size > 0
    assert (project / "results/plots/efficiency.svg").exists()
    assert (project / "results/metrics/summary.json").exists()
    for log in ("logs/test/demo_world.log", "logs/test/frames.log", "logs/test/features_image.log",
                "logs/train/image_bart_adapter_single_seed42.log"):
        assert (project / log).stat().st_size > 0, log


def test_second_repro_and_snakemake_do_nothing(project):
    out = run([str(BIN / "dvc"), "repro"], project)
    assert "Running stage" not in out
    out = run([*SNAKE, "-n"], project)
    assert "Nothing to be done" in out


def test_dvc_checkout_does_not_trigger_snakemake_rebuild(project):
    # DVC's checkout rewrites outputs with new file times; make every input newer than its outputs.
    for path in sorted((project / "data").rglob("*")) + sorted((project / "features").rglob("*")):
        if path.is_file():
            os.utime(path)
    out = run([*SNAKE, "-n"], project)
    assert "Nothing to be done" in out


def test_second_clean_build_gives_identical_bytes(project, tmp_path):
    other = make_project(ROOT, tmp_path / "build2", "config/test.yaml")
    repro(other)
    first, second = tracked_hashes(project), tracked_hashes(other)
    assert any(p.endswith("adapter.safetensors") for p in first)
    assert any(p.startswith("results/tables/") for p in first)
    assert compare(first, second) == []


def test_push_pull_round_trips_adapters(project, tmp_path):
    adapters = sorted((project / "runs").rglob("adapter.safetensors"))
    assert adapters
    before = {p: digest(p) for p in adapters}
    run([str(BIN / "dvc"), "remote", "add", "-f", "-d", "local", str(tmp_path / "remote")], project)
    run([str(BIN / "dvc"), "push"], project)
    shutil.rmtree(project / "runs")
    run([str(BIN / "dvc"), "pull"], project)
    assert {p: digest(p) for p in adapters} == before
    assert "Nothing to be done" in run([*SNAKE, "-n"], project)


def test_changing_one_method_reruns_only_that_method(project):
    config_path = project / "config/config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config.setdefault("method_overrides", {})["vl_pet_large"] = {"r": 4, "gate_dim": 4, "decoder_vpa_dim": 4}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    status = run([str(BIN / "dvc"), "status"], project)
    assert "train" in status and "data:" not in status
    plan = run([*SNAKE, "-n", "--quiet", "rules"], project)
    rows = {line.split()[0]: line.split()[1] for line in plan.splitlines()
            if len(line.split()) == 2 and line.split()[1].isdigit()}
    assert rows.get("train") == "2"  # vl_pet_large on image/bart and image/t5
    assert rows.get("evaluate") == "2" and rows.get("tables") == "1"
    assert not {"demo_world", "frames", "clip_demo", "features_image", "backbone_demo"} & set(rows)
