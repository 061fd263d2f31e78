"""`vlpeft clip-demo`: two tiny CLIP models (a ResNet tower for image grids, a ViT tower for video
frames) trained briefly and contrastively on the demo world's pre-training captions, saved as state
dicts in the `clip` package's own format, so that `clip.load(path, jit=False)` rebuilds them
through `clip.model.build_model` exactly as it would OpenAI's RN101 / ViT-B/32.

The models are built by `clip.model.CLIP` itself; the training loop (symmetric InfoNCE over a batch,
as in the CLIP paper) is our own, since the `clip` package ships no trainer.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from vlpeft.io import atomic_path, read_jsonl, seed_everything
from vlpeft.progress import progress_bar as tqdm

from .clip_loader import import_clip, load_clip, squash_preprocess

if TYPE_CHECKING:  # annotations only
    from clip.model import CLIP
    from torchvision.transforms import Compose

# clip.model.CLIP(embed_dim, image_resolution, vision_layers, vision_width, vision_patch_size,
#                 context_length, vocab_size, transformer_width, transformer_heads, transformer_layers).
# build_model infers text heads as width // 64, so the text width is 64 (one head); context 77 and
# the 49408-token vocabulary keep clip.tokenize working. RN width 8: layer4 has 8*32 = 256 channels
# on a 7x7 grid at 224 px; ViT width 64 (one head), patch 32 as in ViT-B/32.
TEXT = dict(context_length=77, vocab_size=49408, transformer_width=64, transformer_heads=1, transformer_layers=1)
CONFIGS: dict[str, dict[str, Any]] = {
    "rn": dict(
        embed_dim=64, image_resolution=224, vision_layers=(1, 1, 1, 1), vision_width=8, vision_patch_size=None, **TEXT
    ),
    "vit": dict(embed_dim=64, image_resolution=224, vision_layers=2, vision_width=64, vision_patch_size=32, **TEXT),
}
HELD_OUT_EVERY = 8  # about 1 pair in 8 is held out for the retrieval check


@dataclass
class Pair:
    """One training pair: an id, the images it may show (an image, or frames of a video) and its captions."""

    id: str
    images: list[Image.Image]
    captions: list[str]


def build_demo_clip(kind: str, seed: int = 0) -> CLIP:
    """A freshly initialised tiny CLIP of ``kind`` ``"rn"`` or ``"vit"`` (fp32)."""
    clip = import_clip()
    torch.manual_seed(seed)
    return clip.model.CLIP(**CONFIGS[kind])


def image_pairs(data_dir: Path) -> list[Pair]:
    """Pre-training image-caption pairs: ``annotations/pretrain/image_captions.jsonl`` rows
    ``{"id", "image_id", "captions"}`` and ``images/<image_id>.png``."""
    ann = data_dir / "annotations" / "pretrain" / "image_captions.jsonl"
    pairs = []
    for row in sorted(_rows(ann, "image_id"), key=lambda r: str(r["id"])):
        path = data_dir / "images" / f"{row['image_id']}.png"
        if not path.is_file():
            raise FileNotFoundError(f"{ann}: row {row['id']!r} names image {path}, which does not exist")
        with Image.open(path) as img:
            pairs.append(Pair(str(row["id"]), [img.convert("RGB")], list(row["captions"])))
    return pairs


def video_pairs(data_dir: Path, frames_per_video: int = 4, backend: str = "torchcodec") -> list[Pair]:
    """Pre-training video-caption pairs (``annotations/pretrain/video_captions.jsonl`` rows
    ``{"id", "video_id", "captions"}``), each with ``frames_per_video`` uniformly sampled frames of
    ``videos/<video_id>.mp4``, decoded by `vlpeft.video` (``backend`` first, checked, with fallback)."""
    from vlpeft.video.decode import resolve_backend
    from vlpeft.video.frames import SamplingSpec, load_video

    ann = data_dir / "annotations" / "pretrain" / "video_captions.jsonl"
    spec = SamplingSpec(num_frames=frames_per_video, backend=resolve_backend(backend))
    pairs, frames_of = [], {}
    for row in sorted(_rows(ann, "video_id"), key=lambda r: str(r["id"])):
        vid = str(row["video_id"])
        if vid not in frames_of:
            frames_of[vid] = [Image.fromarray(f) for f in load_video(data_dir / "videos" / f"{vid}.mp4", spec)[0]]
        pairs.append(Pair(str(row["id"]), frames_of[vid], list(row["captions"])))
    return pairs


def _rows(path: Path, id_key: str) -> list[dict]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: pre-training captions not found")
    rows = read_jsonl(path)
    for n, row in enumerate(rows, 1):
        if not {"id", id_key, "captions"} <= row.keys() or not row["captions"]:
            raise ValueError(f"{path}:{n}: expected keys 'id', '{id_key}' and a non-empty 'captions' list")
    if not rows:
        raise ValueError(f"{path}: no pre-training captions")
    return rows


def _held_out(pair: Pair) -> bool:
    # by a hash of the id, not by position, so that no pattern in the ids aliases with the split
    return int(hashlib.sha256(pair.id.encode()).hexdigest(), 16) % HELD_OUT_EVERY == 0


def split_pairs(pairs: list[Pair]) -> tuple[list[Pair], list[Pair]]:
    """(train, held-out): about one pair in ``HELD_OUT_EVERY`` is held out, chosen by its id."""
    return [p for p in pairs if not _held_out(p)], [p for p in pairs if _held_out(p)]


class PixelCache:
    """The resized and centre-cropped uint8 pixels of every image, computed once; ``batch`` applies
    the rest of CLIP's preprocessing (scaling to [0, 1], mean/std) to a batch of them."""

    def __init__(self, preprocess: Compose):
        *resize_crop, _to_tensor, self.normalize = preprocess.transforms  # the clip package's own steps
        self.resize_crop = resize_crop
        self._pixels: dict[int, torch.Tensor] = {}

    def __call__(self, image: Image.Image) -> torch.Tensor:
        key = id(image)  # the Pairs hold every image for the whole run, so ids are stable
        if key not in self._pixels:
            for step in self.resize_crop:
                image = step(image)
            self._pixels[key] = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1).contiguous()
        return self._pixels[key]

    def batch(self, images: list[Image.Image]) -> torch.Tensor:
        return self.normalize(torch.stack([self(i) for i in images]).float() / 255)


