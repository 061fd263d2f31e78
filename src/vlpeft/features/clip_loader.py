"""Load OpenAI CLIP through the `clip` package (clip-anytorch) and compute the two kinds of visual
features of docs/methods.md section C: the RN ``visual.layer4`` grid for images, and the per-frame
``encode_image`` embedding of the ViT tower for videos."""

from __future__ import annotations

import importlib.util
import os
import pickle
import sys
import types
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:  # annotations only; the clip package ships no type information
    from clip.model import CLIP
    from torchvision.transforms import Compose

CLIP_CACHE = Path(os.environ.get("CLIP_CACHE", Path.home() / ".cache" / "clip"))


def import_clip() -> types.ModuleType:
    """``import clip``. clip-anytorch 2.6.0 imports ``packaging`` through ``pkg_resources``, which
    setuptools >= 81 no longer ships; give it the real ``packaging`` under that name if needed."""
    if "clip" not in sys.modules and importlib.util.find_spec("pkg_resources") is None:
        import packaging.version

        shim = types.ModuleType("pkg_resources")
        shim.packaging = packaging  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pkg_resources.*")
        import clip

    return clip


def resolve_checkpoint(name_or_path: str | os.PathLike, download_root: str | os.PathLike | None = None) -> Path:
    """The local file behind a CLIP model name (e.g. ``RN101``, looked up in ``~/.cache/clip`` or
    ``$CLIP_CACHE``) or a path to a checkpoint. Never downloads."""
    clip = import_clip()
    text = str(name_or_path)
    path = Path(text).expanduser()
    if path.is_file():
        return path
    if text in clip.clip._MODELS:
        cached = Path(download_root or CLIP_CACHE) / os.path.basename(clip.clip._MODELS[text])
        if cached.is_file():
            return cached
        raise FileNotFoundError(
            f"CLIP model {text!r} is not available offline (no file {cached}); download it once with "
            f"`python -c \"import clip; clip.load('{text}', device='cpu')\"` on a machine with network "
            f"access, or pass the path to a checkpoint file instead of the name"
        )
    raise FileNotFoundError(f"{text}: CLIP checkpoint not found (neither a file nor one of {clip.available_models()})")


def load_clip(
    name_or_path: str | os.PathLike, device: str | torch.device = "cpu", download_root: str | os.PathLike | None = None
) -> tuple[CLIP, Callable[[Any], torch.Tensor]]:
    """``clip.load(name_or_path, device, jit=False)`` without any download: the model (eval mode;
    fp16 weights on CUDA, fp32 on CPU, as clip.load does) and the features step's preprocessing,
    `squash_preprocess` (the whole image resized to the input resolution, CLIP mean/std).
    ``FileNotFoundError`` for a name that is not
    available offline, ``ValueError`` naming the file for a checkpoint that does not fit CLIP."""
    clip = import_clip()
    path = resolve_checkpoint(name_or_path, download_root)
    try:
        with warnings.catch_warnings():  # clip.load first tries torch.jit.load, deprecated in torch 2.x
            warnings.filterwarnings("ignore", message=".*torch.jit.load.*", category=FutureWarning)
            model, preprocess = clip.load(str(path), device=device, jit=False)
    except (
        RuntimeError,
        KeyError,
        IndexError,
        AssertionError,
        ValueError,
        TypeError,
        AttributeError,
        EOFError,
        pickle.UnpicklingError,
    ) as e:
        detail = " ".join(line.strip() for line in str(e).splitlines() if line.strip())
        raise ValueError(
            f"{path}: not a CLIP checkpoint that clip.model.build_model can rebuild "
            f"({type(e).__name__}: {detail[:300]})"
        ) from None
    return model.eval(), squash_preprocess(model.visual.input_resolution)


def squash_preprocess(resolution: int = 224) -> Compose:
    """The papers' feature-extraction preprocessing (docs/methods.md, section C: image features):
    ``Resize((n, n))`` bicubic on the *whole* image (aspect ratio not kept), ``CenterCrop(n)`` (then
    a no-op), RGB, ``ToTensor``, CLIP mean/std. Not ``clip.load``'s transform, whose short-side
    resize + centre crop cuts the borders of non-square images."""
    from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize, ToTensor

    clip = import_clip()
    return Compose(
        [
            Resize((resolution, resolution), interpolation=InterpolationMode.BICUBIC),
            CenterCrop(resolution),
            clip.clip._convert_image_to_rgb,
            ToTensor(),
            Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
        ]
    )


def is_resnet(model: torch.nn.Module) -> bool:
    """Whether the visual tower is CLIP's ModifiedResNet (RN50, RN101, ...)."""
    return hasattr(model.visual, "layer4")


@torch.no_grad()
def image_grid_features(model: CLIP, images: torch.Tensor) -> torch.Tensor:
    """The ``visual.layer4`` map of a CLIP ResNet (before attention pooling) as ``(B, H*W, C)``,
    row-major over the grid: ``(B, 49, 2048)`` for RN101 at 224 px."""
    if not is_resnet(model):
        raise ValueError("image grid features need a CLIP ResNet (e.g. RN101); this checkpoint has a ViT visual tower")
    grid: list[torch.Tensor] = []
    hook = model.visual.layer4.register_forward_hook(lambda _m, _i, out: grid.append(out))
    try:
        model.encode_image(images)  # the attention pool also runs: cheap next to the trunk
    finally:
        hook.remove()
    fmap = grid[0]  # (B, C, H, W)
    return fmap.flatten(2).transpose(1, 2)


@torch.no_grad()
def frame_embeddings(model: CLIP, frames: torch.Tensor) -> torch.Tensor:
    """One ``encode_image`` embedding per frame, ``(T, D)`` (512-d for ViT-B/32)."""
    return model.encode_image(frames)


def embed_frames(model: CLIP, frames: torch.Tensor, batch_size: int, device: str | torch.device) -> torch.Tensor:
    """`frame_embeddings` of ``(T, 3, S, S)`` frames in chunks of ``batch_size``, on ``device`` in the
    model's dtype (fp16 on CUDA as clip.load gives it, fp32 on CPU)."""
    dtype = next(model.parameters()).dtype
    return torch.cat([frame_embeddings(model, c.to(device, dtype)) for c in torch.split(frames, batch_size)])
