"""The prior row: the best constant prediction chosen on train, scored on test with the runs' metrics,
and the table markings (best mean, differences smaller than the seeds' std)."""

import json

import pytest

from vlpeft.cli import main
from vlpeft.io import write_json, write_jsonl
from vlpeft.report import build_report
from vlpeft.report.prior import compute_prior, task_prior
from vlpeft.report.render import within_std
from vlpeft.report.runs import Stat


def _qa(i, answer):
    return {"id": f"q{i}", "image_id": f"img{i}", "question": "what?", "answers": [answer] * 10, "label": {answer: 1.0}}


@pytest.fixture()
def data(tmp_path):
    d = tmp_path / "data"
    ann = d / "annotations"
    # vqa: "yes" is the train majority (3 of 5); on test it is right 1 time in 4
    write_jsonl(ann / "vqa" / "train.jsonl", [_qa(i, a) for i, a in enumerate(["yes", "yes", "yes", "no", "red"])])
    write_jsonl(ann / "vqa" / "test.jsonl", [_qa(i, a) for i, a in enumerate(["yes", "no", "no", "blue"])])
    # nlvr: 2 true, 1 false on train; test 1 true of 4
    write_jsonl(
        ann / "nlvr" / "train.jsonl",
        [
            {"id": f"n{i}", "image_ids": ["a", "b"], "sentence": "s", "label": v}
            for i, v in enumerate([True, True, False])
        ],
    )
    write_jsonl(
        ann / "nlvr" / "test.jsonl",
        [
            {"id": f"n{i}", "image_ids": ["a", "b"], "sentence": "s", "label": v}
            for i, v in enumerate([True, False, False, False])
        ],
    )

    # tvqa: the answer is "a2" most often on train
    def mc(i, k):
        return {
            "id": f"t{i}",
            "video_id": "v",
            "question": "q",
            "choices": list("abcde"),
            "answer_idx": k,
            "ts": [0, 1],
            "subtitles": [],
        }

    write_jsonl(ann / "tvqa" / "train.jsonl", [mc(i, k) for i, k in enumerate([2, 2, 0, 1])])
    write_jsonl(ann / "tvqa" / "test.jsonl", [mc(i, k) for i, k in enumerate([2, 0, 0, 0, 0])])
    # caption: "a red circle" is the most frequent reference and names what most train images show
    caps = [
        ["a red circle", "a red circle and a blue square"],
        ["a red circle", "a red circle"],
        ["a blue square", "a green triangle"],
    ]
    write_jsonl(
        ann / "caption" / "train.jsonl",
        [{"id": f"c{i}", "image_id": f"i{i}", "captions": c} for i, c in enumerate(caps)],
    )
    write_jsonl(
        ann / "caption" / "test.jsonl",
        [{"id": f"c{i}", "image_id": f"j{i}", "captions": c} for i, c in enumerate(caps)],
    )
    return d


def test_majority_answers_scored_on_test(data):
    prior = compute_prior(data, ["vqa", "nlvr", "tvqa"])
    assert prior["vqa"]["prediction"] == "yes" and prior["vqa"]["score"] == pytest.approx(25.0)
    assert prior["nlvr"]["prediction"] == "true" and prior["nlvr"]["score"] == pytest.approx(25.0)
    assert prior["tvqa"]["prediction"] == "a2" and prior["tvqa"]["score"] == pytest.approx(20.0)
    assert prior["vqa"]["fit_split"] == "train" and prior["vqa"]["fit_score"] == pytest.approx(60.0)


def test_best_constant_caption(data):
    p = task_prior(data, "caption")
    assert p["prediction"] == "a red circle" and p["metric"] == "CIDEr" and p["score"] > 0


def test_missing_split_names_the_file(data):
    with pytest.raises(FileNotFoundError, match="gqa/train.jsonl"):
        task_prior(data, "gqa")


