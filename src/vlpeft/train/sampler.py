"""Multi-task batch sampling (docs/methods.md C.2): every batch holds a single task; all batches of all
tasks are listed and shuffled once per epoch, so a task's frequency is proportional to its
dataset size / batch size.

Our own code: the original builds one DataLoader per task and shuffles a list of task names with
``random.Random(epoch)``. We draw everything (the within-task order and the batch order) from one
``random.Random(epoch + EPOCH_SEED_STRIDE * seed)``: with seed 0 that is exactly
``random.Random(epoch)``, and different run seeds get different orders. The order is a pure
function of (seed, epoch, dataset sizes), which is what makes a resumed run bit-identical.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from vlpeft.tasks import TaskSpec

EPOCH_SEED_STRIDE = 1_000_003  # a prime larger than any epoch count: (seed, epoch) -> distinct ints


@dataclass(frozen=True)
class Batch:
    """One training batch: a task and the indices of its examples in that task's dataset."""

    task: str
    indices: tuple[int, ...]


def task_batch_size(spec: TaskSpec, batch_size: int) -> int:
    """Per-task batch: floor(B * batch_scale) for image tasks (GQA 100/60, NLVR2 20/60, COCO 50/60),
    one B for every video task; never below 1."""
    if spec.is_video:
        return batch_size
    return max(1, math.floor(batch_size * spec.batch_scale + 1e-9))


class MultiTaskBatchSampler:
    """The shuffled list of single-task batches of one epoch, sharded across ranks.

    ``sizes`` maps task -> number of training examples, ``batch_sizes`` task -> per-task batch size.
    Partial last batches are kept (the original loaders do not drop them). With ``world_size > 1``
    the list is padded by repeating its head until it divides evenly (as DistributedSampler does)
    and rank ``r`` takes batches ``r, r + W, r + 2W, ...``; the shards partition the padded list.
    """

    def __init__(
        self, sizes: dict[str, int], batch_sizes: dict[str, int], seed: int, rank: int = 0, world_size: int = 1
    ):
        if set(sizes) != set(batch_sizes):
            raise ValueError(f"sizes and batch_sizes name different tasks: {sorted(sizes)} vs {sorted(batch_sizes)}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world of size {world_size}")
        empty = [t for t, n in sizes.items() if n <= 0]
        if empty:
            raise ValueError(f"no training examples for task(s) {', '.join(sorted(empty))}")
        self.sizes = dict(sorted(sizes.items()))
        self.batch_sizes = dict(batch_sizes)
        self.seed = seed
        self.rank = rank
        self.world_size = world_size

    def all_batches(self, epoch: int) -> list[Batch]:
        """Every batch of ``epoch`` over all ranks, in order (before sharding and padding)."""
        rng = random.Random(epoch + EPOCH_SEED_STRIDE * self.seed)
        batches: list[Batch] = []
        for task, n in self.sizes.items():  # sorted: the draw order does not depend on dict order
            order = list(range(n))
            rng.shuffle(order)
            bs = self.batch_sizes[task]
            batches += [Batch(task, tuple(order[i : i + bs])) for i in range(0, n, bs)]
        rng.shuffle(batches)
        return batches

    def epoch_batches(self, epoch: int) -> list[Batch]:
        """This rank's batches of ``epoch``."""
        batches = self.all_batches(epoch)
        padded = math.ceil(len(batches) / self.world_size) * self.world_size
        batches += [batches[i % len(batches)] for i in range(padded - len(batches))]
        return batches[self.rank :: self.world_size]

    def __len__(self) -> int:
        """Steps per epoch on each rank."""
        total = sum(math.ceil(n / self.batch_sizes[t]) for t, n in self.sizes.items())
        return math.ceil(total / self.world_size)
