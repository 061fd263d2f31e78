"""Feature caching: images (and frames) per second of the whole `vlpeft.features.extract.extract_features`
step (checkpoint hash and load, decoding, preprocessing, forward, HDF5 writes) against

- the pure model forward at the same batch size on pre-loaded, pre-processed tensors (goal >= 0.9:
  the step adds at most 10 % to the model's own cost), and
- for images, a naive loop like the original repositories' scripts: load the model, then per image
  open, preprocess, forward one image, save one .h5 file (no goal on CPU; >= 3x on a GPU).

The real-size figure uses randomly initialised CLIP RN101 (image grids) and ViT-B/32 (video frames)
built by ``clip.model.CLIP`` with their architecture numbers (nothing downloaded); --quick uses the
tiny demo CLIPs.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common import Context, interleaved_runs, machine_info, rate_measurement, timed
from PIL import Image

NAME = "features"
GOAL_VS_FORWARD = 0.9
GOAL_VS_NAIVE_GPU = 3.0
_TEXT = dict(context_length=77, vocab_size=49408, transformer_width=512, transformer_heads=8, transformer_layers=12)
# clip.model.CLIP(...) arguments of OpenAI's RN101 and ViT-B/32 (as clip.model.build_model infers them).
ARCHITECTURES = {
    "RN101": dict(
        embed_dim=512,
        image_resolution=224,
        vision_layers=(3, 4, 23, 3),
        vision_width=64,
        vision_patch_size=None,
        **_TEXT,
    ),
    "ViT-B-32": dict(
        embed_dim=512, image_resolution=224, vision_layers=12, vision_width=768, vision_patch_size=32, **_TEXT
    ),
}


@dataclass(frozen=True)
class Sizes:
    """How much work one run does."""

    images: int
    naive_images: int  # the naive loop's rate is measured on the first images only (it is slow)
    image_size: tuple[int, int]  # (width, height) of the JPEGs
    videos: int  # demo-like videos, 8 frames each
    batch_size: int


def sizes(ctx: Context) -> Sizes:
    if ctx.quick:
        return Sizes(images=8, naive_images=4, image_size=(160, 120), videos=2, batch_size=4)
    if ctx.device.startswith("cuda"):
        return Sizes(images=2048, naive_images=512, image_size=(640, 480), videos=256, batch_size=32)
    return Sizes(images=32, naive_images=8, image_size=(640, 480), videos=8, batch_size=16)


def make_checkpoints(ctx: Context) -> dict[str, Path]:
    """Random-weight CLIP checkpoints in the `clip` package's format, written once: ``{"image": RN,
    "video": ViT}`` (the tiny demo towers with --quick)."""
    from vlpeft.features.clip_loader import import_clip
    from vlpeft.features.demo_clip import build_demo_clip, save_clip

    folder = ctx.scratch("clip")
    names = {"image": "demo_rn", "video": "demo_vit"} if ctx.quick else {"image": "RN101", "video": "ViT-B-32"}
    paths = {}
    for kind, name in names.items():
        path = paths[kind] = folder / f"random_{name}.pt"
        if not path.exists():
            import torch

            torch.manual_seed(0)
            model = (
                build_demo_clip(name.removeprefix("demo_"))
                if ctx.quick
                else import_clip().model.CLIP(**ARCHITECTURES[name])
            )
            save_clip(model, path)
    return paths


def make_images(ctx: Context, s: Sizes) -> Path:
    """``s.images`` smooth random JPEGs (photo-like sizes and file sizes), deterministic, written once."""
    folder = ctx.workdir / "images" / f"{s.images}x{s.image_size[0]}x{s.image_size[1]}"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(s.images):
        coarse = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
        path = folder / f"{i:06d}.jpg"
        if not path.exists():
            Image.fromarray(coarse).resize(s.image_size, Image.BICUBIC).save(path, quality=90)
    return folder


def make_frames(ctx: Context, s: Sizes) -> Path:
    """frames.h5 of ``s.videos`` demo-like videos (96x96, 4 s at 8 fps), 8 frames each."""
    from bench_frames import VideoSet, config_backend, make_videos

    from vlpeft.video.frames import SamplingSpec, extract_frames

    videos = make_videos(VideoSet("demo", s.videos, 96, 96, 8, 4, 2, 18), ctx)
    out = videos.parent.parent / "frames" / f"{videos.name}.h5"
    if not out.exists():
        extract_frames(videos, out, SamplingSpec(num_frames=8, backend=config_backend()), progress=False)
    return out


class Forward:
    """The pure model forward over pre-loaded, pre-processed inputs, ``batch_size`` at a time."""

    def __init__(self, checkpoint: Path, kind: str, pixels, batch_size: int, device: str):
        from vlpeft.features.clip_loader import load_clip

        self.model, _ = load_clip(checkpoint, device)
        self.dtype = next(self.model.parameters()).dtype
        self.kind, self.pixels, self.batch_size, self.device = kind, pixels, batch_size, device

    def __call__(self) -> int:
        import torch

        from vlpeft.features.clip_loader import frame_embeddings, image_grid_features

        encode = image_grid_features if self.kind == "image" else frame_embeddings
        for chunk in torch.split(self.pixels, self.batch_size):
            encode(self.model, chunk.to(self.device, self.dtype))
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
        return len(self.pixels)


def preprocessed(checkpoint: Path, kind: str, source: Path):
    """All inputs of a run as one pre-processed tensor (N, 3, 224, 224), built outside the timing."""
    import torch

    from vlpeft.features.clip_loader import load_clip
    from vlpeft.features.extract import list_images, open_image
    from vlpeft.video.frames import FrameReader

    _, preprocess = load_clip(checkpoint, "cpu")
    if kind == "image":
        return torch.stack([preprocess(open_image(p)) for p in list_images(source)])
    with FrameReader(source) as reader:
        return torch.stack([preprocess(Image.fromarray(f)) for k in reader.keys() for f in reader.get(k)])


def ours(checkpoint: Path, kind: str, source: Path, out: Path, s: Sizes, device: str, loop_seconds: list[float]) -> int:
    """The whole caching step, as `vlpeft features` runs it; appends to ``loop_seconds`` the time of
    its loop alone (decoding, preprocessing, forward, writes: after the checkpoint is hashed and loaded)."""
    from vlpeft.features.extract import extract_features

    key = "images" if kind == "image" else "frames"
    result = extract_features(
        kind, checkpoint, out, **{key: source}, batch_size=s.batch_size, device=device, progress=False
    )
    loop_seconds.append(result["seconds"])
    return result["images"]


def naive(checkpoint: Path, images: Path, out: Path, device: str, limit: int) -> int:
    """The original scripts' way: load the model, then one image at a time, one .h5 file per image."""
    import h5py
    import torch

    from vlpeft.features.clip_loader import image_grid_features, load_clip

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    model, preprocess = load_clip(checkpoint, device)
    dtype = next(model.parameters()).dtype
    paths = sorted(images.glob("*.jpg"))[:limit]
    for path in paths:
        pixels = preprocess(Image.open(path).convert("RGB")).unsqueeze(0).to(device, dtype)
        grid = image_grid_features(model, pixels)[0].to(torch.float16).cpu().numpy()
        with h5py.File(out / f"{path.stem}.h5", "w") as f:
            f.create_dataset("features", data=grid)
    return len(paths)


