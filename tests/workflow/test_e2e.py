"""The whole chain on the test config, as a user runs it: `dvc repro` in a scratch project, which runs
the Snakemake workflow stage by stage (data -> frames -> features -> train -> evaluate -> tables).

One full build is shared by the module's tests: the outputs, the no-op rerun of both tools, the
DVC cache-checkout trap (treeverse/dvc#8602), a second clean build with identical bytes, a push/pull
round trip, a one-method config change, a second config beside the first, and a code change that
reruns only the rules whose code it touches (Snakemake and DVC).

Everything runs the scratch project's own copy of the package (PYTHONPATH), so an edit there is
an edit of the code the pipeline runs, and edits in the repository meanwhile do not leak in.
"""

import base64
import hashlib
import json
import os
import re
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
SNAKE = [str(BIN / "snakemake"), "--cores", "2", "--rerun-triggers", "code", "input", "params", "software-env",
         "--configfile", "config/test.yaml"]

pytestmark = pytest.mark.slow


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    work = make_project(ROOT, tmp_path_factory.mktemp("build1"), "config/test.yaml")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", str(work / "src"))
        repro(work)
        yield work


def test_repro_builds_tables_and_logs(project):
    table = (project / "results/test/tables/image_bart.md").read_text()
    assert "adapter_single" in table and "vl_pet_large" in table
    for ext in ("md", "tex", "csv"):
        assert (project / f"results/test/tables/video_bart.{ext}").stat().st_size > 0
    assert (project / "results/test/plots/efficiency.svg").exists()
    assert (project / "results/test/metrics/summary.json").exists()
    assert (project / "runs/test/image/bart/adapter_single/seed42/adapter.safetensors").exists()
    for log in ("logs/test/demo_world.log", "logs/test/frames.log", "logs/test/features_image.log",
                "logs/test/train/image_bart_adapter_single_seed42.log"):
        assert (project / log).stat().st_size > 0, log


def test_snakemake_report_holds_the_tables_and_every_run(project):
    run([*SNAKE, "--report", "report.html"], project)
    html = (project / "report.html").read_text()
    assert "vlpeft: parameter-efficient tuning" in html  # workflow/report/workflow.rst
    categories = json.loads(re.search(r"var categories = (\{.*?\});\n", html).group(1))
    assert set(categories) == {"image tasks", "video tasks", "Summary"}
    assert set(categories["image tasks"]) == {"bart", "t5"}
    assert "runs/test/image/t5/vl_pet_large/seed42/metrics.json" in categories["image tasks"]["t5"]
    for table in ("image_bart", "image_t5", "video_bart"):
        uri = re.search(rf"data:text/csv;charset=utf8;filename={table}\.csv;base64,([A-Za-z0-9+/=]+)", html)
        assert uri, table
        embedded = base64.b64decode(uri.group(1))
        assert embedded == (project / f"results/test/tables/{table}.csv").read_bytes()
        assert b"adapter_single" in embedded or b"lora_single" in embedded


def test_dvc_metrics_and_plots_show_scores_and_curves(project):
    dvc = str(BIN / "dvc")
    shown = json.loads(run([dvc, "metrics", "show", "--json"], project))[""]["data"]
    scores = shown["results/test/scores/image_bart.json"]["data"]
    summary = json.loads((project / "results/test/metrics/summary.json").read_text())
    table = next(t for t in summary["tables"] if (t["group"], t["backbone"]) == ("image", "bart"))
    row = next(r for r in table["rows"] if r["method"] == "vl_pet_large")
    assert scores["vl_pet_large"]["nlvr"] == row["headline"]["nlvr"]["mean"]
    assert set(scores["adapter_single"]) >= {"vqa", "gqa", "nlvr", "caption", "average"}
    assert "results/test/scores/video_bart.json" in shown
    assert "adapter_single.vqa" in run([dvc, "metrics", "show"], project)
    plots = json.loads(run([dvc, "plots", "show", "--json"], project))
    assert not plots.get("errors"), plots.get("errors")
    loss = plots["data"]["results/test/curves/loss/video_bart_lora_single_seed42.csv"][0]["content"]["data"]["values"]
    log = [json.loads(x) for x in (project / "runs/test/video/bart/lora_single/seed42/train_log.jsonl").open()]
    assert [float(v["loss"]) for v in loss] == [r["loss"] for r in log if "step" in r]
    assert "results/test/curves/lr/image_t5_adapter_single_seed42.csv" in plots["data"]
    assert "results/test/curves/epoch/image_t5_adapter_single_seed42.csv" in plots["data"]


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
    assert any(p.startswith("results/test/tables/") for p in first)
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


def plan(project, *extra):
    """Rule -> job count of what `snakemake -n` would run."""
    out = run([*SNAKE, "-n", "--quiet", "rules", *extra], project)
    return {line.split()[0]: int(line.split()[1]) for line in out.splitlines()
            if len(line.split()) == 2 and line.split()[1].isdigit()}


def test_a_second_config_builds_beside_the_first(project):
    other = project / "config" / "side.yaml"
    # an override of the test config: the same data set (dataset: test), its own runs (name: side)
    other.write_text("name: side\ngroups: {image: {methods: [bitfit], backbones: [bart]}, video: null}\n")
    before = {p: digest(p) for p in sorted((project / "runs" / "test").rglob("*")) if p.is_file()}
    snake = SNAKE + ["config/side.yaml"]  # --configfile config/test.yaml config/side.yaml
    out = run(snake, project)
    assert (project / "runs/side/image/bart/bitfit/seed42/metrics.json").exists()
    assert (project / "results/side/tables/image_bart.md").exists()
    assert "rule demo_world" not in out and "rule features_image" not in out  # the data set is shared
    assert {p: digest(p) for p in before} == before  # the test config's runs are untouched
    assert "Nothing to be done" in run([*snake, "-n"], project)


def test_a_code_change_reruns_only_the_rules_that_run_it(project):
    tasks = project / "src" / "vlpeft" / "tasks.py"
    text = tasks.read_text()
    assert 'return prompt + ex["question"]' in text
    tasks.write_text(text.replace('return prompt + ex["question"]', 'return prompt + "question: " + ex["question"]'))
    try:
        rows = plan(project)
        assert rows.get("train") == 5 and rows.get("evaluate") == 5 and rows.get("tables") == 1, rows
        # the demo backbones pre-train on the same encoder texts, so they rerun too; nothing upstream does
        assert not {"demo_world", "frames", "clip_demo", "features_image", "features_video"} & set(rows), rows
        status = run([str(BIN / "dvc"), "status"], project)
        assert "train:" in status and "changed deps" in status
        out = run([str(BIN / "dvc"), "repro"], project)
        for rule in ("demo_world", "frames", "clip_demo", "features_image", "features_video"):
            assert f"rule {rule}:" not in out and f"localrule {rule}:" not in out, rule
        assert "rule train:" in out or "localrule train:" in out
        assert "Nothing to be done" in run([*SNAKE, "-n"], project)
    finally:
        tasks.write_text(text)
