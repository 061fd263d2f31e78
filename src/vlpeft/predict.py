"""`vlpeft predict`: answer or caption your own image(s) or video with a trained run or an export.

The source is a run directory (``run.json`` + ``adapter.safetensors``, written by `vlpeft train`)
or a folder written by `vlpeft export` (the same two files plus ``export.json``; a ``--merge``d
export holds the backbone itself). The input goes through exactly the pipeline's code:

- CLIP features with the run's own CLIP (`vlpeft.features`: its loader, preprocessing and feature
  functions; the run's adapter header records the CLIP's sha256, checked here), stored in float16
  as the feature cache stores them; a video is sampled with `vlpeft.video.load_video` using the
  run's frame sampling (recorded in its video features) unless overridden;
- the model is rebuilt as `vlpeft evaluate` rebuilds it (`vlpeft.train.build.build_run_model` +
  `vlpeft.pet.load_adapter`);
- the example is formatted by the task registry (`vlpeft.tasks`) through `TaskData`, and decoded with
  the task's decoding settings by `vlpeft.eval.decode.decode_task` (docs/methods.md C, D).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vlpeft.run_files import ADAPTER_FILE
from vlpeft.tasks import TASKS, get_task

EXPORT_FILE = "export.json"
MERGED_BACKBONE_DIR = "backbone"
VIS_WEIGHT = "visual_embedding.feat_embedding.0.weight"  # (d_model, feat_dim) in the adapter file
DEFAULT_NUM_FRAMES = 8  # `vlpeft frames`' default, used when the run recorded no sampling
EXAMPLE_ID = "predict"


class PredictError(ValueError):
    """Bad input to predict or export (one line, naming the file or flag)."""


# -- the source: a run directory or an export ------------------------------------------------------


@dataclass
class Source:
    """A trained run or an export, with what it records about its inputs."""

    path: Path
    spec: Any  # RunSpec
    adapter: Path | None  # the vlpeft adapter file (None: a merged export)
    header: dict[str, Any] = field(default_factory=dict)  # the adapter header (or the export's copy)
    export: dict[str, Any] | None = None

    @property
    def features(self) -> dict[str, Any]:
        """The feature-cache identity the run was trained on (vlpeft.provenance); {} if not recorded."""
        return dict(self.header.get("meta", {}).get("features", {}))

    @property
    def merged(self) -> bool:
        return bool(self.export and self.export.get("merged"))

    @property
    def feat_dim(self) -> int | None:
        if self.export and self.export.get("feat_dim"):
            return int(self.export["feat_dim"])
        if self.features.get("dim"):
            return int(self.features["dim"])
        return adapter_feat_dim(self.adapter) if self.adapter else None  # a run older than meta.features


def adapter_feat_dim(adapter: Path) -> int:
    """The feature width of the visual projection stored in an adapter file."""
    from safetensors import safe_open

    with safe_open(str(adapter), "pt") as f:
        if VIS_WEIGHT not in set(f.keys()):
            raise PredictError(f"{adapter}: no visual projection ({VIS_WEIGHT}) in the adapter")
        return int(f.get_slice(VIS_WEIGHT).get_shape()[1])


def open_source(path: str | os.PathLike) -> Source:
    """Read a run directory or an export folder (a clear error for anything else)."""
    from vlpeft.pet.adapter_io import read_adapter_header
    from vlpeft.train.build import RunSpec

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: not a directory (expected a run directory or a `vlpeft export` folder)")
    spec = RunSpec.read(path)
    export = None
    if (path / EXPORT_FILE).is_file():
        try:
            export = json.loads((path / EXPORT_FILE).read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise PredictError(f"{path / EXPORT_FILE}: not valid JSON ({e})") from None
    if export and export.get("merged"):
        if not (path / MERGED_BACKBONE_DIR).is_dir():
            raise FileNotFoundError(f"{path / MERGED_BACKBONE_DIR}: the merged backbone of this export is missing")
        return Source(path, spec, None, dict(export.get("adapter_header", {})), export)
    adapter = path / ADAPTER_FILE
    if not adapter.is_file():
        raise FileNotFoundError(f"{adapter}: adapter not found (training incomplete?)")
    return Source(path, spec, adapter, read_adapter_header(adapter), export)


def resolve_backbone(source: Source, backbone: str | None) -> str:
    """``--backbone``, else the backbone an export names (or holds, merged), else a from-config run's
    config name; a plain run directory records only the backbone's name, so it needs the flag."""
    if source.merged:
        if backbone:
            raise PredictError(f"{source.path}: a merged export carries its backbone; drop --backbone")
        return str(source.path / MERGED_BACKBONE_DIR)
    if backbone:
        return backbone
    if source.export and source.export.get("backbone"):
        return str(source.export["backbone"])
    if source.spec.from_config:
        return source.spec.backbone
    raise PredictError(
        f"{source.path}: the run records its backbone only by name ({source.spec.backbone!r}); "
        f"pass --backbone with the directory or hub name it was trained on"
    )