def run(ctx: Context) -> list[dict]:
    """Records: image grids vs forward, image grids vs naive, video frames vs forward."""
    import torch

    s = sizes(ctx)
    ckpt = make_checkpoints(ctx)
    sources = {"image": make_images(ctx, s), "video": make_frames(ctx, s)}
    work = ctx.scratch("features_out")
    machine = machine_info(ctx.device)
    records = []
    for kind in ("image", "video"):
        forward = Forward(ckpt[kind], kind, preprocessed(ckpt[kind], kind, sources[kind]), s.batch_size, ctx.device)
        loop: list[float] = []
        fns = {
            "ours": lambda k=kind: ours(ckpt[k], k, sources[k], work / f"{k}.h5", s, ctx.device, loop),
            "forward": forward,
        }
        if kind == "image":
            fns["naive"] = lambda: naive(ckpt["image"], sources["image"], work / "naive", ctx.device, s.naive_images)
        fixed, _ = timed(lambda k=kind: _load_cost(ckpt[k], ctx.device))
        # no warm-up run: the checkpoint and inputs were just read (file cache), the libraries imported
        seconds, items = interleaved_runs(fns, ctx.repeats, f"features {kind}")
        unit = "images/s" if kind == "image" else "frames/s"
        model = "CLIP " + ckpt[kind].stem.removeprefix("random_")
        common = dict(
            batch_size=s.batch_size,
            device=ctx.device,
            torch_threads=torch.get_num_threads(),
            checkpoint_load_seconds=round(fixed, 3),
        )
        inputs = f"images {s.image_size[0]}x{s.image_size[1]}" if kind == "image" else "frames of 96x96 videos"
        what = f"{items['ours']} {inputs}, {model} (random weights)"
        records.append(
            rate_measurement(
                f"features_{kind}_vs_forward",
                (items["ours"], items["forward"]),
                loop,
                seconds["forward"],
                unit,
                GOAL_VS_FORWARD,
                machine,
                what=f"{what}: extract_features' loop (decoding and preprocessing "
                f"in DataLoader workers, forward, HDF5 writes; the one-off checkpoint hash+load excluded, see "
                f"checkpoint_load_seconds) vs the model forward on pre-loaded tensors",
                **common,
            )
        )
        records.append(
            rate_measurement(
                f"features_{kind}_whole_step_vs_forward",
                (items["ours"], items["forward"]),
                seconds["ours"],
                seconds["forward"],
                unit,
                None,
                machine,
                what=f"{what}: the whole extract_features call, incl. "
                f"the one-off checkpoint hash+load (amortised over a real data set's 100k+ images)",
                **common,
            )
        )
        if kind == "image":
            records.append(
                rate_measurement(
                    "features_image_vs_naive",
                    (items["ours"], items["naive"]),
                    seconds["ours"],
                    seconds["naive"],
                    unit,
                    GOAL_VS_NAIVE_GPU if ctx.device.startswith("cuda") else None,
                    machine,
                    what=f"{what}: extract_features vs a one-image-at-a-time loop (open, preprocess, forward, "
                    f"one .h5 per image; model loaded once) timed on the first {items['naive']} images",
                    **common,
                )
            )
        del forward
    shutil.rmtree(work, ignore_errors=True)
    return records


def _load_cost(checkpoint: Path, device: str) -> None:
    """What extract_features pays before the first image: checkpoint sha256 and model load."""
    from vlpeft.features.clip_loader import load_clip
    from vlpeft.features.extract import encoder_identity

    encoder_identity(checkpoint)
    load_clip(checkpoint, device)
