"""torch.distributed set-up for runs started by torchrun (gloo on CPU, nccl on CUDA); a plain
single process otherwise."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu; ``cuda[:N]`` without that GPU is an error
    (``vlpeft.device``: the one spelling every verb accepts)."""
    from vlpeft.device import resolve

    return resolve(name)


PRECISIONS = ("fp32", "bf16")


def autocast_for(device: torch.device, precision: str = "fp32") -> contextlib.AbstractContextManager:
    """fp32 by default, as every official script runs (no --fp16; docs/methods.md C.1); ``bf16`` is
    an opt-in bf16 autocast on CUDA (recorded in run.json). CPU always runs fp32."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision: expected one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "bf16" and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def init_distributed(device_name: str = "auto") -> DistInfo:
    """Join the process group torchrun describes (WORLD_SIZE > 1), or run alone."""
    device = resolve_device(device_name)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(0, 1, device)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), device)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def gather_objects(info: DistInfo, obj: Any) -> list[Any]:
    """``obj`` of every rank, in rank order (a one-element list when alone)."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