def resolve_clip(source: Source, clip: str | None) -> str:
    """``--clip``, else the CLIP the export names, else the CLIP name the run's features record (a
    model name in the clip cache, e.g. RN101); the checkpoint's sha256 must match the recorded one."""
    from vlpeft.features.clip_loader import resolve_checkpoint
    from vlpeft.io import sha256_file

    feats = source.features
    recorded = feats.get("encoder")
    name = clip or (source.export or {}).get("clip") or recorded
    if not name:
        raise PredictError(f"{source.path}: the run does not record its CLIP; pass --clip")
    try:
        path = resolve_checkpoint(name)
    except FileNotFoundError as e:
        hint = "" if clip else f" (the run's features were computed by {recorded!r}; pass --clip with its checkpoint)"
        raise FileNotFoundError(f"{e}{hint}") from None
    want = feats.get("checkpoint_sha256")
    if want and len(str(want)) == 64:  # a real sha256 (VALUE's released features record none)
        got = sha256_file(path)
        if got != want:
            raise PredictError(
                f"--clip {name}: CLIP checkpoint {path.name} (sha256 {got[:12]}...) is not the one "
                f"this run's features were computed with ({recorded}, sha256 {str(want)[:12]}...)"
            )
    return str(name)


# -- features ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def feature_cache(arrays: dict[str, np.ndarray], kind: str) -> Iterator[Any]:
    """The arrays as a temporary feature cache written and read by `vlpeft.features.cache` (float16
    on disk, float32 on read), so the example reaches `TaskData` exactly as a cached one does."""
    from vlpeft.features.cache import FeatureReader, add_dataset, h5_writer

    with tempfile.TemporaryDirectory(prefix="vlpeft-predict-") as tmp:
        path = Path(tmp) / "features.h5"
        with h5_writer(path, {"encoder": "predict", "kind": kind}) as f:
            for key, value in arrays.items():
                add_dataset(f, key, np.asarray(value, dtype=np.float16))
        with FeatureReader(path) as reader:
            yield reader


def image_features(clip_model: Any, preprocess: Any, paths: list[str], device: Any) -> list[np.ndarray]:
    """The ``(49, C)`` RN layer4 grid of each image, rounded to float16 as the cache stores it."""
    import torch

    from vlpeft.features.clip_loader import image_grid_features, is_resnet
    from vlpeft.features.extract import open_image

    if not is_resnet(clip_model):
        raise PredictError("image tasks need the run's CLIP ResNet (grid features); this --clip is a ViT")
    dtype = next(clip_model.parameters()).dtype
    out = []
    for p in paths:  # one at a time, as a batch of the features step computes each image
        pixels = preprocess(open_image(Path(p))).unsqueeze(0)
        out.append(image_grid_features(clip_model, pixels.to(device, dtype)).to(torch.float16).cpu().numpy()[0])
    return out


