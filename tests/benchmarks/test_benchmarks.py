"""Smoke test of benchmarks/: every script runs on tiny sizes (--quick) and writes JSON records of
the documented shape. Speed is never asserted here (benchmarks/README.md explains the figures)."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import common  # noqa: E402
import run as bench_run  # noqa: E402

KEYS = {"name", "ours", "baseline", "unit", "ratio", "goal", "machine"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("bench")


def run_quick(name: str, workdir: Path, capsys) -> list[dict]:
    out = workdir / "results"
    assert (
        bench_run.main(
            ["--quick", "--only", name, "--out", str(out), "--workdir", str(workdir / "work"), "--device", "cpu"]
        )
        == 0
    )
    printed = capsys.readouterr().out
    records = json.loads((out / f"{name}.json").read_text())
    assert isinstance(records, list) and records
    for rec in records:
        assert KEYS <= rec.keys(), rec
        assert rec["name"] in printed  # the table lists every record
        assert rec["machine"]["cores"] >= 1 and rec["machine"]["cpu"]
        assert rec["ours"] is not None and rec["ours"] > 0
        if rec["ratio"] is not None:
            assert rec["ratio"] > 0 and rec["baseline"] > 0
    assert len({r["name"] for r in records}) == len(records)
    return records


def test_interleaved_runs_rotate_the_order():
    calls = []
    fns = {"a": lambda: calls.append("a") or len(calls), "b": lambda: calls.append("b") or len(calls)}
    seconds, last = common.interleaved_runs(fns, 3)
    assert calls == ["a", "b", "b", "a", "a", "b"]
    assert {k: len(v) for k, v in seconds.items()} == {"a": 3, "b": 3}
    assert last == {"a": 5, "b": 6}  # what each returned on its last run


def test_ratio_is_a_median_of_paired_rates():
    # 10 items in 1 s vs 5 items in 1 s, then 10 in 2 s vs 5 in 4 s: paired ratios 2 and 4
    rec = common.rate_measurement("x", (10, 5), [1.0, 2.0, 1.0], [1.0, 4.0, 0.5], "items/s", 1.0, {"cores": 1})
    assert rec["ratio"] == 2.0  # median of 2, 4, 1
    assert rec["ours"] == 10.0 and rec["baseline"] == 5.0  # items / median seconds
    assert KEYS <= rec.keys()


def test_table_marks_missed_goals():
    rows = [
        common.measurement("fast", 2.0, 1.0, "s", 2.0, 1.5, {}),
        common.measurement("slow", 1.0, 1.0, "s", 1.0, 1.5, {}),
        common.measurement("info", 3.0, None, "s", None, None, {}),
    ]
    lines = bench_run.format_table(rows).splitlines()
    assert lines[1].split()[-1] == "yes" and lines[2].split()[-1] == "NO" and lines[3].split()[-1] == "-"


def test_unknown_benchmark_is_rejected():
    with pytest.raises(SystemExit):
        bench_run.parse_args(["--only", "nope"])


def test_frames_quick(workdir, capsys):
    records = run_quick("frames", workdir, capsys)
    assert [r["name"] for r in records] == ["frames_demo_videos", "frames_long_videos"]
    demo = records[0]
    assert demo["frames_ours"] == 2 * 8  # 2 videos of 4 s sampled at 2 fps
    assert demo["unit"] == "frames/s" and demo["goal"] == 3.0


def test_features_quick(workdir, capsys):
    records = run_quick("features", workdir, capsys)
    by_name = {r["name"]: r for r in records}
    assert list(by_name) == [
        "features_image_vs_forward",
        "features_image_whole_step_vs_forward",
        "features_image_vs_naive",
        "features_video_vs_forward",
        "features_video_whole_step_vs_forward",
    ]
    assert by_name["features_image_vs_forward"]["goal"] == 0.9
    assert by_name["features_image_vs_naive"]["goal"] is None  # no goal vs naive on CPU
    # no speed comparison between records: speed is never asserted (a loaded machine reorders them)


@pytest.mark.slow  # forks a server that imports torch, transformers and peft: ~10 s of CPU
def test_training_quick(workdir, capsys):
    records = run_quick("training", workdir, capsys)
    names = {r["name"] for r in records}
    assert "training_tiny-bart_adapter_single_peak_memory" in names
    assert "training_tiny-t5_lora_single_adapter_size" in names
    sizes = {r["method"]: r for r in records if r["name"].endswith("adapter_size")}
    assert sizes["adapter_single"]["ratio"] > 1  # an adapter file is smaller than the whole model
    goals = {r["method"]: r["goal"] for r in records if r["name"].endswith("step_time")}
    assert goals["adapter_single"] == pytest.approx(1 / 0.6, rel=1e-3) and goals["lora_single"] is None


@pytest.mark.slow
def test_pipeline_quick(workdir, capsys):
    records = run_quick("pipeline", workdir, capsys)
    assert [r["name"] for r in records] == ["pipeline_test_build", "pipeline_test_noop_rerun"]
    assert records[1]["goal"] == 1.0 and records[0]["ratio"] is None
