"""The files of a run directory (``runs/<name>/<group>/<backbone>/<method>/seed<S>/``), named once.
Torch-free: the workflow, `vlpeft predict` and `vlpeft export` use these names without importing torch.

`vlpeft train` writes ``RUN_FILE``, ``LOG_FILE`` and ``ADAPTER_FILE`` (``BEST_ADAPTER_FILE`` with
``--keep-best-val``); `vlpeft evaluate --split S` writes ``metrics_file(S)`` and the predictions folder.
"""

from __future__ import annotations

RUN_FILE = "run.json"
LOG_FILE = "train_log.jsonl"
ADAPTER_FILE = "adapter.safetensors"
BEST_ADAPTER_FILE = "adapter_best.safetensors"  # written by `vlpeft train --keep-best-val`
SPLIT_METRICS = {"test": "metrics.json", "val": "metrics_val.json"}  # what `vlpeft evaluate --split` writes


def metrics_file(split: str) -> str:
    """``metrics.json`` for the test split, ``metrics_<split>.json`` for any other."""
    return SPLIT_METRICS.get(split, f"metrics_{split}.json")


def predictions_dir(split: str) -> str:
    """``predictions`` for the test split, ``predictions_<split>`` for any other."""
    return "predictions" if split == "test" else f"predictions_{split}"