def sampling_spec(
    source: Source, num_frames: int | None, fps: float | None, size: int | None, backend: str | None
) -> Any:
    """The frame sampling: the flags, else what the run's video features record, else `vlpeft frames`' default."""
    from vlpeft.video.frames import SamplingSpec

    rec = source.features
    if num_frames is None and fps is None:
        num_frames, fps = rec.get("frames_num_frames"), rec.get("frames_sample_fps")
        if num_frames is None and fps is None:
            num_frames = DEFAULT_NUM_FRAMES
    if size is None:
        size = rec.get("frames_size")
    return SamplingSpec(
        num_frames=num_frames, sample_fps=fps, size=size, backend=backend or rec.get("frames_backend", "torchcodec")
    )


def video_features(
    clip_model: Any, preprocess: Any, path: str, spec: Any, device: Any, batch_size: int = 32
) -> tuple[np.ndarray, dict[str, Any]]:
    """``(T, D)`` per-frame CLIP embeddings (float16) of the sampled frames, and the frames' attributes."""
    import torch
    from PIL import Image

    from vlpeft.features.clip_loader import embed_frames
    from vlpeft.video.decode import resolve_backend
    from vlpeft.video.frames import SamplingSpec, load_video

    spec = SamplingSpec(spec.num_frames, spec.sample_fps, spec.size, resolve_backend(spec.backend))
    frames, attrs = load_video(path, spec)
    pixels = torch.stack([preprocess(Image.fromarray(f)) for f in frames])
    emb = embed_frames(clip_model, pixels, batch_size, device)
    return emb.to(torch.float16).cpu().numpy(), attrs


# -- the model --------------------------------------------------------------------------------------


def load_model(source: Source, backbone: str, feat_dim: int) -> tuple[Any, Any, Any]:
    """(model, tokenizer, text options) rebuilt as `vlpeft evaluate` does; a merged export is the
    stock backbone class with the LoRA folded in, plus its visual projection."""
    from vlpeft.train.build import build_run_model, text_options

    if source.feat_dim is not None and source.feat_dim != feat_dim:
        raise PredictError(
            f"{source.path}: this run was trained on {source.feat_dim}-d features "
            f"({source.features.get('encoder', 'its CLIP')}), the given --clip gives {feat_dim}-d ones"
        )
    if source.merged:
        from vlpeft.io import seed_everything
        from vlpeft.models import build_model, load_tokenizer, load_visual_embedding

        seed_everything(source.spec.seed)
        model = build_model(backbone, feat_dim=feat_dim)
        if not load_visual_embedding(model, backbone, source.spec.group):
            raise FileNotFoundError(f"{backbone}: the merged export has no {source.spec.group} visual projection")
        assert source.export is not None  # source.merged: an export
        return model, load_tokenizer(backbone), text_options(source.spec, source.export.get("method_config", {}))
    from vlpeft.pet import load_adapter

    try:
        model, tokenizer, method_cfg = build_run_model(source.spec, backbone, feat_dim)
    except OSError as e:
        raise FileNotFoundError(f"--backbone {backbone}: cannot load it ({e})") from None
    try:
        load_adapter(source.adapter, model)
    except ValueError as e:
        if "arch mismatch" in str(e) or "backbone_fingerprint mismatch" in str(e):
            raise PredictError(
                f"--backbone {backbone}: not the backbone this run was trained on "
                f"({source.spec.backbone!r}): {source.adapter}: {str(e).split(': ', 1)[1]}"
            ) from None
        raise
    return model, tokenizer, text_options(source.spec, method_cfg)


# -- the example -------------------------------------------------------------------------------------


@dataclass
class Inputs:
    """What the user gives: image paths (two for nlvr) or a video, and the task's text."""

    images: list[str] = field(default_factory=list)
    video: str | None = None
    question: str | None = None
    statement: str | None = None
    choices: list[str] = field(default_factory=list)
    subtitles: list[str] = field(default_factory=list)
    ts: tuple[float, float] | None = None


def _need(value: Any, flag: str, task: str) -> Any:
    if not value:
        raise PredictError(f"task {task} needs {flag}")
    return value


