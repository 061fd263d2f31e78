"""Every answer of the demo world is checked on the rendered pixels (PNG) or decoded frames (MP4)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from demo_oracle import VideoPixels, answer_image_question, image_blobs, judge_statement, mentioned_objects
from demo_world import manifest, rows

from vlpeft.io import read_jsonl
from vlpeft.tasks import SPLITS

VIDEO_SPLITS = [(t, s) for t in ("tvqa", "how2qa") for s in SPLITS]


@cache
def blobs(world: Path, image_id: str):
    return image_blobs(world / "images" / f"{image_id}.png")


@cache
def video(world: Path, video_id: str) -> VideoPixels:
    return VideoPixels(world / "videos" / f"{video_id}.mp4")


def test_pixels_match_the_scene_records(tiny_world: Path) -> None:
    """The oracle reads back exactly the objects the generator placed (colour, shape, centre)."""
    for scene in read_jsonl(tiny_world / "scenes" / "images.jsonl"):
        seen = sorted((b.color, b.shape, b.x, b.y) for b in blobs(tiny_world, scene["id"]))
        drawn = sorted((o["color"], o["shape"], o["x"], o["y"]) for o in scene["objects"])
        assert [s[:2] for s in seen] == [d[:2] for d in drawn], scene["id"]
        for s, d in zip(seen, drawn):
            assert abs(s[2] - d[2]) <= 0.5 and abs(s[3] - d[3]) <= 0.5, scene["id"]


@pytest.mark.parametrize("task", ["vqa", "gqa"])
@pytest.mark.parametrize("split", SPLITS)
def test_image_answers_are_what_the_pixels_show(tiny_world: Path, task: str, split: str) -> None:
    size = manifest(tiny_world)["params"]["image_size"]
    for ex in rows(tiny_world, task, split):
        best = max(ex["label"].values())
        consensus = [a for a, s in ex["label"].items() if s == best]
        assert consensus == [answer_image_question(ex["question"], blobs(tiny_world, ex["image_id"]), size)], ex


def test_pretrain_qa_answers_are_what_the_pixels_show(tiny_world: Path) -> None:
    size = manifest(tiny_world)["params"]["image_size"]
    qa = rows(tiny_world, "pretrain", "image_qa")
    pretrain = {s["id"] for s in read_jsonl(tiny_world / "scenes" / "images.jsonl") if s["split"] == "pretrain"}
    assert qa and {ex["image_id"] for ex in qa} <= pretrain  # only pre-training images, never a task's
    for ex in qa:
        assert ex["answer"] == answer_image_question(ex["question"], blobs(tiny_world, ex["image_id"]), size), ex


@pytest.mark.parametrize("split", SPLITS)
def test_nlvr_labels_are_what_the_pixels_show(tiny_world: Path, split: str) -> None:
    for ex in rows(tiny_world, "nlvr", split):
        left, right = (blobs(tiny_world, i) for i in ex["image_ids"])
        assert judge_statement(ex["sentence"], left, right) == ex["label"], ex


@pytest.mark.parametrize("task_split", [("caption", s) for s in SPLITS] + [("pretrain", "image_captions")])
def test_captions_name_only_drawn_objects(tiny_world: Path, task_split: tuple[str, str]) -> None:
    for ex in rows(tiny_world, *task_split):
        drawn = {b.name for b in blobs(tiny_world, ex["image_id"])}
        full = 0
        for caption in ex["captions"]:
            named = set(mentioned_objects(caption))
            assert named <= drawn, (caption, drawn)
            full += named == drawn
            if g := re.match(r"(\w+) shapes on a gray background", caption):
                assert g[1] == ["zero", "one", "two", "three", "four", "five"][len(drawn)]
        assert full >= len(ex["captions"]) // 2, ex  # most references list every object


def _choice_from_pixels(ex: dict, v: VideoPixels) -> str | None:
    """The correct choice text of a video question, as read from the frames or the subtitles."""
    t0, t1 = ex["ts"]
    q, qtype = ex["question"], ex["question_type"]
    if qtype == "direction":
        color, shape = re.search(r"the (\w+) (\w+)(?: move)?\?$", q).groups()
        assert v.shape_of(color) == shape
        d = v.motion(color, t0, t1)
        return "it does not move" if d == "still" else d
    if qtype == "moving_color":
        direction = re.search(r"moves (?:to the )?(\w+)\?", q)[1]
        movers = [
            c
            for c in sorted(set().union(*(v.present(i) for i in v.frames_in(t0, t1))))
            if v.motion(c, t0, t1) == direction
        ]
        assert len(movers) == 1
        return movers[0]
    if qtype == "moved_object":
        kind, color, direction = v.event(t0, t1)
        assert kind == "move" and q.endswith(f"{direction}?")
        return f"the {color} {v.shape_of(color)}"
    if qtype == "order":
        colors = sorted(set().union(*(v.present(i) for i in v.frames_in(0, t1))), key=v.first_seen)
        which = {"first": 0, "second": 1, "last": -1}[re.search(r"appears (\w+)\?", q)[1]]
        return f"the {colors[which]} {v.shape_of(colors[which])}"
    if qtype == "count":
        return str(len(set().union(*(v.present(i) for i in range(len(v.times))))))
    if qtype in ("event", "first_step"):
        return v.describe(t0, t1)
    if qtype == "next_step":
        return v.describe((t0 + t1) / 2, t1)
    subs = " | ".join(s["text"] for s in ex["subtitles"] if s["start"] >= t0 and s["end"] <= t1)
    noun = re.search(r"(the \w+ \w+)\?$", q)[1]
    if qtype == "subtitle_owner":
        return re.search(rf"(\w+) : {noun} is mine", subs)[1]
    if qtype == "subtitle_role":
        return re.search(rf"we call {noun} the (\w+)", subs)[1]
    raise AssertionError(f"no oracle for question type {qtype}")


@pytest.mark.parametrize("task,split", VIDEO_SPLITS)
def test_video_answers_are_what_the_frames_show(tiny_world: Path, task: str, split: str) -> None:
    for ex in rows(tiny_world, task, split):
        expected = _choice_from_pixels(ex, video(tiny_world, ex["video_id"]))
        assert ex["choices"][ex["answer_idx"]] == expected, ex
        assert ex["choices"].count(expected) == 1


@pytest.mark.parametrize("split", SPLITS)
def test_tvc_captions_describe_the_moment(tiny_world: Path, split: str) -> None:
    for ex in rows(tiny_world, "tvc", split):
        v = video(tiny_world, ex["video_id"])
        t0, t1 = ex["ts"]
        steps = ex["captions"][0].split(", then ")  # the first reference is the canonical phrasing
        bounds = [t0, t1] if len(steps) == 1 else [t0, (t0 + t1) / 2, t1]
        assert steps == [v.describe(a, b) for a, b in zip(bounds, bounds[1:])], ex


@pytest.mark.parametrize("split", SPLITS)
def test_yc2c_captions_describe_the_step(tiny_world: Path, split: str) -> None:
    verbs = {"appear": "add a", "disappear": "remove the", "move": "move the"}
    for ex in rows(tiny_world, "yc2c", split):
        v = video(tiny_world, ex["video_id"])
        kind, color, direction = v.event(*ex["ts"])
        phrase = f"{verbs[kind]} {color} {v.shape_of(color)}"
        assert ex["captions"][0].startswith(phrase), ex
        for cap in ex["captions"]:  # every reference names the same object (and direction)
            assert f"{color} {v.shape_of(color)}" in cap and (direction is None or direction in cap)
        for sub in ex["subtitles"]:  # the step's own subtitles
            assert sub["end"] > ex["ts"][0] and sub["start"] < ex["ts"][1]


def test_pretrain_video_captions_follow_the_order_of_appearance(tiny_world: Path) -> None:
    for ex in rows(tiny_world, "pretrain", "video_captions"):
        v = video(tiny_world, ex["video_id"])
        colors = sorted(set().union(*(v.present(i) for i in range(len(v.times)))), key=v.first_seen)
        named = list(dict.fromkeys(n.split()[0] for n in mentioned_objects(ex["captions"][0])))
        assert named == colors, ex


def test_videos_have_the_configured_format(tiny_world: Path) -> None:
    params = manifest(tiny_world)["params"]
    for vid in manifest(tiny_world)["videos"]:
        v = video(tiny_world, vid)
        assert len(v.times) == round(params["video_seconds"] * params["fps"])
        assert v.size == params["video_size"]
        assert v.times[1] - v.times[0] == pytest.approx(1 / params["fps"])