def train_clip(
    model: CLIP,
    pairs: list[Pair],
    preprocess: Callable[[Image.Image], torch.Tensor],
    steps: int,
    seed: int,
    batch_size: int = 24,
    lr: float = 1e-3,
) -> list[float]:
    """Contrastive training for ``steps`` steps on random batches of pairs (a random image/frame and
    a random caption of each); returns the loss of each step."""
    clip = import_clip()
    rng = random.Random(seed)
    pixels = PixelCache(preprocess)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.1)
    model.train()
    losses = []
    for _ in tqdm(range(steps), desc="clip-demo", unit="step", leave=False):
        batch = rng.sample(pairs, min(batch_size, len(pairs)))
        images = pixels.batch([rng.choice(p.images) for p in batch])
        tokens = clip.tokenize([rng.choice(p.captions) for p in batch], truncate=True)
        logits_img, logits_txt = model(images, tokens)
        target = torch.arange(len(batch))
        loss = (F.cross_entropy(logits_img, target) + F.cross_entropy(logits_txt, target)) / 2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():  # as in CLIP: the temperature is clipped at 100
            model.logit_scale.clamp_(0, np.log(100))
        losses.append(loss.item())
    return losses


@torch.no_grad()
def retrieval_accuracy(
    model: CLIP, pairs: list[Pair], preprocess: Callable[[Image.Image], torch.Tensor]
) -> dict[str, float]:
    """Recall@1 among ``pairs``, each represented by the mean embedding of its images (frames) and
    by its first caption. A hit is a retrieved caption that is one of the pair's captions
    (image->text) or a retrieved pair that has the query caption (text->image), so repeated
    captions are not counted as misses; ``chance`` is the expected image->text score of a random pick."""
    clip = import_clip()
    model.eval()
    img = torch.stack(
        [model.encode_image(torch.stack([preprocess(i) for i in p.images])).float().mean(0) for p in pairs]
    )
    texts = [p.captions[0] for p in pairs]
    txt = model.encode_text(clip.tokenize(texts, truncate=True)).float()
    sim = F.normalize(img, dim=-1) @ F.normalize(txt, dim=-1).T
    match = torch.tensor([[t in p.captions for t in texts] for p in pairs])  # match[i, j]: text j fits pair i
    rows = torch.arange(len(pairs))
    return {
        "i2t_r1": float(match[rows, sim.argmax(1)].float().mean()),
        "t2i_r1": float(match[sim.argmax(0), rows].float().mean()),
        "chance": float(match.float().mean()),
        "pairs": len(pairs),
    }


def save_clip(model: CLIP, path: str | os.PathLike) -> None:
    """Save ``model`` as OpenAI's checkpoints are stored (conv/linear/attention weights in fp16,
    via ``clip.model.convert_weights``), atomically; the bytes depend only on the tensors."""
    clip = import_clip()
    model = model.eval()
    clip.model.convert_weights(model)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    buffer = io.BytesIO()  # torch.save names the zip records after the file: save to memory, not the temp name
    torch.save(state, buffer)
    with atomic_path(path, suffix=".pt") as tmp:
        tmp.write_bytes(buffer.getvalue())


