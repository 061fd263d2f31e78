"""The features step: CLIP features of every image of a folder, or of every video of a frames file,
cached in one HDF5 file (`features/<ds>/<name>.h5`, one float16 dataset per id, sorted by id)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from vlpeft.io import sha256_file
from vlpeft.progress import ProgressBar
from vlpeft.progress import progress_bar as tqdm
from vlpeft.provenance import frames_attrs
from vlpeft.video.frames import FrameReader

from .cache import add_dataset, h5_writer
from .clip_loader import embed_frames, image_grid_features, is_resnet, load_clip, resolve_checkpoint

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
JPEG_EXTENSIONS = (".jpg", ".jpeg")
JPEG_CHECKS = 4  # JPEGs decoded both ways before torchvision's decoder is trusted for a folder
KINDS = ("image", "video")


def list_images(images_dir: str | os.PathLike) -> list[Path]:
    """Image files of ``images_dir`` sorted by name; the id of an image is its file stem."""
    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise FileNotFoundError(f"{images_dir}: image folder not found")
    paths = sorted(p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not paths:
        raise FileNotFoundError(f"{images_dir}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
    return paths


def open_image(path: Path) -> Image.Image:
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except (OSError, SyntaxError) as e:  # PIL raises both for broken files
        raise ValueError(f"{path}: not a readable image ({e})") from None


def decode_jpeg_fast(path: Path) -> Image.Image:
    """A JPEG decoded by torchvision's ``decode_jpeg`` (libjpeg-turbo), as an RGB PIL image; PIL
    (`open_image`) for whatever it cannot read. On a 640x480 JPEG it takes 1.2-1.9 ms here, about
    PIL's time (the squash resize, ~3.5 ms, dominates preprocessing either way)."""
    from torchvision.io import ImageReadMode, decode_jpeg, read_file

    try:
        pixels = decode_jpeg(read_file(str(path)), mode=ImageReadMode.RGB)
    except (RuntimeError, ValueError):
        return open_image(path)
    return Image.fromarray(pixels.permute(1, 2, 0).contiguous().numpy())  # strided: 25 % slower


def jpeg_decoder(paths: list[Path], checks: int = JPEG_CHECKS) -> str:
    """``"torchvision"`` if `decode_jpeg_fast` gives exactly PIL's pixels on the first ``checks``
    JPEGs of ``paths`` (a faster decoder must not change a pixel), else ``"pil"``."""
    jpegs = [p for p in paths if p.suffix.lower() in JPEG_EXTENSIONS][:checks]
    if not jpegs:
        return "pil"
    try:
        same = all(np.array_equal(np.asarray(decode_jpeg_fast(p)), np.asarray(open_image(p))) for p in jpegs)
    except ValueError:  # a broken file: PIL names it in the loop
        return "pil"
    return "torchvision" if same else "pil"


class ImageFolder(Dataset):
    """``(index, preprocessed image)`` for each image file, in sorted order; JPEGs through
    `decode_jpeg_fast` when ``jpeg == "torchvision"`` (see `jpeg_decoder`)."""

    def __init__(self, paths: list[Path], preprocess: Callable[[Image.Image], torch.Tensor], jpeg: str = "pil"):
        self.paths, self.preprocess, self.jpeg = paths, preprocess, jpeg

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor]:
        path = self.paths[i]
        fast = self.jpeg == "torchvision" and path.suffix.lower() in JPEG_EXTENSIONS
        return i, self.preprocess(decode_jpeg_fast(path) if fast else open_image(path))


class FrameVideos(Dataset):
    """``(index, preprocessed frames (T, 3, S, S), timestamps)`` for each video of a frames file.
    Each process opens its own HDF5 handle (h5py handles must not cross a fork)."""

    def __init__(self, path: str | os.PathLike, preprocess: Callable[[Image.Image], torch.Tensor]):
        self.path, self.preprocess = Path(path), preprocess
        with FrameReader(self.path) as reader:
            self.keys = reader.keys()
        self._reader: FrameReader | None = None
        self._pid = -1

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor, np.ndarray | None]:
        if self._reader is None or self._pid != os.getpid():  # None: _pid is still -1
            self._reader, self._pid = FrameReader(self.path), os.getpid()
        frames = self._reader.get(self.keys[i])
        pixels = torch.stack([self.preprocess(Image.fromarray(f)) for f in frames])
        return i, pixels, self._reader.item_attrs(self.keys[i]).get("timestamps")


def encoder_identity(name_or_path: str | os.PathLike) -> tuple[str, str]:
    """(``encoder`` attribute, sha256 of the checkpoint file): a model name as given, or the file
    name of a checkpoint path (never an absolute path)."""
    path = resolve_checkpoint(name_or_path)
    text = str(name_or_path)
    name = text if not Path(text).expanduser().is_file() else Path(text).name
    return name, sha256_file(path)


