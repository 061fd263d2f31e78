"""The multi-task trainer (docs/methods.md C): one run = one (group, backbone, method, seed).

``train_run(cfg)`` writes into ``cfg.out``:

- ``adapter.safetensors``: the trainable tensors after the last step (``pet.save_adapter``);
- ``train_log.jsonl``: one line per step ``{"step", "epoch", "task", "loss", "lr"}`` (rank 0's
  batch) and, with ``val_every``, ``{"epoch", "split": "val", "task", "loss"}`` lines; with
  ``keep_best_val``, ``{"epoch", "split": "val", "scores": {task: headline}, "average"}`` lines; no
  wall-clock times, so two runs give the same bytes;
- with ``keep_best_val`` (VL-PET's video trainer, docs/methods.md C.8): ``adapter_best.safetensors``,
  the weights of the epoch whose validation split (decoded and scored) has the best mean headline
  score (ties keep the earlier epoch; epoch 0 always counts), its epoch in the header's ``meta``;
- ``run.json``: the run's identity, read back by `vlpeft evaluate`;
- while training, ``checkpoint/step_<N>/`` every ``checkpoint_every`` steps and a partial log.

A run killed at any moment and started again with the same arguments resumes from its last
checkpoint and ends with byte-identical ``adapter.safetensors`` and ``train_log.jsonl``.
Under torchrun each rank trains on its shard of the epoch's batch list, gradients are averaged by
DistributedDataParallel over the trainable parameters, and rank 0 writes every file.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from vlpeft.progress import progress_bar as tqdm
from vlpeft.provenance import features_identity
from vlpeft.run_files import ADAPTER_FILE, BEST_ADAPTER_FILE, LOG_FILE
from vlpeft.tasks import TaskSpec
from vlpeft.train import checkpoint as ckpt
from vlpeft.train.build import RunSpec, build_run_model, feature_dim, method_lr, open_features, text_options
from vlpeft.train.data import (
    Collator,
    MultiTaskDataset,
    TaskData,
    TextOptions,
    load_examples,
    move_batch,
    training_examples,
)
from vlpeft.train.distributed import DistInfo, autocast_for, barrier, gather_objects, init_distributed, shutdown
from vlpeft.train.optim import build_optimizer, build_scheduler, sequence_loss
from vlpeft.train.sampler import MultiTaskBatchSampler, task_batch_size

PARTIAL_LOG = f".{LOG_FILE}.partial"
CHECKPOINT_DIR = "checkpoint"


@dataclass
class TrainConfig:
    """Everything one training run reads. ``lr=None`` takes the method's paper lr."""

    run: RunSpec
    data: str
    backbone: str  # local directory or hub name (or a project config name with run.from_config)
    out: str
    features_image: str | None = None
    features_video: str | None = None
    epochs: int = 20
    batch_size: int = 32
    lr: float | None = None
    lr_scale: float = 1.0  # multiplies lr (paper lr or given): tiny demo backbones need larger steps
    warmup_ratio: float = 0.1
    grad_clip: float = 5.0  # config train.grad_clip
    weight_decay: float = 0.01
    fix_no_decay: bool = False  # quirk F5 switch: no decay on any norm weight
    checkpoint_every: int = 0  # steps between checkpoints; 0 = none
    max_steps: int | None = None  # cap on the total steps (the schedule is laid over the cap)
    val_every: int = 0  # epochs between validation-loss passes; 0 = none
    keep_best_val: bool = False  # decode + score val every epoch, keep the best-mean epoch's adapter
    device: str = "auto"
    num_workers: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("checkpoint_every", "val_every", "num_workers"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {self.max_steps}")
        if not 0.0 <= self.warmup_ratio <= 1.0:
            raise ValueError(f"warmup_ratio must lie in [0, 1], got {self.warmup_ratio}")

    def fingerprint(self, world_size: int) -> dict[str, Any]:
        """The settings a checkpoint must share with the run resuming from it (paths excluded)."""
        fp = {
            k: v
            for k, v in asdict(self).items()
            if k
            not in (
                "data",
                "backbone",
                "out",
                "features_image",
                "features_video",
                "device",
                "num_workers",
                "progress",
                "checkpoint_every",
                "run",
            )
        }
        return {**fp, **asdict(self.run), "world_size": world_size}


@dataclass
class Position:
    """Where training stands: the next batch to run is ``epoch``'s batch number ``batch``."""

    epoch: int = 0
    batch: int = 0
    step: int = 0  # optimizer steps done
    log_bytes: int = 0  # length of the partial log that belongs to those steps


@dataclass
class _Run:
    """The objects of one run, built once."""

    cfg: TrainConfig
    info: DistInfo
    model: torch.nn.Module  # the bare model (DDP wraps it as ``ddp``)
    ddp: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    sampler: MultiTaskBatchSampler
    dataset: MultiTaskDataset
    collator: Collator
    total_steps: int
    method_cfg: dict[str, Any]
    val: dict[str, TaskData] = field(default_factory=dict)
    best: tuple[float, int] | None = None  # (mean val score, epoch) of the kept adapter_best


def train_run(
    cfg: TrainConfig, on_step: Callable[[int], None] | None = None, on_finish: Callable[[str], None] | None = None
) -> Path:
    """Train (or resume) one run; return the adapter path. ``on_step(step)`` is called after every
    optimizer step and checkpoint, ``on_finish(step)`` after each step of the end (tests use them to
    kill a run)."""
    info = init_distributed(cfg.device)
    try:
        run = _setup(cfg, info)
        pos = _resume(run)
        _loop(run, pos, on_step)
        return _finish(run, on_finish)
    finally:
        shutdown(info)


# -- set-up --------------------------------------------------------------------------------------


def _task_data(cfg: TrainConfig, split: str, reader, text: TextOptions) -> dict[str, TaskData]:
    """Training examples of every task (COCO: one per reference, docs/methods.md C.3); other splits' rows."""

    def rows(spec: TaskSpec) -> list[dict[str, Any]]:
        found = load_examples(cfg.data, spec, split)
        return training_examples(spec, found) if split == "train" else found

    return {t: TaskData(spec, rows(spec), reader, text, cfg.run.seed) for t, spec in cfg.run.specs.items()}


def _setup(cfg: TrainConfig, info: DistInfo) -> _Run:
    spec = cfg.run
    reader = open_features(spec, cfg.features_image, cfg.features_video)
    first = spec.specs[spec.tasks[0]]
    train_rows = load_examples(cfg.data, first, "train")
    if not train_rows:
        raise ValueError(f"{cfg.data}: task {first.name} has no training examples")
    model, tokenizer, method_cfg = build_run_model(spec, cfg.backbone, feature_dim(reader, first, train_rows[0]))
    reader.close()  # reopened lazily where it is read (DataLoader workers must not share a handle)
    text = text_options(spec, method_cfg)
    tasks = _task_data(cfg, "train", reader, text)
    specs: dict[str, TaskSpec] = spec.specs
    sampler = MultiTaskBatchSampler(
        {t: len(d) for t, d in tasks.items()},
        {t: task_batch_size(s, cfg.batch_size) for t, s in specs.items()},
        seed=spec.seed,
        rank=info.rank,
        world_size=info.world_size,
    )
    total = cfg.epochs * len(sampler)
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    if total <= 0:
        raise ValueError(f"nothing to train: epochs={cfg.epochs}, max_steps={cfg.max_steps}")
    lr = cfg.lr if cfg.lr is not None else method_lr(method_cfg, spec.group)
    if lr is None:
        raise KeyError(f"method {spec.method!r}: its config has no lr for {spec.group} runs; pass --lr")
    if cfg.lr_scale <= 0:
        raise ValueError(f"--lr-scale must be positive, got {cfg.lr_scale}")
    lr = float(lr) * cfg.lr_scale
    model.to(info.device)
    optimizer = build_optimizer(model, float(lr), cfg.weight_decay, cfg.fix_no_decay)
    scheduler = build_scheduler(optimizer, total, cfg.warmup_ratio)
    ddp = model
    if info.enabled:  # tasks differ per rank, so task-specific modules may be unused on one rank
        ddp = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[info.device.index] if info.device.type == "cuda" else None, find_unused_parameters=True
        )
    val = _task_data(cfg, "val", reader, text) if (cfg.val_every or cfg.keep_best_val) else {}
    return _Run(
        cfg,
        info,
        model,
        ddp,
        optimizer,
        scheduler,
        sampler,
        MultiTaskDataset(tasks),
        Collator(tokenizer, specs),
        total,
        {**method_cfg, "lr": float(lr)},
        val,
    )


