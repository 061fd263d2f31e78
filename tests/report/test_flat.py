"""vlpeft flat-metrics: the flat score files DVC lists as metrics and the per-run curves it plots."""

import json

from vlpeft.cli import main
from vlpeft.report.flat import curves, flat_scores, run_name


def _cell(mean):
    return {"mean": mean, "std": None, "best": False, "diff": None, "paper": None, "within_std_of_best": False}


SUMMARY = {
    "note": "...",
    "tables": [
        {
            "group": "image",
            "backbone": "bart",
            "paper_tables": [],
            "prior": {"tasks": {"vqa": {"score": 20.0, "prediction": "yes"}}, "average": 20.0},
            "rows": [
                {
                    "method": "lora_single",
                    "seeds": [42, 43],
                    "headline": {"vqa": _cell(61.5), "average": _cell(61.5)},
                    "params": {"percent": {"mean": 5.25, "n": 2, "std": 0.0, "values": [5.25, 5.25]}},
                }
            ],
        },
        {
            "group": "video",
            "backbone": "bart",
            "paper_tables": [],
            "rows": [
                {
                    "method": "adapter_single",
                    "seeds": [42],
                    "headline": {"tvqa": _cell(40.0), "tvc": _cell(None), "average": _cell(40.0)},
                }
            ],
        },
    ],
}

LOG = [
    {"epoch": 0, "loss": 4.0, "lr": 0.0, "step": 1, "task": "vqa"},
    {"epoch": 0, "loss": 2.0, "lr": 0.001, "step": 2, "task": "gqa"},
    {"epoch": 0, "split": "val", "scores": {"vqa": 10.0, "gqa": 30.0}, "average": 20.0},
    {"epoch": 0, "split": "val", "task": "vqa", "loss": 3.5},
    {"epoch": 1, "loss": 1.0, "lr": 0.0005, "step": 3, "task": "vqa"},
]


def test_flat_scores_are_method_task_score_per_table():
    flat = flat_scores(SUMMARY)
    assert flat == {
        "image_bart": {
            "prior": {"vqa": 20.0, "average": 20.0},
            "lora_single": {"vqa": 61.5, "average": 61.5, "trainable_percent": 5.25},
        },
        "video_bart": {"adapter_single": {"tvqa": 40.0, "tvc": None, "average": 40.0}},
    }


def test_curves_per_step_and_per_epoch():
    train, epochs = curves(LOG)
    assert [r["step"] for r in train] == [1, 2, 3] and train[1] == {
        "step": 2,
        "epoch": 0,
        "task": "gqa",
        "loss": 2.0,
        "lr": 0.001,
    }
    assert epochs == [
        {"epoch": 0, "train_loss": 3.0, "val_average": 20.0, "val_vqa": 10.0, "val_gqa": 30.0, "val_loss_vqa": 3.5},
        {"epoch": 1, "train_loss": 1.0, "val_average": None},
    ]
    assert run_name("runs/x/image/bart/lora_single/seed42/train_log.jsonl") == "image_bart_lora_single_seed42"


def _build(tmp_path, logs, rc=0):
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps(SUMMARY))
    paths = []
    for name, rows in logs.items():
        path = tmp_path / "runs" / "t" / name / "train_log.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
        paths.append(str(path))
    out = tmp_path / "out"
    assert (
        main(
            [
                "flat-metrics",
                "--summary",
                str(summary),
                "--scores-out",
                str(out / "scores"),
                "--logs",
                *paths,
                "--curves-out",
                str(out / "curves"),
            ]
        )
        == rc
    )
    return out


def test_verb_writes_files_with_identical_bytes_and_drops_stale_ones(tmp_path):
    out = _build(tmp_path, {"image/bart/lora_single/seed42": LOG, "image/bart/bitfit/seed42": LOG[:2]})
    assert json.loads((out / "scores" / "image_bart.json").read_text())["lora_single"]["vqa"] == 61.5
    assert (out / "curves" / "loss" / "image_bart_lora_single_seed42.csv").read_text().splitlines()[:2] == [
        "step,epoch,task,loss",
        "1,0,vqa,4.0",
    ]
    assert (out / "curves" / "lr" / "image_bart_lora_single_seed42.csv").read_text().splitlines()[2] == "2,0.001"
    epoch = (out / "curves" / "epoch" / "image_bart_bitfit_seed42.csv").read_text()
    assert epoch == "epoch,train_loss,val_average\n0,3.0,\n"  # no validation: the column is empty
    first = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    # again with one run less (a method dropped from the config): its curves go, the rest is unchanged
    (out / "scores" / "gone_table.json").write_text("{}")
    again = _build(tmp_path, {"image/bart/lora_single/seed42": LOG})
    second = {p.relative_to(again): p.read_bytes() for p in sorted(again.rglob("*")) if p.is_file()}
    assert second == {k: v for k, v in first.items() if "bitfit" not in str(k)}


def test_a_broken_log_line_is_one_error_naming_the_file(tmp_path, capsys):
    _build(tmp_path, {"image/bart/lora_single/seed42": [LOG[0], '{"step": 2, "lo']}, rc=1)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "seed42/train_log.jsonl: line 2 is not JSON" in err[0], err