def _run(method, seed, vqa, nlvr):
    return {
        "group": "image",
        "backbone": "bart",
        "method": method,
        "seed": seed,
        "params": {"trainable": 1, "total": 10, "percent": 10.0},
        "tasks": {"vqa": {"vqa_score": vqa}, "nlvr": {"accuracy": nlvr}},
        "average": (vqa + nlvr) / 2,
    }


def test_within_std():
    assert within_std(Stat((60.0, 62.0, 64.0)), Stat((63.0,)))  # |62 - 63| < 2
    assert not within_std(Stat((60.0, 62.0, 64.0)), Stat((65.0,)))  # 3 >= 2
    assert not within_std(Stat((60.0,)), Stat((60.5,)))  # no std: nothing is claimed


def test_tables_with_prior_row_and_marks(data, tmp_path):
    paths = []
    for method, seed, vqa, nlvr in [
        ("full_finetuning", 1, 60.0, 70.0),
        ("full_finetuning", 2, 64.0, 72.0),
        ("adapter_single", 1, 61.0, 60.0),
        ("adapter_single", 2, 61.0, 62.0),
        ("lora_single", 1, 40.0, 50.0),
        ("lora_single", 2, 42.0, 52.0),
    ]:
        p = tmp_path / "runs" / method / f"s{seed}.json"
        write_json(p, _run(method, seed, vqa, nlvr))
        paths.append(p)
    prior = compute_prior(data, ["vqa", "nlvr"])
    summary = build_report(
        paths, tmp_path / "r", method_order=["full_finetuning", "adapter_single", "lora_single"], prior=prior
    )
    md = (tmp_path / "r" / "tables" / "image_bart.md").read_text()
    lines = [l for l in md.splitlines() if l.startswith("| ")]
    assert lines[1].startswith("| prior | - | 0.00 | 25.00 | 25.00 | 25.00 |")
    ff = next(l for l in lines if l.startswith("| full_finetuning"))
    ad = next(l for l in lines if l.startswith("| adapter_single"))
    lo = next(l for l in lines if l.startswith("| lora_single"))
    # VQA: full FT 62 ± 2.83 is best; adapter 61 ± 0 is within 2.83 of it; LoRA 41 is not
    assert "| **62.00 ± 2.83** |" in ff and "| 61.00 ± 0.00 ≈ |" in ad and "≈" not in lo
    assert "≈: differs from that best by less than" in md and "Row 'prior'" in md
    table = summary["tables"][0]
    assert table["prior"]["tasks"]["vqa"]["prediction"] == "yes" and table["prior"]["average"] == 25.0
    row = next(r for r in table["rows"] if r["method"] == "adapter_single")
    assert row["headline"]["vqa"]["within_std_of_best"] and not row["headline"]["nlvr"]["within_std_of_best"]
    assert table["avg_within_std"] == []  # avgs 66 ± 2.1, 61 ± 0.7, 46 ± 1.4: all further apart
    csv_text = (tmp_path / "r" / "tables" / "image_bart.csv").read_text()
    assert csv_text.splitlines()[1].startswith("prior,,0.00,25.00,,25.00,,25.00,")
    tex = (tmp_path / "r" / "tables" / "image_bart.tex").read_text()
    assert r"\textbf{62.00 $\pm$ 2.83}" in tex and r"61.00 $\pm$ 0.00 $\approx$" in tex


def test_cli_prior_from_data(data, tmp_path, capsys):
    p = tmp_path / "m.json"
    write_json(p, _run("full_finetuning", 1, 60.0, 70.0))
    assert main(["tables", "--runs", str(p), "--out", str(tmp_path / "r"), "--data", str(data)]) == 0
    assert "prior: vqa 25.00 ('yes'), nlvr 25.00 ('true'); Avg 25.00" in capsys.readouterr().out
    summary = json.loads((tmp_path / "r" / "metrics" / "summary.json").read_text())
    assert summary["tables"][0]["prior"]["tasks"]["nlvr"]["score"] == 25.0