def _resume(run: _Run) -> Position:
    """Load the newest checkpoint if any (RNG states included); truncate the partial log to it.

    A checkpoint whose partial log is gone or shorter than the steps it holds (the outputs were
    deleted, e.g. by Snakemake's rerun-incomplete) is dropped and the run starts over: resuming
    would write a log with a hole."""
    out = Path(run.cfg.out)
    pos = Position()
    latest = ckpt.latest_checkpoint(out / CHECKPOINT_DIR)
    if latest is not None:
        log_bytes = ckpt.read_position(latest).get("log_bytes", 0)
        have = (out / PARTIAL_LOG).stat().st_size if (out / PARTIAL_LOG).is_file() else 0
        if run.info.is_main and have < log_bytes:
            print(f"{latest}: its partial log has {have} of {log_bytes} bytes; starting over", flush=True)
        if have < log_bytes:
            barrier(run.info)
            if run.info.is_main:
                shutil.rmtree(out / CHECKPOINT_DIR, ignore_errors=True)
            latest = None
    if latest is not None:
        state = ckpt.load_checkpoint(
            latest, run.model, run.optimizer, run.scheduler, run.cfg.fingerprint(run.info.world_size)
        )
        pos = Position(**state["position"])
        ckpt.set_rng_state(state["rng"][run.info.rank])
    if run.info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        log = out / PARTIAL_LOG
        with open(log, "ab") as f:
            f.truncate(pos.log_bytes)
        run.best = _best_so_far(log)
        if not run.cfg.keep_best_val:  # never leave a best adapter of another configuration
            (out / BEST_ADAPTER_FILE).unlink(missing_ok=True)
    return pos