def check_inputs(task: str, inputs: Inputs) -> None:
    """One clear error for a missing or surplus input of the task."""
    spec = get_task(task)
    if spec.is_video:
        if inputs.images or not inputs.video:
            raise PredictError(f"task {task} is a video task: give --video PATH (and no --image)")
        if not Path(inputs.video).is_file():
            raise FileNotFoundError(f"{inputs.video}: video file not found")
    else:
        if inputs.video or len(inputs.images) != spec.num_images:
            n = spec.num_images
            raise PredictError(
                f"task {task} takes {n} image{'s' if n > 1 else ''}: give --image PATH"
                f"{' --image PATH2' if n > 1 else ''} (and no --video)"
            )
        for p in inputs.images:
            if not Path(p).is_file():
                raise FileNotFoundError(f"{p}: image file not found")
    fam = spec.family
    if fam in ("image_qa", "video_qa"):
        _need(inputs.question, "--question", task)
    if fam == "nlvr":
        _need(inputs.statement, "--statement", task)
    if fam == "video_qa" and len(inputs.choices) != spec.num_choices:
        raise PredictError(
            f"task {task} takes {spec.num_choices} answer choices (--choice, repeated), got {len(inputs.choices)}"
        )


def example_row(task: str, inputs: Inputs, duration: float | None = None) -> dict[str, Any]:
    """The annotation row of the task family (schemas in vlpeft/tasks.py)."""
    spec = get_task(task)
    fam = spec.family
    if fam == "image_qa":
        return {"id": EXAMPLE_ID, "image_id": "image0", "question": inputs.question}
    if fam == "nlvr":
        return {"id": EXAMPLE_ID, "image_ids": ["image0", "image1"], "sentence": inputs.statement}
    if fam == "caption":
        return {"id": EXAMPLE_ID, "image_id": "image0"}
    ts = list(inputs.ts) if inputs.ts else [0.0, float(duration or 0.0)]
    row: dict[str, Any] = {
        "id": EXAMPLE_ID,
        "video_id": "video",
        "ts": ts,
        "subtitles": [{"start": ts[0], "end": ts[1], "text": s} for s in inputs.subtitles],
    }
    if fam == "video_qa":
        row.update(question=inputs.question, choices=list(inputs.choices))
    return row


def predict(
    source_path: str | os.PathLike,
    task: str,
    inputs: Inputs,
    *,
    backbone: str | None = None,
    clip: str | None = None,
    device: str = "auto",
    num_frames: int | None = None,
    fps: float | None = None,
    size: int | None = None,
    backend: str | None = None,
) -> dict[str, Any]:
    """Run one prediction; returns ``{"task", "prediction", ...}`` (``answer``: the chosen choice's
    text for video QA; ``frames``: the sampled frame times for a video)."""
    import torch

    from vlpeft.device import resolve as resolve_device
    from vlpeft.eval.decode import decode_task
    from vlpeft.features.clip_loader import load_clip
    from vlpeft.train.data import TaskData

    if task not in TASKS:
        raise PredictError(f"--task: unknown task {task!r}; known tasks: {', '.join(TASKS)}")
    source = open_source(source_path)
    if task not in source.spec.tasks:
        raise PredictError(f"{source.path}: task {task} was not trained in this run ({', '.join(source.spec.tasks)})")
    check_inputs(task, inputs)
    dev = resolve_device(device)
    backbone_name = resolve_backbone(source, backbone)
    clip_name = resolve_clip(source, clip)
    clip_model, preprocess = load_clip(clip_name, dev)
    spec = get_task(task)
    result: dict[str, Any] = {"task": task}
    if spec.is_video:
        sampling = sampling_spec(source, num_frames, fps, size, backend)
        assert inputs.video is not None  # check_inputs: a video task has --video
        feats, attrs = video_features(clip_model, preprocess, inputs.video, sampling, dev)
        arrays = {"video": feats}
        row = example_row(task, inputs, attrs.get("duration"))
        result["frames"] = [round(float(t), 3) for t in attrs["timestamps"]]
    else:
        grids = image_features(clip_model, preprocess, inputs.images, dev)
        arrays = {f"image{i}": g for i, g in enumerate(grids)}
        row = example_row(task, inputs)
    del clip_model
    feat_dim = int(next(iter(arrays.values())).shape[-1])
    model, tokenizer, text = load_model(source, backbone_name, feat_dim)
    model.to(dev).eval()
    with feature_cache(arrays, "video" if spec.is_video else "image") as reader, torch.inference_mode():
        data = TaskData(spec, [row], reader, text, source.spec.seed)
        prediction = decode_task(model, tokenizer, data, 1, dev, False, source.spec.precision)[EXAMPLE_ID]
    result["prediction"] = prediction
    if spec.family == "video_qa":
        idx = prediction[1:] if prediction.startswith("a") else ""
        result["answer"] = inputs.choices[int(idx)] if idx.isdigit() and int(idx) < len(inputs.choices) else None
    result["source"] = {"run": source.spec.method, "backbone": source.spec.backbone, "group": source.spec.group}
    return result