def _tower(
    kind: str,
    data_dir: Path,
    out: str | os.PathLike,
    steps: int,
    seed: int,
    batch_size: int,
    backend: str,
    threads: int,
) -> dict[str, Any]:
    """Train, save and check one tower (in this process or a worker); return its report."""
    start = time.perf_counter()
    torch.set_num_threads(threads)  # CPU results (hence bytes) can depend on the thread count
    pairs = image_pairs(data_dir) if kind == "rn" else video_pairs(data_dir, backend=backend)
    seed_everything(seed)
    train, held = split_pairs(pairs)
    model = build_demo_clip(kind, seed)
    preprocess = squash_preprocess(model.visual.input_resolution)  # what load_clip returns
    losses = train_clip(model, train, preprocess, steps, seed, batch_size)
    save_clip(model, out)
    reloaded, preprocess = load_clip(out, "cpu")
    return {
        **retrieval_accuracy(reloaded, held or train, preprocess),
        "eval_split": "held_out" if held else "train",
        "loss_first": losses[0],
        "loss_last": float(np.mean(losses[-10:])),
        "train_pairs": len(train),
        "steps": steps,
        "seconds": round(time.perf_counter() - start, 1),
    }


def retrieval_line(kind: str, r: dict[str, Any]) -> str:
    """The tower's retrieval next to chance, in words (the demo log and the README quote it)."""
    where = "held-out" if r["eval_split"] == "held_out" else "training (no pair held out)"
    return (
        f"clip-demo {kind}: {where} retrieval R@1 image->text {r['i2t_r1']:.3f}, text->image "
        f"{r['t2i_r1']:.3f}; chance {r['chance']:.3f} ({r['pairs']} pairs)"
    )


def prepare_demo_clip(
    data_dir: str | os.PathLike,
    out_rn: str | os.PathLike,
    out_vit: str | os.PathLike,
    steps: int = 300,
    seed: int = 0,
    batch_size: int = 24,
    backend: str = "torchcodec",
    threads: int = 1,
    jobs: int = 2,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train and save both demo towers; return, per tower, the retrieval accuracy of the saved
    checkpoint (reloaded through ``clip.load``) on held-out pairs, the first/last loss and the time.

    ``jobs=2`` trains the two towers in two worker processes at once (``threads`` torch threads
    each); every tower is seeded on its own, so the checkpoints are the same bytes as with ``jobs=1``.
    """
    data_dir = Path(data_dir)
    for name, key in (("image_captions", "image_id"), ("video_captions", "video_id")):  # fail before training
        _rows(data_dir / "annotations" / "pretrain" / f"{name}.jsonl", key)
    towers = {"rn": out_rn, "vit": out_vit}
    args = {kind: (kind, data_dir, out, steps, seed, batch_size, backend, threads) for kind, out in towers.items()}
    if jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(
            max_workers=min(jobs, len(towers)), mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            futures = {kind: pool.submit(_tower, *a) for kind, a in args.items()}
            report = {kind: f.result() for kind, f in futures.items()}
    else:
        report = {kind: _tower(*a) for kind, a in args.items()}
    for kind, out in towers.items():
        log(
            f"clip-demo {kind}: {out} "
            + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in report[kind].items())
        )
        log(retrieval_line(kind, report[kind]))
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="demo dataset folder, data/<ds>")
    parser.add_argument("--out-rn", required=True, help="output state dict of the ResNet tower (image grids)")
    parser.add_argument("--out-vit", required=True, help="output state dict of the ViT tower (video frames)")
    parser.add_argument(
        "--demo-steps",
        dest="steps",
        type=int,
        default=300,  # config clip.demo_steps
        help="contrastive training steps per tower (default 300: 100 left the RN tower at chance)",
    )
    parser.add_argument("--batch-size", type=int, default=24, help="pairs per step (the contrastive batch)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads; the checkpoint bytes are reproducible for a given count",
    )
    parser.add_argument(
        "--backend",
        choices=("torchcodec", "pyav", "decord"),
        default="torchcodec",
        help="video decoder tried first (config frames.backend); a bad batch falls back to the next",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="towers trained at once in worker processes (default 2; the bytes do not depend on it)",
    )


def run(args: argparse.Namespace) -> int:
    prepare_demo_clip(
        args.data,
        args.out_rn,
        args.out_vit,
        steps=args.steps,
        seed=args.seed,
        batch_size=args.batch_size,
        backend=args.backend,
        threads=args.threads,
        jobs=args.jobs,
    )
    return 0
