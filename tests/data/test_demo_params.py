"""Parameters and the `vlpeft demo` verb: presets, overrides and clear errors for bad options."""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_world import MICRO, manifest, rows

from vlpeft.cli import main
from vlpeft.data.demo import DEFAULTS, PRESETS, generate, resolve


def test_presets_only_use_known_parameters() -> None:
    for size, overrides in PRESETS.items():
        assert set(overrides) <= set(DEFAULTS), size
        resolve(size)  # every preset is valid
    assert resolve("small", vqa_train=7)["vqa_train"] == 7


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"size": "huge"}, "unknown demo size 'huge'"),
        ({"bogus_count": 3}, "unknown demo parameter(s) 'bogus_count'"),
        ({"vqa_train": "many"}, "'vqa_train' must be int"),
        ({"vqa_train": 2.5}, "'vqa_train' must be int"),
        ({"vqa_noise": True}, "'vqa_noise' must be float"),
        ({"tvqa_val": -1}, "'tvqa_val' = -1: must not be negative"),
        ({"caption_train": 13}, "'caption_train' = 13: one caption row per image"),
        ({"video_size": 63}, "'video_size' = 63: must be even"),
        ({"min_steps": 6, "max_steps": 5}, "'min_steps' = 6"),
        ({"video_seconds": 0.5}, "'video_seconds' = 0.5: too short"),
        ({"video_caption_refs": 9}, "'video_caption_refs' = 9"),
    ],
)
def test_bad_options_give_a_clear_error(tmp_path: Path, kwargs: dict, message: str) -> None:
    kwargs = {"size": "tiny", **kwargs}
    with pytest.raises(ValueError) as err:
        generate(tmp_path / "world", progress=False, **kwargs)
    assert message in str(err.value)
    assert not (tmp_path / "world").exists()  # rejected before anything is written


def test_bad_seed_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="seed must be an integer"):
        generate(tmp_path / "world", seed="7", size="tiny")


def test_cli_generates_with_flag_overrides(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in MICRO.items()]
    out = tmp_path / "world"
    assert (
        main(
            [
                "demo",
                "--out",
                str(out),
                "--seed",
                "3",
                "--size",
                "tiny",
                "--no-progress",
                *flags,
                "--vqa-train",
                "3",
                "--vqa-answers",
                "5",
            ]
        )
        == 0
    )
    m = manifest(out)
    assert m["seed"] == 3 and m["params"]["vqa_train"] == 3 and m["examples"]["vqa"]["train"] == 3
    assert all(len(ex["answers"]) == 5 for ex in rows(out, "vqa", "train"))
    assert "demo world (seed 3, size tiny)" in capsys.readouterr().out


def test_cli_reports_a_bad_value_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["demo", "--out", str(tmp_path / "w"), "--size", "tiny", "--caption-train", "100"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("vlpeft demo: error:") and "caption_train" in err and "\n" not in err


def test_cli_rejects_an_unknown_flag(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--out", str(tmp_path / "w"), "--vqa-trian", "3"])
    assert exc.value.code == 2 and "--vqa-trian" in capsys.readouterr().err
