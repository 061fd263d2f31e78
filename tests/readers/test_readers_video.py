"""VALUE readers: TVQA, How2QA, TVC, YC2C with subtitles joined per video."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from readers_data import MANIFEST_DIR, TV_SUBS, TVC, TVQA, assert_usable, by_id, dump

from vlpeft.data.readers import ReadResult, load_manifest, read_dataset
from vlpeft.tasks import TASKS, source_text


def read(name: str, root: Path, **options) -> ReadResult:
    return read_dataset(load_manifest(MANIFEST_DIR / f"{name}.yaml"), root, **options)


def test_tvqa_rows_with_subtitles_choices_and_span(value_root: Path) -> None:
    result = read("tvqa", value_root)
    assert_usable("tvqa", result)
    rows = result.rows["tvqa"]
    assert rows["test"] == rows["val"]  # VALUE test labels are hidden
    assert result.split_sources["tvqa"] == {"train": ["train"], "val": ["val"], "test": ["val"]}
    row = rows["train"][0]
    assert row["id"] == "7" and row["video_id"] == "s03e02_seg02_clip_10" and row["answer_idx"] == 2
    assert row["question"] == "Why question 7?" and row["show_name"] == "The Big Bang Theory"
    assert row["choices"] == [f"Choice {k} of 7" for k in range(5)]  # trailing ". " stripped, as the original
    assert row["ts"] == [20.16, 25.12] and row["ts_text"] == "20.16-25.12"
    assert row["subtitles"] == [
        {"start": 0.862, "end": 1.862, "text": "Howard : Hi."},
        {"start": 2.0, "end": 3.5, "text": "Raj : Hello!"},
    ]
    text = source_text(TASKS["tvqa"], row, use_task_prompt=True)
    assert text.startswith("[Subs] Howard : Hi. Raj : Hello! [Q] Why question 7? [TS] (20.16-25.12) [Choices] a0: ")
    assert text.endswith("a4: Choice 4 of 7. tvqa: ")
    val = rows["val"][0]
    assert val["subtitles"][0]["text"] == TV_SUBS[1]["sub"][0]["text"] and val["ts"] == [0.5, 3.0]


def test_how2qa_four_choices_and_list_spans(value_root: Path) -> None:
    result = read("how2qa", value_root)
    assert_usable("how2qa", result)
    train = result.rows["how2qa"]["train"][0]
    assert len(train["choices"]) == 4 and train["answer_idx"] == 3 and train["ts"] == [0.5, 10.0]
    assert train["subtitles"] == [{"start": 0.5, "end": 2.5, "text": "first we chop"}]


def test_tvc_one_row_per_description_by_default(value_root: Path) -> None:
    result = read("tvc", value_root)
    assert_usable("tvc", result)
    rows = result.rows["tvc"]
    assert [(r["id"], r["captions"]) for r in rows["train"]] == [
        ("62633", ["Howard waves. "]),  # verbatim
        ("62634", ["Raj says hello."]),
    ]
    assert all(r["clip_id"] == "5" and r["ts"] == [35.73, 40.9] for r in rows["train"])
    assert rows["train"][0]["ts_text"] == "[35.73, 40.9]"  # as the original prints it after [TS]
    assert source_text(TASKS["tvc"], rows["train"][0], use_task_prompt=True).endswith("[TS] ([35.73, 40.9]) tvc: ")
    assert [r["id"] for r in rows["val"]] == ["9", "10", "11", "12"] and rows["test"] == rows["val"]
    assert rows["val"][0]["subtitles"] == [{"start": 1.0, "end": 2.0, "text": "Joey : How you doin'?"}]


def test_tvc_per_clip_keeps_all_descriptions(value_root: Path) -> None:
    result = read("tvc", value_root, video_captions="per_clip")
    assert_usable("tvc", result)
    val = result.rows["tvc"]["val"]
    assert len(val) == 1 and val[0]["id"] == "6"
    assert val[0]["captions"] == [d["desc"] for d in TVC["val"][0]["descs"]]
    with pytest.raises(ValueError, match="video_captions must be one of"):
        read("tvc", value_root, video_captions="all")


def test_yc2c_span_defaults_to_the_whole_clip(value_root: Path) -> None:
    result = read("yc2c", value_root)
    assert_usable("yc2c", result)
    rows = result.rows["yc2c"]
    assert rows["train"][0]["ts"] == [0.0, 12.5] and rows["train"][0]["captions"] == ["add salt to the pot"]
    assert rows["val"][0]["ts"] == [0.0, 8.0] and rows["val"][0]["subtitles"] == []
    assert source_text(TASKS["yc2c"], rows["train"][0], use_task_prompt=True) == "[Subs] add the salt yc2c: "


def test_video_errors_name_the_file_and_record(value_root: Path) -> None:
    bad = [{**TVQA["val"][0], "vid_name": "unknown_clip"}]
    dump(value_root / "ann" / "tvqa" / "tvqa_val.jsonl", bad, lines=True)
    with pytest.raises(
        ValueError, match=r"tvqa_val\.jsonl: record 0: video 'unknown_clip' has no entry in .*tv_subtitles"
    ):
        read("tvqa", value_root)
    dump(value_root / "ann" / "tvqa" / "tvqa_val.jsonl", [{**TVQA["val"][0], "answer_idx": 5}], lines=True)
    with pytest.raises(ValueError, match=r"record 0: 'answer_idx' should be an integer in 0\.\.4"):
        read("tvqa", value_root)
    dump(value_root / "ann" / "tvqa" / "tvqa_val.jsonl", [{**TVQA["val"][0], "ts": "soon"}], lines=True)
    with pytest.raises(ValueError, match=r"record 0: bad time span 'soon'"):
        read("tvqa", value_root)
    rec = dict(TVC["val"][0])
    del rec["descs"]
    dump(value_root / "ann" / "tvc" / "tvc_val_release.jsonl", [TVC["val"][0], rec], lines=True)
    with pytest.raises(ValueError, match=r"tvc_val_release\.jsonl: record 1: missing key 'descs'"):
        read("tvc", value_root)


def test_nan_span_bounds_become_zero_and_are_noted(value_root: Path) -> None:
    dump(value_root / "ann" / "tvqa" / "tvqa_val.jsonl", [{**TVQA["val"][0], "ts": "NaN-NaN"}], lines=True)
    result = read("tvqa", value_root)
    assert by_id(result.rows["tvqa"]["val"])["122039"]["ts"] == [0.0, 0.0]
    assert any("non-numeric time span" in n for n in result.notes)


def test_ts_printed_verbatim_and_caption_targets_not_stripped(value_root: Path) -> None:
    """[TS] (<ts>) prints the published value with str(): "0-10.01" and "NaN-NaN" stay as published;
    caption descriptions are the targets verbatim, not stripped (docs/methods.md D)."""
    tvqa = value_root / "ann" / "tvqa" / "tvqa_train.jsonl"
    first = json.loads(tvqa.read_text().splitlines()[0])
    recs = [{**first, "ts": "0-10.01"}, {**first, "qid": 99, "ts": "NaN-NaN"}]
    tvqa.write_text("".join(json.dumps(r) + "\n" for r in recs))
    rows = by_id(read("tvqa", value_root).rows["tvqa"]["train"])
    assert "[TS] (0-10.01) [Choices]" in source_text(TASKS["tvqa"], rows["7"], use_task_prompt=True)
    assert "[TS] (NaN-NaN) [Choices]" in source_text(TASKS["tvqa"], rows["99"], use_task_prompt=True)
    assert rows["99"]["ts"] == [0.0, 0.0]
    assert read("tvc", value_root).rows["tvc"]["train"][0]["captions"] == ["Howard waves. "]