def _best_so_far(log: Path) -> tuple[float, int] | None:
    """(mean, epoch) of the best validated epoch in the (truncated) partial log, as _select_best kept it."""
    best = None
    for line in log.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("split") == "val" and "average" in row and (best is None or row["average"] > best[0]):
            best = (row["average"], row["epoch"])
    return best


# -- the loop ------------------------------------------------------------------------------------


def _train_step(run: _Run, batch: dict[str, Any]) -> tuple[float, float]:
    """One optimizer step on one batch; returns (loss, lr used)."""
    run.ddp.train()
    batch = move_batch(batch, run.info.device)
    with autocast_for(run.info.device, run.cfg.run.precision):
        out = run.ddp(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            vis_feats=batch["vis_feats"],
            task=batch["task"],
            labels=batch["labels"],
        )
    loss = sequence_loss(
        out.logits, batch["labels"], batch["weights"], run.dataset.tasks[batch["task"]].spec.loss_reduction
    )
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for g in run.optimizer.param_groups for p in g["params"]]
    torch.nn.utils.clip_grad_norm_(params, run.cfg.grad_clip)
    lr = run.scheduler.get_last_lr()[0]
    run.optimizer.step()
    run.scheduler.step()
    return float(loss.detach()), float(lr)


def _loader(run: _Run, epoch: int, start: int, limit: int) -> torch.utils.data.DataLoader:
    """At most ``limit`` of ``epoch``'s batches, from batch number ``start``. Its own generator
    keeps the DataLoader from drawing on the global torch RNG."""
    chosen = run.sampler.epoch_batches(epoch)[start : start + limit]
    batches = [[(b.task, i, epoch) for i in b.indices] for b in chosen]
    return torch.utils.data.DataLoader(
        run.dataset,
        batch_sampler=batches,
        collate_fn=run.collator,
        num_workers=run.cfg.num_workers,
        generator=torch.Generator().manual_seed(run.cfg.run.seed),
    )


