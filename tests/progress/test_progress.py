"""Progress: bars on a terminal, one plain line every N seconds in a log, a headline at the end."""

import io
import json

import pytest

from vlpeft.progress import LogProgress, format_duration, progress_bar, train_summary


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_log_lines_every_n_seconds_with_rate_and_eta():
    clock, out = Clock(), io.StringIO()
    bar = LogProgress(total=100, desc="train lora", unit="step", every=10, stream=out, clock=clock)
    for _ in range(20):  # 20 steps in 4 s: no line yet
        clock.t += 0.2
        bar.update()
    assert out.getvalue() == ""
    for _ in range(30):  # 30 more steps, 10 s after the start: one line
        clock.t += 0.2
        bar.update()
        bar.set_postfix(loss="0.5")
    assert out.getvalue() == "train lora: 50/100 step (50%), 5 step/s, ETA 0:10, loss=0.5\n"
    bar.close()
    bar.close()  # once only
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[1] == "train lora: 50/100 step (50%), 5 step/s, done in 0:10, loss=0.5"
    assert "\r" not in out.getvalue()


def test_resumed_bar_counts_the_rate_from_where_it_started():
    clock, out = Clock(), io.StringIO()
    bar = LogProgress(total=10, initial=6, unit="step", every=1, stream=out, clock=clock)
    clock.t += 2
    bar.update(2)
    assert out.getvalue() == "8/10 step (80%), 1 step/s, ETA 0:02\n"


def test_iterable_and_unknown_total():
    clock, out = Clock(), io.StringIO()

    def gen():
        for i in range(3):
            clock.t += 1
            yield i

    assert list(LogProgress(gen(), desc="frames", unit="video", every=0, stream=out, clock=clock)) == [0, 1, 2]
    assert out.getvalue().splitlines() == [
        "frames: 1 video, 1 video/s",
        "frames: 2 video, 1 video/s",
        "frames: 3 video, 1 video/s",
        "frames: 3 video, 1 video/s, done in 0:03",
    ]


def test_progress_bar_picks_by_stream():
    from tqdm import tqdm

    assert isinstance(progress_bar(range(3), stream=io.StringIO()), LogProgress)
    bar = progress_bar(range(3), stream=Tty(), desc="x")
    assert isinstance(bar, tqdm)
    bar.close()
    silent = progress_bar(range(3), disable=True, stream=io.StringIO())
    assert list(silent) == [0, 1, 2]
    silent.update(2)
    silent.close()
    with progress_bar(total=2, stream=io.StringIO(), every=1e9) as b:  # the context-manager form
        b.update(2)


def test_every_from_environment(monkeypatch):
    monkeypatch.setenv("VLPEFT_PROGRESS_EVERY", "7.5")
    assert LogProgress(total=1, stream=io.StringIO()).every == 7.5
    monkeypatch.setenv("VLPEFT_PROGRESS_EVERY", "soon")
    with pytest.raises(ValueError, match="VLPEFT_PROGRESS_EVERY"):
        LogProgress(total=1, stream=io.StringIO())


def test_format_duration():
    assert [format_duration(s) for s in (0, 65, 3725)] == ["0:00", "1:05", "1:02:05"]


def test_train_log_is_lines_and_train_prints_its_headline(world, tmp_path, capsys, monkeypatch):
    """A real `vlpeft train` with stderr in a log (not a terminal): plain lines, no carriage returns;
    stdout ends with the headline computed from train_log.jsonl."""
    from vlpeft.cli import main

    monkeypatch.setenv("VLPEFT_PROGRESS_EVERY", "0")
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--data",
                str(world["data"]),
                "--features-image",
                str(world["image"]),
                "--backbone",
                str(world["t5"]),
                "--method",
                "bitfit",
                "--group",
                "image",
                "--tasks",
                "vqa,gqa",
                "--epochs",
                "2",
                "--batch-size",
                "4",
                "--lr",
                "1e-3",
                "--val-every",
                "1",
                "--out",
                str(out),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    steps = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    n = max(r["step"] for r in steps if "step" in r)
    assert "\r" not in captured.err
    lines = [line for line in captured.err.splitlines() if line.startswith("train bitfit: ")]
    assert len(lines) == n + 1 and f"{n}/{n} step (100%)" in lines[-1] and "done in" in lines[-1]
    assert "ETA" in lines[0] and "loss=" in lines[1]  # the postfix set after the previous step
    headline = captured.out.strip().splitlines()[-1]
    assert headline == f"bitfit: {train_summary(out)}"
    last = max(r["epoch"] for r in steps if "step" in r)
    vqa = [r["loss"] for r in steps if r.get("task") == "vqa" and r.get("epoch") == last and "step" in r]
    assert f"vqa {sum(vqa) / len(vqa):.4f}" in headline and f"{n} steps, 2 epoch(s)" in headline
    assert "val loss gqa" in headline
