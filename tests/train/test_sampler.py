from collections import Counter

import pytest

from vlpeft.tasks import TASKS
from vlpeft.train.sampler import MultiTaskBatchSampler, task_batch_size

SIZES = {"vqa": 23, "gqa": 17, "nlvr": 9, "caption": 11}


def _batch_sizes(b: int) -> dict[str, int]:
    return {t: task_batch_size(TASKS[t], b) for t in SIZES}


def test_per_task_batch_sizes_follow_methods_md():
    assert _batch_sizes(300) == {"vqa": 300, "gqa": 500, "nlvr": 100, "caption": 250}
    assert _batch_sizes(500) == {"vqa": 500, "gqa": 833, "nlvr": 166, "caption": 416}
    assert all(task_batch_size(TASKS[t], 50) == 50 for t in ("tvqa", "how2qa", "tvc", "yc2c"))
    assert task_batch_size(TASKS["nlvr"], 1) == 1  # never zero


def test_batches_are_single_task_and_cover_each_example_once():
    s = MultiTaskBatchSampler(SIZES, _batch_sizes(6), seed=3)
    batches = s.epoch_batches(0)
    assert len(batches) == len(s)
    seen = Counter()
    for b in batches:
        assert 1 <= len(b.indices) <= _batch_sizes(6)[b.task]
        seen.update((b.task, i) for i in b.indices)
    assert set(seen.values()) == {1}
    assert sorted(seen) == sorted((t, i) for t, n in SIZES.items() for i in range(n))


def test_order_deterministic_per_epoch_and_seed():
    a = MultiTaskBatchSampler(SIZES, _batch_sizes(6), seed=3)
    b = MultiTaskBatchSampler(dict(reversed(SIZES.items())), _batch_sizes(6), seed=3)
    assert a.epoch_batches(1) == b.epoch_batches(1)  # dict order is irrelevant
    assert a.epoch_batches(0) != a.epoch_batches(1)  # reshuffled every epoch
    assert a.epoch_batches(0) != MultiTaskBatchSampler(SIZES, _batch_sizes(6), seed=4).epoch_batches(0)
    tasks = [x.task for x in a.epoch_batches(0)]
    assert tasks != sorted(tasks)  # tasks interleaved, not grouped


@pytest.mark.parametrize("world", [2, 3, 5])
def test_rank_shards_partition_the_padded_list(world):
    full = MultiTaskBatchSampler(SIZES, _batch_sizes(6), seed=0).all_batches(2)
    shards = [
        MultiTaskBatchSampler(SIZES, _batch_sizes(6), seed=0, rank=r, world_size=world).epoch_batches(2)
        for r in range(world)
    ]
    assert len({len(s) for s in shards}) == 1  # every rank runs the same number of steps
    assert len(shards[0]) == len(MultiTaskBatchSampler(SIZES, _batch_sizes(6), 0, 0, world))
    merged = [shards[i % world][i // world] for i in range(world * len(shards[0]))]
    assert merged[: len(full)] == full
    assert merged[len(full) :] == full[: len(merged) - len(full)]  # padding repeats the head


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="nlvr"):
        MultiTaskBatchSampler({"vqa": 3, "nlvr": 0}, {"vqa": 2, "nlvr": 2}, seed=0)
    with pytest.raises(ValueError, match="rank 2"):
        MultiTaskBatchSampler({"vqa": 3}, {"vqa": 2}, seed=0, rank=2, world_size=2)