def _write_log(log, row: dict[str, Any]) -> None:
    log.write((json.dumps(row, sort_keys=True) + "\n").encode("utf-8"))
    log.flush()


def _loop(run: _Run, pos: Position, on_step: Callable[[int], None] | None) -> None:
    cfg, info = run.cfg, run.info
    log = open(Path(cfg.out) / PARTIAL_LOG, "ab") if info.is_main else None
    bar = tqdm(
        total=run.total_steps,
        initial=pos.step,
        disable=not (info.is_main and cfg.progress),
        desc=f"train {cfg.run.method}",
        unit="step",
        dynamic_ncols=True,
    )
    try:
        while True:
            if pos.batch >= len(run.sampler):  # the epoch is complete (perhaps in a checkpoint)
                _validate(run, pos, log)
                _select_best(run, pos, log)
                pos.epoch, pos.batch = pos.epoch + 1, 0
            if pos.step >= run.total_steps:
                break
            for batch in _loader(run, pos.epoch, pos.batch, run.total_steps - pos.step):
                loss, lr = _train_step(run, batch)
                pos.step, pos.batch = pos.step + 1, pos.batch + 1
                if log is not None:
                    _write_log(
                        log, {"step": pos.step, "epoch": pos.epoch, "task": batch["task"], "loss": loss, "lr": lr}
                    )
                    pos.log_bytes = log.tell()
                bar.update(1)
                bar.set_postfix(task=batch["task"], loss=f"{loss:.4f}")
                if cfg.checkpoint_every and pos.step % cfg.checkpoint_every == 0:
                    _save(run, pos)
                if on_step is not None:
                    on_step(pos.step)
    finally:
        bar.close()
        if log is not None:
            log.close()


def _save(run: _Run, pos: Position) -> None:
    rng = gather_objects(run.info, ckpt.rng_state())
    if run.info.is_main:
        ckpt.save_checkpoint(
            Path(run.cfg.out) / CHECKPOINT_DIR,
            pos.step,
            run.model,
            run.optimizer,
            run.scheduler,
            asdict(pos),
            rng,
            run.cfg.fingerprint(run.info.world_size),
        )
    barrier(run.info)


@torch.no_grad()
def _validate(run: _Run, pos: Position, log) -> None:
    """Teacher-forced validation loss per task (rank 0, the bare model; no RNG is drawn)."""
    if not run.val or not run.cfg.val_every or (pos.epoch + 1) % run.cfg.val_every:
        return
    if run.info.is_main:
        run.model.eval()
        for task, data in run.val.items():
            bs = task_batch_size(data.spec, run.cfg.batch_size)
            losses = []
            for start in range(0, len(data), bs):
                items = [data.item(i, epoch=pos.epoch) for i in range(start, min(start + bs, len(data)))]
                batch = move_batch(run.collator(items), run.info.device)
                with autocast_for(run.info.device, run.cfg.run.precision):
                    out = run.model(
                        input_ids=batch["input_ids"],
                        attention_mask=batch["attention_mask"],
                        vis_feats=batch["vis_feats"],
                        task=task,
                        labels=batch["labels"],
                    )
                losses.append(
                    (
                        sequence_loss(out.logits, batch["labels"], batch["weights"], data.spec.loss_reduction).item(),
                        len(items),
                    )
                )
            mean = sum(l * n for l, n in losses) / max(1, sum(n for _, n in losses))
            _write_log(log, {"epoch": pos.epoch, "split": "val", "task": task, "loss": mean})
        pos.log_bytes = log.tell()
    barrier(run.info)