def _write_images(f, model: torch.nn.Module, loader: DataLoader, ids: list[str], device: str, bar: ProgressBar) -> int:
    dtype = next(model.parameters()).dtype  # fp16 on CUDA (clip.load), fp32 on CPU
    for idx, pixels in loader:
        grid = image_grid_features(model, pixels.to(device, dtype))
        for i, feats in zip(idx.tolist(), grid.to(torch.float16).cpu().numpy()):
            add_dataset(f, ids[i], feats)
        bar.update(len(idx))
    return len(ids)


def _write_videos(
    f, model: torch.nn.Module, loader: DataLoader, ids: list[str], device: str, batch_size: int, bar: ProgressBar
) -> int:
    """Frames of several videos are encoded together in chunks of ``batch_size``, then split back."""
    n_frames = 0
    for batch in loader:  # a list of (index, (T, 3, S, S), timestamps)
        frames = torch.cat([x for _, x, _ in batch])
        emb = embed_frames(model, frames, batch_size, device)
        for (i, _, times), e in zip(batch, torch.split(emb, [len(x) for _, x, _ in batch])):
            add_dataset(
                f, ids[i], e.to(torch.float16).cpu().numpy(), {"timestamps": times} if times is not None else None
            )
        n_frames += len(frames)
        bar.update(len(batch))
    return n_frames


def extract_features(
    kind: str,
    clip_name_or_path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    images: str | os.PathLike | None = None,
    frames: str | os.PathLike | None = None,
    batch_size: int = 32,
    device: str = "cpu",
    workers: int = 2,
    progress: bool = True,
) -> dict[str, Any]:
    """Compute and cache CLIP features (atomically: a failure leaves nothing at ``out``).

    ``kind="image"`` reads ``images`` (a folder) and stores the ``(49, C)`` RN layer4 grid of each
    image; ``kind="video"`` reads ``frames`` (a frames.h5) and stores ``(T, D)`` per-frame
    embeddings. Returns ``{"items", "images", "seconds", "images_per_s"}`` (images = frames for
    videos)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    source = images if kind == "image" else frames
    if source is None:
        raise ValueError(f"--kind {kind} needs {'--images DIR' if kind == 'image' else '--frames FILE'}")
    encoder, sha = encoder_identity(clip_name_or_path)
    model, preprocess = load_clip(clip_name_or_path, device)
    if kind == "image" and not is_resnet(model):
        raise ValueError(
            f"{encoder}: image grid features need a CLIP ResNet checkpoint (e.g. RN101), this one is a ViT"
        )
    jpeg = "pil"
    if kind == "image":
        paths = list_images(source)
        ids = [p.stem for p in paths]
        jpeg = jpeg_decoder(paths)
        loader = DataLoader(
            ImageFolder(paths, preprocess, jpeg),
            batch_size=batch_size,
            num_workers=workers,
            pin_memory=device.startswith("cuda"),
        )
    else:
        videos = FrameVideos(source, preprocess)
        ids = videos.keys
        if not ids:
            raise ValueError(f"{source}: the frames file holds no video")
        with FrameReader(source) as reader:
            videos_per_batch = max(1, batch_size // max(1, reader.shape(ids[0])[0]))
        loader = DataLoader(
            videos,
            batch_size=videos_per_batch,
            collate_fn=list,
            num_workers=workers,
            pin_memory=device.startswith("cuda"),
        )
    start = time.perf_counter()
    attrs = {"encoder": encoder, "checkpoint_sha256": sha, "kind": kind}
    if kind == "video":  # the frame sampling, for `vlpeft predict` (vlpeft.provenance)
        with FrameReader(source) as reader:
            attrs.update(frames_attrs(reader.attrs))
            rejected = reader.rejected_ids()
        if rejected:  # skip means skip: training and evaluation leave these videos out too
            attrs["rejected_ids"] = json.dumps(rejected)
            print(
                f"features: {len(rejected)} video(s) rejected by the frames step left out "
                f"({', '.join(rejected[:5])}{', ...' if len(rejected) > 5 else ''})",
                file=sys.stderr,
            )
    else:
        attrs["jpeg_decoder"] = jpeg
    with (
        h5_writer(out, attrs) as f,
        tqdm(total=len(ids), desc=f"features ({kind})", unit=kind, disable=not progress) as bar,
    ):
        if kind == "image":
            n_images = _write_images(f, model, loader, ids, device, bar)
        else:
            n_images = _write_videos(f, model, loader, ids, device, batch_size, bar)
        f.attrs["dim"] = int(f[ids[0]].shape[-1])
    seconds = time.perf_counter() - start
    return {"items": len(ids), "images": n_images, "seconds": seconds, "images_per_s": n_images / max(seconds, 1e-9)}
