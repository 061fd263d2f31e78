"""`vlpeft tables` on synthetic metrics.json files: numbers, mean ± std, paper diffs, bytes, errors."""

import csv
import io
import json
from pathlib import Path

import pytest

from vlpeft.cli import main
from vlpeft.io import write_json
from vlpeft.report import build_report
from vlpeft.report.paper import load_paper_map, load_paper_tables

ROOT = Path(__file__).resolve().parents[2]
PAPER_TABLES = ROOT / "config" / "paper" / "paper_tables.json"
PAPER_MAP = ROOT / "config" / "paper" / "paper_map.json"
ORDER = ["full_finetuning", "adapter_single", "vl_pet_large", "my_method"]
PAPER = {"image_bart": ["VL-PET/table2_image_text", "VL-Adapter/table1_image_text_VL-BART"]}

# adapter_single, 3 seeds: vqa 60/62/64 -> 62.00 ± 2.00 (ddof=1); the paper (VL-PET Table 2) says 65.76
VQA = {42: 60.0, 43: 62.0, 9595: 64.0}


def _image_run(method, seed, pct, vqa, shift=0.0):
    tasks = {
        "vqa": {"vqa_score": vqa},
        "gqa": {"exact_match": 50.0 + shift},
        "nlvr": {"accuracy": 70.0 + shift},
        "caption": {
            "CIDEr": 110.0 + shift,
            "BLEU-4": 30.0,
            "METEOR": 25.0,
            "ROUGE_L": 50.0,
            "SPICE": None,
            "SPICE_note": "offline",
        },
    }
    avg = (vqa + 50 + 70 + 110 + 3 * shift) / 4
    return {
        "group": "image",
        "backbone": "bart",
        "method": method,
        "seed": seed,
        "params": {"trainable": round(pct * 1e4), "total": 1_000_000, "percent": pct},
        "tasks": tasks,
        "average": avg,
    }


@pytest.fixture()
def runs(tmp_path):
    paths = []

    def add(data):
        p = (
            tmp_path
            / "runs"
            / data["group"]
            / data["backbone"]
            / data["method"]
            / f"seed{data['seed']}"
            / "metrics.json"
        )
        write_json(p, data)
        paths.append(p)

    for seed, vqa in VQA.items():
        add(_image_run("adapter_single", seed, 4.18, vqa))
    add(_image_run("my_method", 42, 1.5, 55.0, shift=1.0))
    add(_image_run("full_finetuning", 42, 100.0, 68.0))
    add(
        {
            "group": "video",
            "backbone": "bart",
            "method": "adapter_single",
            "seed": 42,
            "params": {"trainable": 1, "total": 30, "percent": 3.39},
            "tasks": {
                "tvqa": {"accuracy": 70.0},
                "how2qa": {"accuracy": 71.0},
                "tvc": {"CIDEr": 45.0},
                "yc2c": {"CIDEr": 150.0},
            },
            "average": 84.0,
        }
    )
    return paths


def _build(paths, out, **kw):
    return build_report(
        paths, out, method_order=ORDER, paper=PAPER, paper_tables_path=PAPER_TABLES, paper_map_path=PAPER_MAP, **kw
    )