# -- CLI ------------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from vlpeft.device import DEVICE_HELP, device_arg

    parser.add_argument(
        "source",
        metavar="RUN_OR_EXPORT_DIR",
        help="a run directory (run.json + adapter.safetensors) or a `vlpeft export` folder",
    )
    parser.add_argument("--task", required=True, choices=list(TASKS), help="the task to run (one of the run's tasks)")
    media = parser.add_mutually_exclusive_group(required=True)
    media.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="PATH",
        help="an image (give it twice for nlvr: left, then right)",
    )
    media.add_argument("--video", metavar="PATH", help="a video (video tasks)")
    parser.add_argument("--question", help="the question (vqa, gqa, tvqa, how2qa)")
    parser.add_argument("--statement", help="the statement to verify on the two images (nlvr)")
    parser.add_argument(
        "--choice",
        action="append",
        default=[],
        metavar="TEXT",
        help="an answer choice (video QA; repeat: 5 for tvqa, 4 for how2qa)",
    )
    parser.add_argument(
        "--subtitle",
        action="append",
        default=[],
        metavar="TEXT",
        help="a subtitle line (video tasks; repeatable, in order)",
    )
    parser.add_argument(
        "--ts",
        nargs=2,
        type=float,
        metavar=("START", "END"),
        help="the moment asked about, in seconds (video tasks; default: the whole video)",
    )
    parser.add_argument(
        "--backbone", help="backbone directory or hub name (default: the one an export names; a run directory needs it)"
    )
    parser.add_argument(
        "--clip",
        help="CLIP checkpoint file or model name (default: the one the run records; "
        "checked against the sha256 the run's features record)",
    )
    parser.add_argument("--num-frames", type=int, help="frames sampled from the video (default: as the run's features)")
    parser.add_argument("--fps", type=float, help="sample one frame every 1/F seconds instead")
    parser.add_argument("--size", type=int, help="resize frames so the shorter side is S pixels (default: as the run)")
    parser.add_argument(
        "--backend",
        choices=("torchcodec", "pyav", "decord"),
        help="video decoder tried first (default: as the run); a bad batch falls back to the next",
    )
    parser.add_argument("--device", default="auto", type=device_arg, help=f"{DEVICE_HELP} (default auto)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the text")


def run(args: argparse.Namespace) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a prediction prints its answer, not loading bars
    inputs = Inputs(
        images=list(args.image),
        video=args.video,
        question=args.question,
        statement=args.statement,
        choices=list(args.choice),
        subtitles=list(args.subtitle),
        ts=tuple(args.ts) if args.ts else None,
    )
    result = predict(
        args.source,
        args.task,
        inputs,
        backbone=args.backbone,
        clip=args.clip,
        device=args.device,
        num_frames=args.num_frames,
        fps=args.fps,
        size=args.size,
        backend=args.backend,
    )
    if args.json:
        print(json.dumps(result, sort_keys=True))
    elif result.get("answer") is not None:
        print(f"{result['prediction']}: {result['answer']}")
    else:
        print(result["prediction"])
    return 0