@torch.no_grad()
def _select_best(run: _Run, pos: Position, log) -> None:
    """Decode and score the validation split; keep the adapter of the best mean headline score
    (VL-PET multitask_video.py: ``avg > best or epoch == 0`` saves best_avg_valid_model). Rank 0,
    the bare model; beam search and eval mode draw no RNG, so a resumed run stays bit-identical."""
    if not run.cfg.keep_best_val:
        return
    if run.info.is_main:
        from vlpeft.eval.decode import decode_task
        from vlpeft.eval.metrics import average, score_task
        from vlpeft.pet import save_adapter

        run.model.eval()
        scores, headline = {}, {}
        for task, data in run.val.items():
            preds = decode_task(
                run.model,
                run.collator.tokenizer,
                data,
                task_batch_size(data.spec, run.cfg.batch_size),
                run.info.device,
                progress=False,
                precision=run.cfg.run.precision,
            )
            scores[task] = score_task(task, preds, data.examples, meteor=False)
            headline[task] = scores[task][data.spec.metric]
        mean = average(scores)
        _write_log(log, {"epoch": pos.epoch, "split": "val", "scores": headline, "average": mean})
        pos.log_bytes = log.tell()
        if run.best is None or mean > run.best[0]:
            run.best = (mean, pos.epoch)
            save_adapter(
                Path(run.cfg.out) / BEST_ADAPTER_FILE,
                run.model,
                {**adapter_meta(run), "epoch": pos.epoch, "val_average": mean},
            )
    barrier(run.info)


# -- the end -------------------------------------------------------------------------------------


def adapter_meta(run: _Run) -> dict[str, Any]:
    """Run information stored in the adapter header (no paths, no times)."""
    spec = run.cfg.run
    return {
        "group": spec.group,
        "backbone": spec.backbone,
        "seed": spec.seed,
        "steps": run.total_steps,
        "epochs": run.cfg.epochs,
        "batch_size": run.cfg.batch_size,
        "lr": run.method_cfg["lr"],
        "features": features_identity(next(iter(run.dataset.tasks.values())).features),
    }  # for predict


FINISH_STEPS = ("adapter", "run_json", "log", "checkpoints", "partial_log")


def _finish(run: _Run, on_finish: Callable[[str], None] | None = None) -> Path:
    """Write adapter, run.json and the final log (rank 0); then drop the checkpoints, then the partial log.

    Crash-safe at every point: each file is written atomically (fsynced, renamed), and until the
    checkpoints are gone the partial log stays, so a restart resumes from the last checkpoint and
    writes the same bytes again; after that a restart has nothing to resume and trains anew.
    ``on_finish(step)`` runs after each step of ``FINISH_STEPS`` (tests kill the run there)."""
    from vlpeft.io import atomic_path
    from vlpeft.pet import save_adapter

    out = Path(run.cfg.out)
    adapter = out / ADAPTER_FILE
    done = on_finish or (lambda step: None)
    if run.info.is_main:
        save_adapter(adapter, run.model, adapter_meta(run))  # atomic
        done("adapter")
        run.cfg.run.write(out)  # atomic
        done("run_json")
        with atomic_path(out / LOG_FILE) as tmp:
            shutil.copyfile(out / PARTIAL_LOG, tmp)
        done("log")
        shutil.rmtree(out / CHECKPOINT_DIR, ignore_errors=True)
        done("checkpoints")
        os.unlink(out / PARTIAL_LOG)
        done("partial_log")
    barrier(run.info)
    return adapter
