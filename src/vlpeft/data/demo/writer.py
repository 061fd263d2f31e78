"""Generate the whole demo world into ``<out>``: images, videos, annotations, scenes, manifest.

Everything is built in a staging folder inside ``<out>`` and then moved into place folder by
folder; ``manifest.json`` is removed first and written last, so it marks a complete world.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from vlpeft.io import sha256_file, write_json, write_jsonl
from vlpeft.progress import progress_bar as tqdm
from vlpeft.tasks import SPLITS

from . import image_tasks as it
from . import video_tasks as vt
from .params import GENERATOR_VERSION, resolve
from .render import render, save_png
from .scene import Scene, sample_scene, sub_rng
from .video import STYLES, Video, encode_mp4, sample_video

OWNED = ("images", "videos", "annotations", "scenes")  # folders of <out> that generate() replaces
ALL_SPLITS = SPLITS + ("pretrain",)

ImagePools = dict[str, list[tuple[str, Scene]]]
VideoPools = dict[tuple[str, str], list[tuple[str, Video]]]  # (style, split) -> videos


def generate(
    out_dir: str | os.PathLike, *, seed: int = 0, size: str = "default", progress: bool = True, **params: Any
) -> dict[str, Any]:
    """Write the demo world for ``seed`` into ``out_dir`` and return its manifest.

    ``size`` picks a preset (``tiny``, ``small``, ``default``); ``params`` override single values
    (see ``vlpeft.data.demo.params.PARAMS``). The same arguments give byte-identical files.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"demo seed must be an integer, got {seed!r}")
    p = resolve(size, **params)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".demo-staging-", dir=out))
    try:
        images = make_images(staging, seed, p, progress)
        videos = make_videos(staging, seed, p, progress)
        counts = write_annotations(staging, seed, p, images, videos)
        write_scenes(staging, images, videos)
        manifest = build_manifest(staging, seed, size, p, images, videos, counts)
        _publish(staging, out, manifest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def make_images(root: Path, seed: int, p: dict[str, Any], progress: bool) -> ImagePools:
    pools: ImagePools = {}
    for split in ALL_SPLITS:
        n = p["pretrain_images" if split == "pretrain" else f"images_{split}"]
        ids = [f"img-{split}-{i:05d}" for i in range(n)]
        pools[split] = [
            (i, sample_scene(sub_rng(seed, "image", i), p["image_size"], p["min_objects"], p["max_objects"]))
            for i in ids
        ]
    todo = [item for split in ALL_SPLITS for item in pools[split]]
    for img_id, scene in tqdm(todo, desc="demo images", unit="img", disable=not progress):
        objs = [(o.color, o.shape, o.x, o.y, o.r) for o in scene.objects]
        save_png(render(scene.size, objs), root / "images" / f"{img_id}.png")
    return pools


def make_videos(root: Path, seed: int, p: dict[str, Any], progress: bool) -> VideoPools:
    names: list[tuple[str, str, str]] = []  # (video id, style, split)
    for style in STYLES:
        names += [
            (f"vid-{style}-{split}-{i:04d}", style, split) for split in SPLITS for i in range(p[f"videos_{split}"])
        ]
    names += [(f"vid-pretrain-{i:04d}", STYLES[i % 2], "pretrain") for i in range(p["pretrain_videos"])]
    pools: VideoPools = {}
    for vid, style, split in tqdm(names, desc="demo videos", unit="video", disable=not progress):
        v = sample_video(
            sub_rng(seed, "video", vid),
            style,
            p["video_size"],
            p["fps"],
            p["video_seconds"],
            p["min_steps"],
            p["max_steps"],
        )
        encode_mp4(v.frames(), root / "videos" / f"{vid}.mp4", p["fps"])
        pools.setdefault((style if split != "pretrain" else "any", split), []).append((vid, v))
    return pools


def write_annotations(
    root: Path, seed: int, p: dict[str, Any], images: ImagePools, videos: VideoPools
) -> dict[str, dict[str, int]]:
    """Write ``annotations/<task>/<split>.jsonl`` and the pretrain captions; return the row counts."""
    counts: dict[str, dict[str, int]] = {}

    def emit(task: str, split: str, rows: list[dict]) -> None:
        write_jsonl(root / "annotations" / task / f"{split}.jsonl", rows)
        counts.setdefault(task, {})[split] = len(rows)

    for split in SPLITS:
        imgs, tv, howto = images[split], videos.get(("tv", split), []), videos.get(("howto", split), [])
        rng = functools.partial(_task_rng, seed, split)
        emit("vqa", split, it.vqa_rows(split, imgs, p[f"vqa_{split}"], rng("vqa"), p["vqa_answers"], p["vqa_noise"]))
        emit("gqa", split, it.gqa_rows(split, imgs, p[f"gqa_{split}"], rng("gqa")))
        emit("nlvr", split, it.nlvr_rows(split, imgs, p[f"nlvr_{split}"], rng("nlvr")))
        emit("caption", split, it.caption_rows(split, imgs, p[f"caption_{split}"], rng("caption"), p["caption_refs"]))
        emit("tvqa", split, vt.qa_rows("tvqa", split, tv, p[f"tvqa_{split}"], 5, vt.TVQA_MAKERS, rng("tvqa")))
        emit(
            "how2qa",
            split,
            vt.qa_rows("how2qa", split, howto, p[f"how2qa_{split}"], 4, vt.HOW2QA_MAKERS, rng("how2qa")),
        )
        emit("tvc", split, vt.tvc_rows(split, tv, p[f"tvc_{split}"], p["video_caption_refs"], rng("tvc")))
        emit("yc2c", split, vt.yc2c_rows(split, howto, p[f"yc2c_{split}"], p["video_caption_refs"], rng("yc2c")))
    pre = images["pretrain"]
    emit(
        "pretrain",
        "image_captions",
        it.caption_rows("pretrain", pre, len(pre), sub_rng(seed, "imgcap"), p["caption_refs"], task="imgcap"),
    )
    if p["pretrain_qa"]:
        emit("pretrain", "image_qa", it.pretrain_qa_rows(pre, p["pretrain_qa"], sub_rng(seed, "imgqa")))
    emit(
        "pretrain",
        "video_captions",
        vt.video_caption_rows(videos.get(("any", "pretrain"), []), p["pretrain_video_refs"], sub_rng(seed, "vidcap")),
    )
    return counts


def _task_rng(seed: int, split: str, task: str):
    return sub_rng(seed, task, split)


def write_scenes(root: Path, images: ImagePools, videos: VideoPools) -> None:
    """What was drawn, for debugging and for tests that check answers on the pixels."""
    write_jsonl(
        root / "scenes" / "images.jsonl",
        [{"id": i, "split": split, **sc.to_json()} for split in ALL_SPLITS for i, sc in images[split]],
    )
    rows = [
        {"id": vid, "split": split, **v.to_json(), "subtitles": list(v.subtitles), "facts": [list(f) for f in v.facts]}
        for (_, split), pool in videos.items()
        for vid, v in pool
    ]
    write_jsonl(root / "scenes" / "videos.jsonl", sorted(rows, key=lambda r: r["id"]))


def build_manifest(
    root: Path,
    seed: int,
    size: str,
    p: dict[str, Any],
    images: ImagePools,
    videos: VideoPools,
    counts: dict[str, dict[str, int]],
) -> dict[str, Any]:
    files = sorted(f for f in root.rglob("*") if f.is_file())
    return {
        "generator": "vlpeft.data.demo",
        "version": GENERATOR_VERSION,
        "seed": seed,
        "size": size,
        "params": p,
        "images": {i: split for split, pool in images.items() for i, _ in pool},
        "videos": {vid: split for (_, split), pool in videos.items() for vid, _ in pool},
        "examples": counts,
        "sha256": {f.relative_to(root).as_posix(): sha256_file(f) for f in files},
    }


def _publish(staging: Path, out: Path, manifest: dict[str, Any]) -> None:
    """Swap each owned folder into ``out`` (the old one goes to staging and is deleted with it)."""
    (out / "manifest.json").unlink(missing_ok=True)
    for name in OWNED:
        if (out / name).exists():
            os.replace(out / name, staging / f"old-{name}")
        os.replace(staging / name, out / name)
    write_json(out / "manifest.json", manifest)