def test_markdown_numbers_mean_std_and_paper_diff(runs, tmp_path):
    _build(runs, tmp_path / "results")
    md = (tmp_path / "results" / "tables" / "image_bart.md").read_text()
    assert "0-100" in md and "ddof=1" in md and "trainable" in md
    line = next(l for l in md.splitlines() if l.startswith("| adapter_single"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    # method, seeds, params, paper params, VQAv2, paper, delta, ...
    assert cells[:7] == ["adapter_single", "3", "4.18", "4.18", "62.00 ± 2.00", "65.76", "-3.76"]
    avg = (62 + 50 + 70 + 110) / 4  # 73.0; paper Avg 76.93
    assert cells[-3:] == [f"{avg:.2f} ± 0.50", "76.93", f"{avg - 76.93:+.2f}"]  # std of avg: 2/4
    # a single seed: no ±; a method absent from the paper: '-'
    mine = next(l for l in md.splitlines() if l.startswith("| my_method"))
    assert "±" not in mine and "| 55.00 | - | - |" in mine and mine.endswith("| 72.00 | - | - |")


def test_row_order_and_video_table_without_paper(runs, tmp_path):
    _build(runs, tmp_path / "r")
    md = (tmp_path / "r" / "tables" / "image_bart.md").read_text()
    rows = [l.split("|")[1].strip() for l in md.splitlines() if l.startswith("| ") and "Method" not in l]
    assert rows == ["full_finetuning", "adapter_single", "my_method"]
    video = (tmp_path / "r" / "tables" / "video_bart.md").read_text()
    assert "| Method | Seeds | Params (%) | TVQA | How2QA | TVC | YC2C | Avg |" in video
    assert "Paper" not in video


def test_csv_and_tex(runs, tmp_path):
    _build(runs, tmp_path / "r")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r" / "tables" / "image_bart.csv").read_text())))
    ad = next(r for r in rows if r["method"] == "adapter_single")
    assert (ad["seeds"], ad["vqa"], ad["vqa_std"], ad["vqa_paper"], ad["vqa_diff"]) == (
        "42 43 9595",
        "62.00",
        "2.00",
        "65.76",
        "-3.76",
    )
    assert ad["caption"] == "110.00" and ad["caption_std"] == "0.00" and ad["caption_paper"] == "114.61"
    assert ad["paper_row"] == "VL-PET/table2_image_text: VL-Adapter"
    ff = next(r for r in rows if r["method"] == "full_finetuning")
    assert ff["vqa_std"] == "" and ff["vqa_paper"] == "66.88" and ff["vqa_diff"] == "+1.12"
    tex = (tmp_path / "r" / "tables" / "image_bart.tex").read_text()
    assert r"adapter\_single & 3 & 4.18 & 4.18 & 62.00 $\pm$ 2.00 & 65.76 & -3.76" in tex
    assert r"\begin{tabular}" in tex and r"$\Delta$" in tex and "% Scores on a 0-100 scale" in tex


def test_summary_has_all_numbers(runs, tmp_path):
    summary = _build(runs, tmp_path / "r")
    on_disk = json.loads((tmp_path / "r" / "metrics" / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    image = next(t for t in on_disk["tables"] if t["group"] == "image")
    ad = next(r for r in image["rows"] if r["method"] == "adapter_single")
    assert ad["tasks"]["vqa"]["vqa_score"]["values"] == [60.0, 62.0, 64.0]
    assert ad["tasks"]["vqa"]["vqa_score"]["std"] == pytest.approx(2.0)
    assert ad["tasks"]["caption"]["METEOR"]["mean"] == 25.0 and "SPICE" not in ad["tasks"]["caption"]
    assert ad["headline"]["vqa"]["diff"] == pytest.approx(62.0 - 65.76)
    assert ad["paper"]["std"]["vqa"] == 0.28  # the paper's subscript std
    assert ad["params"]["percent"]["mean"] == 4.18


def test_paper_fallback_to_the_next_table(tmp_path):
    # adapter_multiple is not in VL-PET Table 2: its row comes from VL-Adapter Table 1
    p = tmp_path / "m.json"
    write_json(p, _image_run("adapter_multiple", 1, 12.22, 65.0))
    summary = _build([p], tmp_path / "r")
    row = summary["tables"][0]["rows"][0]
    assert row["paper"]["table"] == "VL-Adapter/table1_image_text_VL-BART"
    assert row["paper"]["scores"]["vqa"] == 65.4


def test_outputs_are_byte_identical(runs, tmp_path):
    _build(runs, tmp_path / "a")
    _build(list(reversed(runs)), tmp_path / "b")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert {str(f) for f in files} == {
        "metrics/summary.json",
        "plots/efficiency.png",
        "plots/efficiency.svg",
        *(f"tables/{g}_bart.{e}" for g in ("image", "video") for e in ("md", "tex", "csv")),
    }
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert (tmp_path / "a" / "plots" / "efficiency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (tmp_path / "a" / "plots" / "efficiency.svg").read_text()
    assert "<dc:date>" not in svg and "Matplotlib" not in svg
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize(
    "drop, key",
    [
        ("average", "'average'"),
        ("params.percent", "'params.percent'"),
        ("tasks.vqa.vqa_score", "'tasks.vqa.vqa_score'"),
    ],
)
def test_missing_key_names_file_and_key(tmp_path, drop, key):
    data = _image_run("bitfit", 1, 1.2, 50.0)
    parts = drop.split(".")
    target = data
    for part in parts[:-1]:
        target = target[part]
    del target[parts[-1]]
    p = tmp_path / "bad" / "metrics.json"
    write_json(p, data)
    with pytest.raises(KeyError) as err:
        build_report([p], tmp_path / "r", method_order=ORDER)
    assert str(p) in str(err.value) and key in str(err.value)


def test_duplicate_runs_name_both_files(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    write_json(a, _image_run("bitfit", 1, 1.2, 50.0))
    write_json(b, _image_run("bitfit", 1, 1.2, 51.0))
    with pytest.raises(ValueError, match="a.json and .*b.json"):
        build_report([a, b], tmp_path / "r", method_order=ORDER)


def test_unknown_paper_table_is_an_error(runs, tmp_path):
    with pytest.raises(KeyError, match="unknown paper table"):
        build_report(
            runs,
            tmp_path / "r",
            method_order=ORDER,
            paper={"image_bart": ["VL-PET/nope"]},
            paper_tables_path=PAPER_TABLES,
            paper_map_path=PAPER_MAP,
        )


def test_default_order_is_the_registry_then_first_seen(monkeypatch):
    from vlpeft.report import runs as runs_mod

    monkeypatch.setattr(runs_mod, "registry_order", lambda: ["full_finetuning", "bitfit", "adapter_single"])
    seen = ["zeta", "adapter_single", "alpha", "full_finetuning"]
    assert runs_mod.order_methods(seen, None) == ["full_finetuning", "adapter_single", "zeta", "alpha"]
    assert runs_mod.order_methods(seen, ["alpha"]) == ["alpha", "zeta", "adapter_single", "full_finetuning"]


def test_paper_map_names_exist_in_paper_tables():
    tables, pmap = load_paper_tables(PAPER_TABLES), load_paper_map(PAPER_MAP)
    for tid, names in pmap["methods"].items():
        assert tid in tables, tid
        rows = {r["method"] for r in tables[tid]["rows"]}
        assert set(names.values()) <= rows, (tid, set(names.values()) - rows)
    keys = {k for t in tables.values() for r in t.get("rows", []) for k in (r.get("scores") or {})}
    assert set(pmap["scores"].values()) <= keys


def test_cli(runs, tmp_path, capsys):
    out = tmp_path / "cli"
    pattern = str(tmp_path / "runs" / "**" / "metrics.json")
    rc = main(
        [
            "tables",
            "--runs",
            pattern,
            "--out",
            str(out),
            "--method-order",
            ",".join(ORDER),
            "--paper",
            "image_bart=VL-PET/table2_image_text",
            "--paper-tables",
            str(PAPER_TABLES),
            "--paper-map",
            str(PAPER_MAP),
        ]
    )
    assert rc == 0 and (out / "tables" / "image_bart.md").is_file()
    assert main(["tables", "--runs", str(tmp_path / "none" / "*.json"), "--out", str(out), "--method-order", "x"]) == 1
    assert "no file matches" in capsys.readouterr().err
