"""Decode and score a trained run (the library behind `vlpeft evaluate`, ``vlpeft.eval.cli``).

Rebuilds the run's model exactly as `vlpeft train` did (``run.json``: backbone, method, seed,
tasks), loads ``adapter.safetensors`` (the last-epoch weights, as the papers report), decodes every
task of the split and writes, into the run directory:

- ``predictions/<task>.jsonl``: ``{"id", "prediction"}`` sorted by id;
- ``metrics.json``: ``{"group", "backbone", "method", "seed", "params": {"trainable", "total",
  "percent"}, "tasks": {task: {metric: value}}, "average"}`` (0-100 scale; docs/interfaces.md).

A split other than ``test`` goes to ``predictions_<split>/`` and ``metrics_<split>.json``
(``vlpeft.run_files``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlpeft.io import write_json, write_jsonl
from vlpeft.run_files import (
    ADAPTER_FILE,
    BEST_ADAPTER_FILE,
    metrics_file,
    predictions_dir,
)
from vlpeft.tasks import SPLITS


def output_paths(run_dir: Path, split: str) -> tuple[Path, Path]:
    """(predictions directory, metrics file) of ``split``."""
    return run_dir / predictions_dir(split), run_dir / metrics_file(split)


def evaluate_run(
    run_dir: str | Path,
    data: str,
    backbone: str,
    split: str = "test",
    features_image: str | None = None,
    features_video: str | None = None,
    tasks: list[str] | None = None,
    batch_size: int = 32,
    device: str = "auto",
    progress: bool = True,
    meteor: bool = True,
    vqa_scorer: str = "official2021",
) -> dict[str, Any]:
    """Decode and score ``run_dir`` on ``split``; write predictions and metrics; return the metrics.

    ``vqa_scorer``: ``official2021`` or ``vladapter2017`` (the papers' evaluator, docs/methods.md C.7),
    recorded in metrics.json when VQA is scored. A run trained with ``--keep-best-val`` has an
    ``adapter_best.safetensors`` too: it is decoded as well (``predictions_best[_<split>]/``) and
    reported beside the last epoch's under ``best_avg_val`` (VL-PET's video runs, docs/methods.md C.8)."""
    import torch

    from vlpeft.eval.decode import decode_task
    from vlpeft.eval.metrics import average, score_task
    from vlpeft.pet import count_parameters, load_adapter
    from vlpeft.train.build import (
        RunSpec,
        build_run_model,
        feature_dim,
        open_features,
        text_options,
    )
    from vlpeft.train.data import TaskData, load_examples
    from vlpeft.train.distributed import resolve_device

    if split not in SPLITS:
        raise ValueError(f"--split: expected one of {', '.join(SPLITS)}, got {split!r}")
    if batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {batch_size}")
    run_dir = Path(run_dir)
    spec = RunSpec.read(run_dir)
    chosen = tasks or spec.tasks
    unknown = sorted(set(chosen) - set(spec.tasks))
    if unknown:
        raise KeyError(
            f"{run_dir}: task(s) {', '.join(unknown)} were not trained in this run ({', '.join(spec.tasks)})"
        )
    adapter = run_dir / ADAPTER_FILE
    if not adapter.is_file():
        raise FileNotFoundError(f"{adapter}: adapter not found (training incomplete?)")
    reader = open_features(spec, features_image, features_video)
    examples = {t: load_examples(data, spec.specs[t], split) for t in chosen}
    first = next((t for t in chosen if examples[t]), None)
    if first is None:
        raise ValueError(f"{data}: no {split} examples for {', '.join(chosen)}")
    model, tokenizer, method_cfg = build_run_model(
        spec, backbone, feature_dim(reader, spec.specs[first], examples[first][0])
    )
    load_adapter(adapter, model)
    dev = resolve_device(device)
    model.to(dev).eval()
    text = text_options(spec, method_cfg)
    pred_dir, metrics_path = output_paths(run_dir, split)

    def decode_and_score(pred_dir: Path) -> dict[str, dict[str, Any]]:
        scores: dict[str, dict[str, Any]] = {}
        with torch.inference_mode():
            for task in chosen:
                data_t = TaskData(spec.specs[task], examples[task], reader, text, spec.seed)
                preds = decode_task(model, tokenizer, data_t, batch_size, dev, progress, spec.precision)
                write_jsonl(pred_dir / f"{task}.jsonl", [{"id": i, "prediction": preds[i]} for i in sorted(preds)])
                scores[task] = score_task(
                    task,
                    preds,
                    data_t.examples,
                    meteor=meteor,  # rejected videos left out
                    vqa_scorer=vqa_scorer,
                )
        return scores

    scores = decode_and_score(pred_dir)
    best = None
    if (run_dir / BEST_ADAPTER_FILE).is_file():
        header = load_adapter(run_dir / BEST_ADAPTER_FILE, model)
        best_scores = decode_and_score(pred_dir.with_name(pred_dir.name.replace("predictions", "predictions_best", 1)))
        best = {
            "epoch": header["meta"]["epoch"],
            "val_average": header["meta"]["val_average"],
            "tasks": best_scores,
            "average": average(best_scores),
        }
    trainable, total, percent = count_parameters(model)
    metrics = {
        "group": spec.group,
        "backbone": spec.backbone,
        "method": spec.method,
        "seed": spec.seed,
        "params": {"trainable": int(trainable), "total": int(total), "percent": float(percent)},
        "tasks": scores,
        "average": average(scores),
    }
    if "vqa" in scores:
        metrics["vqa_scorer"] = vqa_scorer
    if best is not None:
        metrics["best_avg_val"] = best
    write_json(metrics_path, metrics)
    return metrics
