"""Training cost per PET method on the paper architecture, relative to full fine-tuning.

Each (backbone, method) runs in a fresh process (forked from a server that imported the libraries
once) so that its peak memory is its own: build the model with random weights
(``build_model(backbone, feat_dim=2048, from_config=True)`` + ``apply_method(model, method,
[vqa, gqa, nlvr, caption])``), then time training steps (forward, `sequence_loss`, backward,
AdamW step over the trainable parameters as `vlpeft.train.optim.build_optimizer` builds it) on one
random batch: 8 examples, 20 text + 36 visual input tokens (a 7x7 CLIP grid pooled to 6x6), 10
target tokens, ``torch.set_num_threads(2)``.

Reported per method (all ratios are full fine-tuning / the method, so higher is better):

- step time: median of the measured steps after the warm-up; goal >= 1/0.6 for the adapter family;
- peak memory: the process's peak resident set (VmHWM of /proc/self/status, reset just before
  the first step via /proc/self/clear_refs) during the steps, i.e. weights + gradients + optimizer
  state + activations + the Python/torch runtime; goal >= 1/0.55 for the adapter family;
- adapter file: bytes of `vlpeft.pet.save_adapter` vs a safetensors file of the whole model.

Full fine-tuning runs several times, interleaved with the methods (every ``FULL_EVERY`` methods);
its median is the baseline of every ratio.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from common import Context, machine_info, measurement

NAME = "training"
TASKS = ["vqa", "gqa", "nlvr", "caption"]
BATCH, TEXT_TOKENS, TARGET_TOKENS, FEAT_DIM, GRID = 8, 20, 10, 2048, 49
THREADS = 2
FULL_EVERY = 7
ADAPTER_FAMILIES = ("adapter", "hyperformer", "vl_pet")  # the methods the goals are set for
GOAL_TIME, GOAL_MEMORY = 1 / 0.6, 1 / 0.55
T5_SUBSET = ["adapter_single", "lora_single", "vl_pet_large"]  # one per family of the papers' main rows


def plan(quick: bool) -> list[tuple[str, list[str]]]:
    """(backbone config, methods other than full fine-tuning) to measure."""
    from vlpeft.pet import METHODS

    if quick:
        return [("tiny-bart", ["adapter_single"]), ("tiny-t5", ["lora_single"])]
    return [("bart-base", [m for m in METHODS if m != "full_finetuning"]), ("t5-base", T5_SUBSET)]


# ---------------------------------------------------------------- worker (one fresh process)


def _status_kib(field: str) -> int | None:
    """A ``kB`` field of /proc/self/status (VmRSS, VmHWM), or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> str:
    """Reset the peak-RSS counter; returns how the peak will be read ("VmHWM" or "ru_maxrss",
    the latter including everything since the process started)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return "VmHWM"
    except OSError:
        return "ru_maxrss"


def _peak_kib(source: str) -> int:
    import resource

    return _status_kib("VmHWM") if source == "VmHWM" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_method(backbone: str, method: str, warmup: int, steps: int, out_dir: Path, full_checkpoint: bool) -> dict:
    """Build, train ``warmup + steps`` steps, save the adapter; the figures of one method."""
    import gc

    import torch

    from vlpeft.models import build_model
    from vlpeft.pet import apply_method, count_parameters, save_adapter
    from vlpeft.train.optim import build_optimizer, sequence_loss

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    model = build_model(backbone, feat_dim=FEAT_DIM, from_config=True)
    cfg = apply_method(model, method, TASKS)
    model.train()
    optimizer = build_optimizer(model, cfg["lr"])
    vocab = model.backbone.get_input_embeddings().num_embeddings
    batch = dict(
        input_ids=torch.randint(3, vocab, (BATCH, TEXT_TOKENS)),
        attention_mask=torch.ones(BATCH, TEXT_TOKENS, dtype=torch.long),
        vis_feats=torch.randn(BATCH, 1, GRID, FEAT_DIM),
        task=TASKS[0],
        labels=torch.randint(3, vocab, (BATCH, TARGET_TOKENS)),
    )
    gc.collect()
    source = _reset_peak()
    rss_before = _status_kib("VmRSS") or 0
    times, cpu = [], []
    for _ in range(warmup + steps):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = model(**batch)
        loss = sequence_loss(out.logits, batch["labels"])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    peak = _peak_kib(source)
    trainable, total, percent = count_parameters(model)
    adapter = out_dir / f"{backbone}_{method}.safetensors"
    save_adapter(adapter, model)
    result = {
        "backbone": backbone,
        "method": method,
        "step_seconds": times[warmup:],
        "step_cpu_seconds": cpu[warmup:],
        "peak_rss_mib": peak / 1024,
        "rss_before_mib": rss_before / 1024,
        "peak_source": source,
        "adapter_bytes": adapter.stat().st_size,
        "trainable": trainable,
        "total": total,
        "percent": percent,
        "input_tokens": _encoder_length(model, cfg),
    }
    adapter.unlink()
    if full_checkpoint:
        from safetensors.torch import save_model

        path = out_dir / f"{backbone}_full.safetensors"
        save_model(model, str(path))  # the whole model (shared tensors stored once)
        result["full_checkpoint_bytes"] = path.stat().st_size
        path.unlink()
    return result


def _encoder_length(model, cfg: dict) -> int:
    """Encoder input length: prompt vectors (prompt methods) + text + 36 visual tokens."""
    return (cfg["prompt_len"] if model.prompt is not None else 0) + TEXT_TOKENS + 36


# ---------------------------------------------------------------- parent


class Workers:
    """Fresh processes for the methods, forked from a server that has imported torch, transformers
    and vlpeft once (a plain subprocess pays ~10 s of imports per method on 2 busy cores)."""

    PRELOAD = ["torch", "vlpeft.models", "vlpeft.pet", "vlpeft.train.optim", "safetensors.torch"]

    def __init__(self) -> None:
        import multiprocessing

        self.mp = multiprocessing.get_context("forkserver")
        self.mp.set_forkserver_preload(self.PRELOAD)
        os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))

    def run(
        self, backbone: str, method: str, out_dir: Path, full_checkpoint: bool = False, warmup: int = 1, steps: int = 3
    ) -> dict:
        """`measure_method` in a new process (one task per process); its result."""
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(1, mp_context=self.mp, max_tasks_per_child=1) as pool:
            return pool.submit(measure_method, backbone, method, warmup, steps, out_dir, full_checkpoint).result()


def schedule(methods: list[str], quick: bool = False, every: int = FULL_EVERY) -> list[str]:
    """Full fine-tuning first, after every ``every`` methods, and last (once with ``quick``)."""
    order = ["full_finetuning"]
    for i in range(0, len(methods), every):
        order += methods[i : i + every] + ([] if quick else ["full_finetuning"])
    return order


def run(ctx: Context) -> list[dict]:
    """Three records per (backbone, method): step time, peak memory, adapter file size."""
    from vlpeft.pet import METHODS

    machine = dict(machine_info("cpu"), torch_threads=THREADS)
    workers = Workers()
    records = []
    with tempfile.TemporaryDirectory(dir=ctx.workdir) as tmp:
        for backbone, methods in plan(ctx.quick):
            results: dict[str, list[dict]] = {}
            for method in schedule(methods, ctx.quick):
                first_full = method == "full_finetuning" and method not in results
                res = workers.run(backbone, method, Path(tmp), full_checkpoint=first_full)
                results.setdefault(method, []).append(res)
                print(
                    f"  {backbone} {method}: {statistics.median(res['step_seconds']):.2f} s/step, "
                    f"peak {res['peak_rss_mib']:.0f} MiB, adapter {res['adapter_bytes'] / 2**20:.1f} MiB",
                    flush=True,
                )
            full = results.pop("full_finetuning")
            records += _records(backbone, full, results, machine, METHODS)
    return records


def _records(backbone: str, full: list[dict], results: dict[str, list[dict]], machine: dict, specs) -> list[dict]:
    full_step = statistics.median(statistics.median(r["step_seconds"]) for r in full)
    full_cpu = statistics.median(statistics.median(r["step_cpu_seconds"]) for r in full)
    full_peak = statistics.median(r["peak_rss_mib"] for r in full)
    full_bytes = full[0]["full_checkpoint_bytes"]
    setup = (
        f"{backbone}, batch {BATCH}, {TEXT_TOKENS} text + 36 visual input tokens, {TARGET_TOKENS} target "
        f"tokens, AdamW, {THREADS} threads, random weights"
    )
    records = []
    for method, (res,) in results.items():
        adapter_family = specs[method].family in ADAPTER_FAMILIES
        extra = dict(
            backbone=backbone,
            method=method,
            family=specs[method].family,
            trainable_percent=round(res["percent"], 3),
            input_tokens=res["input_tokens"],
        )
        step = statistics.median(res["step_seconds"])
        cpu_ratio = full_cpu / statistics.median(res["step_cpu_seconds"])
        records.append(
            measurement(
                f"training_{backbone}_{method}_step_time",
                step,
                full_step,
                "s/step",
                full_step / step,
                GOAL_TIME if adapter_family else None,
                machine,
                what=f"step time, {setup}; ratio = full / ours",
                ours_steps=[round(s, 3) for s in res["step_seconds"]],
                cpu_time_ratio=round(cpu_ratio, 3),
                baseline_runs=[round(statistics.median(r["step_seconds"]), 3) for r in full],
                **extra,
            )
        )
        records.append(
            measurement(
                f"training_{backbone}_{method}_peak_memory",
                res["peak_rss_mib"],
                full_peak,
                "MiB",
                full_peak / res["peak_rss_mib"],
                GOAL_MEMORY if adapter_family else None,
                machine,
                what=f"peak RSS of the process during the steps ({res['peak_source']}), {setup}; ratio = full / ours",
                ours_delta_mib=round(res["peak_rss_mib"] - res["rss_before_mib"], 1),
                baseline_delta_mib=round(statistics.median(r["peak_rss_mib"] - r["rss_before_mib"] for r in full), 1),
                **extra,
            )
        )
        records.append(
            measurement(
                f"training_{backbone}_{method}_adapter_size",
                res["adapter_bytes"] / 2**20,
                full_bytes / 2**20,
                "MiB",
                full_bytes / res["adapter_bytes"],
                None,
                machine,
                what="save_adapter file vs safetensors of the whole model (fp32); ratio = full / ours",
                **extra,
            )
        )
    return records
