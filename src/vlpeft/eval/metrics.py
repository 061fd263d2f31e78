"""Task metrics on one scale (0-100 everywhere, CIDEr included), as docs/methods.md C.7 defines them.

``score_task(task, predictions, examples)`` scores the predictions of one task, given the examples
in the annotation schemas of ``vlpeft.tasks``; the headline key of each task is ``TaskSpec.metric``:

- vqa: the official VQA accuracy (``vqa_score``, see ``vqa_norm``), by the 2021 official evaluator
  or VL-Adapter's 2017 one (``vqa_scorer``: ``official2021`` | ``vladapter2017``, docs/methods.md C.7);
- gqa: exact match (``exact_match``) of the stripped, lower-cased prediction and answer;
- nlvr: accuracy (``accuracy``) of "true"/"false" against the boolean label;
- tvqa, how2qa: accuracy (``accuracy``): the stripped prediction equals ``"a{answer_idx}"``;
- caption, tvc, yc2c: ``CIDEr`` (CIDEr-D), ``BLEU-4``, ``METEOR``, ``ROUGE_L`` through pycocoevalcap,
  plus ``"SPICE": None`` and a ``SPICE_note`` (unavailable offline).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from vlpeft.eval.vqa_norm import vqa_accuracy, vqa_scorer
from vlpeft.tasks import get_task

Example = Mapping[str, Any]
MAX_IDS_IN_ERROR = 5


def headline(task: str) -> str:
    """The key of the task's headline metric (``TaskSpec.metric``)."""
    return get_task(task).metric


def average(metrics_by_task: Mapping[str, Mapping[str, Any]]) -> float:
    """Mean of the headline metrics of the given tasks (the papers' "Avg" column)."""
    if not metrics_by_task:
        raise ValueError("average: no task metrics given")
    values = []
    for task, metrics in metrics_by_task.items():
        key = headline(task)
        if metrics.get(key) is None:
            raise KeyError(f"average: task {task!r} has no headline metric {key!r}")
        values.append(float(metrics[key]))
    return sum(values) / len(values)


def _field(ex: Example, key: str, task: str) -> Any:
    try:
        return ex[key]
    except KeyError:
        raise KeyError(f"{task}: example {ex.get('id')!r} has no field {key!r}") from None


def _vqa(pred: str, ex: Example, task: str) -> float:
    return vqa_accuracy(pred, _field(ex, "answers", task))


def _exact_match(pred: str, ex: Example, task: str) -> float:
    answers = {a.strip().lower() for a in _field(ex, "answers", task)}
    return float(pred.strip().lower() in answers)


def _true_false(pred: str, ex: Example, task: str) -> float:
    label = _field(ex, "label", task)
    return float(pred.strip().lower() == ("true" if label else "false"))


def _choice(pred: str, ex: Example, task: str) -> float:
    return float(pred.strip() == f"a{int(_field(ex, 'answer_idx', task))}")


def _per_example_scorer(task: str, vqa: str = "official2021") -> Callable[[str, Example, str], float]:
    """The per-example score in [0, 1] of a non-caption task (``vqa``: the VQA scorer's name)."""
    spec = get_task(task)
    if spec.metric == "vqa_score":
        accuracy = vqa_scorer(vqa)
        return lambda pred, ex, t: accuracy(pred, _field(ex, "answers", t))
    if spec.metric == "exact_match":
        return _exact_match
    if spec.family == "nlvr":
        return _true_false
    if spec.family == "video_qa":
        return _choice
    raise ValueError(f"{task}: no scorer for task family {spec.family!r}")


def _check_predictions(task: str, predictions: Mapping[str, str], examples: Sequence[Example]) -> list[str]:
    ids = [str(_field(ex, "id", task)) for ex in examples]
    if not ids:
        raise ValueError(f"{task}: no examples to score")
    missing = [i for i in ids if i not in predictions]
    if missing:
        shown = ", ".join(missing[:MAX_IDS_IN_ERROR]) + (" ..." if len(missing) > MAX_IDS_IN_ERROR else "")
        raise KeyError(f"{task}: no prediction for {len(missing)} example id(s): {shown}")
    return ids


def score_task(
    task: str,
    predictions: Mapping[str, str],
    examples: Sequence[Example],
    meteor: bool = True,
    vqa_scorer: str = "official2021",
) -> dict[str, Any]:
    """Score one task's predictions (``{example id: text}``) on ``examples``; 0-100 scale.

    Every example needs a prediction (a missing one is a ``KeyError`` naming the ids); extra
    predictions are ignored. Caption tasks return CIDEr, BLEU-4, METEOR (None if ``meteor`` is
    false: its Java start-up costs 8-35 s), ROUGE_L and SPICE=None.
    """
    spec = get_task(task)
    ids = _check_predictions(task, predictions, examples)
    if spec.family in ("caption", "video_caption"):
        from vlpeft.eval.caption import caption_scores  # pulls in pycocoevalcap only when needed

        if len(set(ids)) != len(ids):
            raise ValueError(f"{task}: duplicate example ids; caption rows must hold all references")
        refs = {i: list(_field(ex, "captions", task)) for i, ex in zip(ids, examples)}
        return caption_scores({i: predictions[i] for i in ids}, refs, meteor=meteor)
    per_example = _per_example_scorer(task, vqa_scorer)
    total = sum(per_example(str(predictions[i]), ex, task) for i, ex in zip(ids, examples))
    return {spec.metric: 100.0 * total / len(ids)}
